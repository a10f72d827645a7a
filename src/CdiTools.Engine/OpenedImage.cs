using CdiTools.Engine.Formats;
using CdiTools.Engine.Sources;

namespace CdiTools.Engine;

/// <summary>An image with its wrappers peeled and its format driver ready to convert.</summary>
public sealed class OpenedImage : IDisposable
{
    private readonly Func<long> inputBytesRead;

    internal OpenedImage(IImageDriver driver, IReadOnlyList<string> formatChain, bool randomAccess, long? inputLength, Func<long> inputBytesRead, string? tarMember)
    {
        Driver = driver;
        FormatChain = formatChain;
        RandomAccess = randomAccess;
        InputLength = inputLength;
        this.inputBytesRead = inputBytesRead;
        TarMember = tarMember;
    }

    /// <summary>The layers from the outside in, such as "xz (liblzma 5.4.1)", "qcow2".</summary>
    public IReadOnlyList<string> FormatChain { get; }

    public ImageDetails Details => Driver.Details;

    /// <summary>Why the disk cannot be converted (a parent, a backing or external data file, encryption, a linked VDI), found from the headers; null when it can.</summary>
    public ImageException? Refusal => Driver.Refusal;

    /// <summary>True when the format layer is read at random offsets; false when it is read forward once.</summary>
    public bool RandomAccess { get; }

    /// <summary>The length of the outermost input when known (file size, Content-Length).</summary>
    public long? InputLength { get; }

    /// <summary>Bytes of the outermost input read so far.</summary>
    public long InputBytesRead => inputBytesRead();

    /// <summary>The tar member taken as the disk and why, when the image came in a tar.</summary>
    public string? TarMember { get; }

    /// <summary>Things about the image the user should be warned of, such as a name that says another format.</summary>
    public IReadOnlyList<string> Warnings { get; private set; } = [];

    internal IImageDriver Driver { get; }

    /// <summary>Closes the outermost input at once, so a read blocked on the network ends when the caller cancels.</summary>
    public void Abort()
    {
        if (abortInput is { } abort)
        {
            try
            {
                abort();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    public void Dispose() => Driver.Dispose();

    private Action? abortInput;

    /// <summary>The same image seen through wrappers peeled before the engine's own (a container image's layer), outermost first.</summary>
    internal OpenedImage WithOuterLayers(IEnumerable<string> outer, string? tarMember) =>
        new(Driver, [.. outer, .. FormatChain], RandomAccess, InputLength, inputBytesRead, tarMember ?? TarMember) { abortInput = abortInput };

    internal OpenedImage WithNameChecked(string fileName)
    {
        if (ImageNaming.Contradiction(fileName, FormatChain) is { } warning)
        {
            Warnings = [.. Warnings, warning];
        }

        return this;
    }

    internal OpenedImage WithAbort(Action abort)
    {
        abortInput = abort;
        return this;
    }
}
