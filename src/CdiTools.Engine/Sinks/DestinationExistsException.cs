namespace CdiTools.Engine.Sinks;

/// <summary>The output file exists and replacing it was not asked for; raised before anything is read or written.</summary>
public sealed class DestinationExistsException(string path)
    : IOException($"The destination '{path}' already exists; use -Force to replace it.")
{
    public string Path { get; } = path;
}
