namespace CdiTools.Engine.Layers.Xz;

/// <summary>
/// The CRC-32 (IEEE, reflected) that guards xz stream headers, block headers, indexes and footers.
/// Only those few small structures go through it, so one table lookup per byte is plenty.
/// </summary>
internal static class XzCrc32
{
    private static readonly uint[] Table = BuildTable();

    public const uint Initial = 0xFFFFFFFFu;

    public static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            state = Table[(byte)(state ^ b)] ^ (state >> 8);
        }

        return state;
    }

    public static uint Final(uint state) => ~state;

    public static uint Compute(ReadOnlySpan<byte> data) => Final(Update(Initial, data));

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var value = i;
            for (var bit = 0; bit < 8; bit++)
            {
                value = (value & 1) != 0 ? (value >> 1) ^ 0xEDB88320u : value >> 1;
            }

            table[i] = value;
        }

        return table;
    }
}
