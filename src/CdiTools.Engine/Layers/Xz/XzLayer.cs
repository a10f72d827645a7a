namespace CdiTools.Engine.Layers.Xz;

/// <summary>
/// Decodes .xz layers: the system's liblzma where present, a managed decoder elsewhere. Both take
/// concatenated streams and stream padding, verify every integrity check, refuse a check type
/// they do not know (XzUnsupportedCheck) rather than skip it, and fail with the same error ids.
/// </summary>
public static class XzLayer
{
    /// <summary>The xz layer in <see cref="Formats.LayerFormats"/>.</summary>
    internal static Formats.LayerFormat Registration { get; } = new()
    {
        Name = "xz",
        Role = Formats.LayerRole.Wrapper,
        Extensions = [".xz"],
        Head = static head => head.StartsWith((ReadOnlySpan<byte>)[0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00]),
        Peel = static (input, options) =>
        {
            var stream = Open(input.OpenStream(), options.PreferNativeDecoders, out var decoder);
            return new(Sources.LayerInput.FromStream(stream), $"xz ({decoder})");
        },
    };

    /// <summary>
    /// The memory either decoder may use, in effect the largest LZMA2 dictionary it accepts.
    /// </summary>
    /// <remarks>
    /// xz's presets use at most a 64 MiB dictionary and its encoder at most 1.5 GiB; 1 GiB plus
    /// room for the decoder's own state admits any dictionary up to 1 GiB, far past what images
    /// are compressed with, while a layer that asks for more is refused before the memory is
    /// taken, rather than letting a small hostile file make the process allocate gigabytes.
    /// </remarks>
    internal const ulong DefaultMemoryLimit = (1UL << 30) + (16UL << 20);

    /// <summary>
    /// True when the system liblzma (liblzma.so.5 on Linux, liblzma.5.dylib on macOS, liblzma.dll
    /// on Windows) loads and has the functions we call.
    /// </summary>
    public static bool IsNativeAvailable => LibLzma.IsAvailable;

    /// <summary>
    /// A forward-only, read-only stream of the decompressed bytes of <paramref name="compressed"/>,
    /// which it owns and disposes. <paramref name="preferNative"/> false forces the managed decoder.
    /// </summary>
    /// <param name="decoderName">Which decoder runs: <c>liblzma 5.4.1</c> (lzma_version_string) or <c>managed</c>.</param>
    public static Stream Open(Stream compressed, bool preferNative, out string decoderName) =>
        Open(compressed, preferNative, DefaultMemoryLimit, out decoderName);

    internal static Stream Open(Stream compressed, bool preferNative, ulong memoryLimit, out string decoderName)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        try
        {
            if (preferNative && LibLzma.IsAvailable)
            {
                var native = new NativeXzStream(compressed, memoryLimit);
                decoderName = "liblzma " + LibLzma.Version;
                return native;
            }

            var managed = new ManagedXzStream(compressed, memoryLimit);
            decoderName = "managed";
            return managed;
        }
        catch
        {
            compressed.Dispose();
            throw;
        }
    }
}
