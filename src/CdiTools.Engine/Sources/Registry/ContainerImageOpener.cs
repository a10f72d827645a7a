using System.Text.Json;

namespace CdiTools.Engine.Sources.Registry;

/// <summary>
/// Opens the disk of a container-disk image (docker:// or oci-archive:) for conversion: resolves
/// the reference to one image manifest (a multi-arch index by platform), finds the file under
/// <c>disk/</c> in its layers, and hands it to the engine as a forward-only input, so that qcow2,
/// raw and compressed disks convert in the same single pass as any other source.
/// </summary>
public static class ContainerImageOpener
{
    private const int MaxIndexDepth = 4;
    private const int MaxConfigBytes = 4 << 20;

    public static async Task<OpenedImage> OpenAsync(ContainerImageReference reference, RegistryOptions registryOptions, ImageOpenOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(registryOptions);
        var platform = registryOptions.Platform is { } text ? ImagePlatform.Parse(text) : null;
        IImageStore store = reference.Transport == ContainerImageTransport.OciArchive
            ? OciArchiveStore.Open(reference.ArchivePath!)
            : await RegistryClient.ConnectAsync(reference, registryOptions, cancellationToken).ConfigureAwait(false);
        ContainerDiskStream? disk = null;
        try
        {
            var (manifest, chosen) = await ResolveAsync(store, platform, cancellationToken).ConfigureAwait(false);
            disk = await ContainerDiskStream.OpenAsync(store, manifest.Layers, options.PreferNativeDecoders, cancellationToken).ConfigureAwait(false);
            var member = $"{disk.DiskName}: the file under disk/, in {disk.LayerDescription}";
            List<string> outer = [$"{store.Kind} image ({chosen}, manifest {manifest.Digest[..19]}…)"];
            if (disk.Compression != "uncompressed")
            {
                outer.Add(disk.Compression);
            }

            outer.Add($"tar ({member})");
            var input = LayerInput.FromStream(disk, disk.DiskSize);
            var image = ImageOpener.Open(input, options);
            return image.WithOuterLayers(outer, member).WithAbort(store.Dispose);
        }
        catch
        {
            if (disk is null)
            {
                store.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Follows the reference to an image manifest: through an index by platform (best fit, first
    /// on a tie), or, for a plain manifest and a platform given explicitly, checks its config's.
    /// </summary>
    private static async Task<(ImageManifest Manifest, string Platform)> ResolveAsync(IImageStore store, ImagePlatform? platform, CancellationToken cancellationToken)
    {
        var wanted = platform ?? ImagePlatform.Current;
        var manifest = await store.GetRootAsync(cancellationToken).ConfigureAwait(false);
        string? chosen = null;
        for (var depth = 0; manifest.IsIndex; depth++)
        {
            if (depth >= MaxIndexDepth)
            {
                throw new ImageException(ImageErrors.RegistryManifestInvalid, $"The image's indexes nest more than {MaxIndexDepth} deep.");
            }

            var entries = manifest.Manifests.Where(m => m.MediaType.Length == 0 || MediaTypes.IsManifest(m.MediaType) || MediaTypes.IsIndex(m.MediaType)).ToList();
            Descriptor? pick = null;
            var best = 0;
            foreach (var entry in entries)
            {
                var fit = wanted.Fit(entry.Os, entry.Architecture, entry.Variant);
                if (fit > best)
                {
                    best = fit;
                    pick = entry;
                }
            }

            // An archive's index.json lists images by name rather than platform; one of them is the image.
            if (pick is null && entries.Count == 1 && entries[0].Architecture is null)
            {
                pick = entries[0];
            }

            if (pick is null)
            {
                var offered = entries.Select(e => e.RefName is { } name && e.Architecture is null ? $"'{name}'" : e.Platform).Distinct().ToList();
                throw new ImageException(ImageErrors.RegistryPlatformNotFound,
                    entries.Count == 0
                        ? "The image index lists no image manifests."
                        : entries.All(e => e.Architecture is null) && entries.Count > 1
                            ? $"The index lists {entries.Count} images without platforms ({string.Join(", ", offered)}), so which one to read is not clear."
                            : $"The image index has no image for {wanted}{(platform is null ? " (this machine's platform; give another with -Platform)" : string.Empty)}; it offers {string.Join(", ", offered)}.");
            }

            chosen = pick.Architecture is null ? chosen : pick.Platform;
            manifest = await store.GetManifestAsync(pick, cancellationToken).ConfigureAwait(false);
        }

        if (chosen is null)
        {
            chosen = "single platform";
            if (platform is not null)
            {
                var config = await store.GetSmallBlobAsync(manifest.Config!, MaxConfigBytes, cancellationToken).ConfigureAwait(false);
                var (os, architecture, variant) = ConfigPlatform(config);
                if (architecture is not null && platform.Fit(os ?? "linux", architecture, variant) == 0)
                {
                    throw new ImageException(ImageErrors.RegistryPlatformNotFound, $"The image is for {os}/{architecture}{(variant is null ? string.Empty : "/" + variant)}, not {platform}, and has no index of other platforms.");
                }

                chosen = architecture is null ? chosen : $"{os}/{architecture}{(variant is null ? string.Empty : "/" + variant)}";
            }
        }

        return (manifest, chosen);
    }

    private static (string? Os, string? Architecture, string? Variant) ConfigPlatform(byte[] config)
    {
        try
        {
            using var document = JsonDocument.Parse(config);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null, null);
            }

            string? Get(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            return (Get("os"), Get("architecture"), Get("variant"));
        }
        catch (JsonException e)
        {
            throw new ImageException(ImageErrors.RegistryManifestInvalid, $"The image's config is not valid JSON: {e.Message}", innerException: e);
        }
    }
}
