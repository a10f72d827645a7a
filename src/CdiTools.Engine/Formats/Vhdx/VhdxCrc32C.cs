using System.Buffers.Binary;
using System.Numerics;

namespace CdiTools.Engine.Formats.Vhdx;

/// <summary>
/// CRC-32C (Castagnoli), which VHDX uses for its headers, region tables and log entries.
/// <see cref="BitOperations.Crc32C(uint, ulong)"/> uses the processor's CRC instruction where
/// there is one (SSE4.2, ARMv8) and a table otherwise.
/// </summary>
internal static class VhdxCrc32C
{
    /// <summary>The checksum of <paramref name="data"/> with the 4-byte field at <paramref name="checksumOffset"/> read as zeros, as the format defines it.</summary>
    public static uint Compute(ReadOnlySpan<byte> data, int checksumOffset)
    {
        var state = Update(uint.MaxValue, data[..checksumOffset]);
        state = Update(state, [0, 0, 0, 0]);
        state = Update(state, data[(checksumOffset + 4)..]);
        return ~state;
    }

    /// <summary>Continues a running state (start with <see cref="uint.MaxValue"/>, finish with a bitwise not).</summary>
    public static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return state;
    }

    public static bool IsValid(ReadOnlySpan<byte> data, int checksumOffset) =>
        Compute(data, checksumOffset) == BinaryPrimitives.ReadUInt32LittleEndian(data[checksumOffset..]);
}
