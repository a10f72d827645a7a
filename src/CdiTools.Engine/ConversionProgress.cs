namespace CdiTools.Engine;

/// <summary>How far a conversion is: disk bytes written of the virtual size, and input bytes read of the input's length.</summary>
public readonly record struct ConversionProgress(long OutputBytes, long? VirtualSize, long InputBytes, long? InputLength, TimeSpan Elapsed)
{
    /// <summary>0..1 from the disk's size when known, else from the input's; null when neither is known.</summary>
    public double? Fraction =>
        VirtualSize is > 0 ? Math.Min(1, (double)OutputBytes / VirtualSize.Value)
        : InputLength is > 0 ? Math.Min(1, (double)InputBytes / InputLength.Value)
        : null;

    /// <summary>Disk bytes per second so far.</summary>
    public double BytesPerSecond => Elapsed.TotalSeconds > 0 ? OutputBytes / Elapsed.TotalSeconds : 0;

    /// <summary>The time left at the current rate, when the fraction is known.</summary>
    public TimeSpan? Remaining => Fraction is > 0 and < 1 and var f
        ? TimeSpan.FromSeconds(Elapsed.TotalSeconds * (1 - f) / f)
        : null;
}
