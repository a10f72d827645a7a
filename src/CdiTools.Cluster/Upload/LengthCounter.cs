namespace CdiTools.Cluster.Upload;

/// <summary>Counts what is written and keeps nothing.</summary>
internal sealed class LengthCounter : Engine.Sources.WriteOnlyStream
{
    public long Written { get; private set; }

    public override void Flush()
    {
    }

    public override void Write(ReadOnlySpan<byte> buffer) => Written += buffer.Length;
}
