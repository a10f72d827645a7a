using System.Buffers;

namespace CdiTools.Engine.Layers.Xz;

/// <summary>Decodes .xz through the system's liblzma (lzma_stream_decoder with LZMA_CONCATENATED).</summary>
internal sealed unsafe class NativeXzStream : XzReadStream
{
    // One read of the compressed stream feeds liblzma for a long stretch, so a slow or chunky
    // source costs few calls; decoding already keeps pace with xz -dc (which reads 8 KiB at a
    // time), so a bigger buffer would only hold more memory per open layer.
    internal const int InputBufferSize = 256 * 1024;

    private readonly LzmaStreamHandle handle;
    private readonly ulong memoryLimit;
    private byte[]? input;
    private int inputPosition;
    private int inputLength;
    private bool inputEnded;

    public NativeXzStream(Stream compressed, ulong memoryLimit)
        : base(compressed)
    {
        this.memoryLimit = memoryLimit;

        // LZMA_TELL_UNSUPPORTED_CHECK: without it liblzma decodes a stream whose check it does not
        // know and silently skips verifying it; with it we learn of that and refuse the layer.
        handle = LzmaStreamHandle.CreateDecoder(memoryLimit, LibLzma.Concatenated | LibLzma.TellUnsupportedCheck, out var ret);
        if (ret != LibLzma.Ok)
        {
            handle.Dispose();
            throw ret == LibLzma.MemError
                ? new InsufficientMemoryException("liblzma could not allocate an xz decoder.")
                : new InvalidOperationException($"lzma_stream_decoder failed with lzma_ret {ret}.");
        }

        input = ArrayPool<byte>.Shared.Rent(InputBufferSize);
    }

    protected override int ReadCore(Span<byte> destination, out bool end)
    {
        end = false;
        var addedRef = false;
        handle.DangerousAddRef(ref addedRef);
        try
        {
            var strm = handle.Stream;
            var buffer = input!;
            fixed (byte* output = destination)
            fixed (byte* inputBase = buffer)
            {
                strm->NextOut = output;
                strm->AvailOut = (nuint)destination.Length;
                try
                {
                    while (true)
                    {
                        if (inputPosition == inputLength && !inputEnded)
                        {
                            // Hand back what is decoded rather than wait on the compressed stream for more.
                            if (strm->AvailOut != (nuint)destination.Length)
                            {
                                break;
                            }

                            inputLength = Compressed.Read(buffer, 0, buffer.Length);
                            inputPosition = 0;
                            inputEnded = inputLength == 0;
                        }

                        // The array is pinned only for this call, so next_in is set afresh from our own offset each time.
                        strm->NextIn = inputBase + inputPosition;
                        strm->AvailIn = (nuint)(inputLength - inputPosition);
                        var ret = LibLzma.Code(strm, inputEnded ? LibLzma.Finish : LibLzma.Run);
                        inputPosition = inputLength - (int)strm->AvailIn;

                        if (ret == LibLzma.StreamEnd)
                        {
                            end = true;
                            break;
                        }

                        if (ret != LibLzma.Ok)
                        {
                            throw Failure(ret, (long)strm->TotalIn);
                        }

                        if (strm->AvailOut == 0)
                        {
                            break;
                        }
                    }

                    return destination.Length - (int)strm->AvailOut;
                }
                finally
                {
                    // Neither buffer stays pinned after this call; leave liblzma no pointers into them.
                    strm->NextIn = null;
                    strm->AvailIn = 0;
                    strm->NextOut = null;
                    strm->AvailOut = 0;
                }
            }
        }
        finally
        {
            if (addedRef)
            {
                handle.DangerousRelease();
            }
        }
    }

    private Exception Failure(int ret, long offset) => ret switch
    {
        LibLzma.FormatError => new ImageException(ImageErrors.XzNotXz, "The layer is not in the .xz format.", offset),
        LibLzma.DataError => new ImageException(ImageErrors.XzCorrupt, "The .xz data is corrupt: a header, index, size or integrity check does not match.", offset),
        LibLzma.BufError when inputEnded => new ImageException(ImageErrors.XzTruncated, "The .xz layer ends before its last stream is complete.", offset),
        LibLzma.BufError => new ImageException(ImageErrors.XzCorrupt, "The .xz decoder made no progress on the data it was given.", offset),
        LibLzma.OptionsError => new ImageException(ImageErrors.XzUnsupportedOptions, "The .xz layer uses a header flag or filter this liblzma does not support.", offset),
        LibLzma.UnsupportedCheck => new ImageException(ImageErrors.XzUnsupportedCheck, "The .xz layer uses an integrity check type this liblzma cannot verify.", offset),
        LibLzma.MemlimitError => new ImageException(ImageErrors.XzMemoryLimit, $"Decoding the .xz layer needs more than the {memoryLimit:N0}-byte memory limit.", offset),
        LibLzma.MemError => new InsufficientMemoryException("liblzma could not allocate memory for the .xz decoder."),
        _ => new InvalidOperationException($"lzma_code returned the unexpected lzma_ret {ret}."),
    };

    protected override void ReleaseDecoder()
    {
        handle.Dispose();
        if (input is not null)
        {
            ArrayPool<byte>.Shared.Return(input);
            input = null;
        }
    }
}
