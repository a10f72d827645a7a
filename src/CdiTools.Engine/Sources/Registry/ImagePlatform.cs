using System.Runtime.InteropServices;

namespace CdiTools.Engine.Sources.Registry;

/// <summary>An image platform in the OCI image index's terms (Go's GOOS/GOARCH names): linux/amd64, linux/arm64, linux/arm/v7.</summary>
public sealed record ImagePlatform(string Os, string Architecture, string? Variant)
{
    /// <summary>
    /// This machine's architecture on linux: container disks boot Linux-agnostic VMs, but the
    /// index entries of a container disk are keyed by the nodes' platform, always linux.
    /// </summary>
    public static ImagePlatform Current { get; } = new("linux", GoArchitecture(RuntimeInformation.OSArchitecture), RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm ? "v7" : null);

    /// <summary>Parses <c>os/arch[/variant]</c> or a bare architecture (taken as linux); refuses anything else (RegistryInvalidPlatform).</summary>
    public static ImagePlatform Parse(string text)
    {
        var parts = text.Trim().ToLowerInvariant().Split('/');
        if (parts.Length is < 1 or > 3 || parts.Any(p => p.Length == 0 || !p.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')))
        {
            throw new ImageException(ImageErrors.RegistryInvalidPlatform, $"'{text}' is not a platform: give os/architecture[/variant], such as linux/amd64 or linux/arm64/v8.");
        }

        return parts.Length == 1
            ? new ImagePlatform("linux", Normalize(parts[0]), null)
            : new ImagePlatform(parts[0], Normalize(parts[1]), parts.Length == 3 ? parts[2] : null);
    }

    /// <summary>How well an index entry's platform fits: 0 not at all, 1 the variant is not the one asked, 2 it is (or neither says).</summary>
    public int Fit(string? os, string? architecture, string? variant)
    {
        if (!string.Equals(os, Os, StringComparison.OrdinalIgnoreCase) || architecture is null || Normalize(architecture.ToLowerInvariant()) != Architecture)
        {
            return 0;
        }

        var wanted = Variant ?? DefaultVariant(Architecture);
        var offered = string.IsNullOrEmpty(variant) ? DefaultVariant(Architecture) : variant.ToLowerInvariant();
        if (wanted == offered)
        {
            return 2;
        }

        // Asked for no variant in particular: any variant of the architecture will do.
        return Variant is null ? 1 : 0;
    }

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";

    private static string? DefaultVariant(string architecture) => architecture switch
    {
        "arm64" => "v8",
        _ => null,
    };

    private static string Normalize(string architecture) => architecture switch
    {
        "x86_64" or "x86-64" => "amd64",
        "aarch64" => "arm64",
        "i386" or "i686" => "386",
        _ => architecture,
    };

    private static string GoArchitecture(Architecture architecture) => architecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "amd64",
        System.Runtime.InteropServices.Architecture.X86 => "386",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        System.Runtime.InteropServices.Architecture.S390x => "s390x",
        System.Runtime.InteropServices.Architecture.Ppc64le => "ppc64le",
        System.Runtime.InteropServices.Architecture.RiscV64 => "riscv64",
        System.Runtime.InteropServices.Architecture.LoongArch64 => "loong64",
        _ => architecture.ToString().ToLowerInvariant(),
    };
}
