using System.Globalization;
using System.Management.Automation;
using CdiTools.Cluster.DataVolumes;

namespace CdiTools.Runtime;

/// <summary>A -Size argument as PowerShell gives it: a number of bytes (10GB), or a quantity string ('10Gi').</summary>
internal static class SizeArgument
{
    /// <exception cref="FormatException">The argument is neither.</exception>
    public static long? Bytes(object? size)
    {
        var value = size is PSObject wrapped ? wrapped.BaseObject : size;
        return value switch
        {
            null => null,
            string text when string.IsNullOrWhiteSpace(text) => null,
            string text => StorageSize.Parse(text),
            double or float or decimal => checked((long)Math.Ceiling(Convert.ToDecimal(value, CultureInfo.InvariantCulture))),
            IConvertible number => number.ToInt64(CultureInfo.InvariantCulture),
            _ => throw new FormatException($"A {value.GetType().Name} is not a size: give bytes (10GB) or a quantity ('10Gi')."),
        };
    }
}
