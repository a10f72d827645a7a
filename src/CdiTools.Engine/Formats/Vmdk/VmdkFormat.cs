using CdiTools.Engine.Sources;

namespace CdiTools.Engine.Formats.Vmdk;

/// <summary>
/// Opens a VMDK: a monolithic sparse or stream-optimized extent (KDMV), or a text descriptor
/// file whose extents lie beside it. Picks random access or forward-only reading, and describes
/// the image as qemu-img info does (create type, grain size, compression).
/// </summary>
internal static class VmdkFormat
{
    /// <summary>VMDK in <see cref="LayerFormats"/>: a sparse extent ("KDMV" at 0) or a text descriptor, as qemu's vmdk probe takes both.</summary>
    public static LayerFormat Registration { get; } = new()
    {
        Name = "vmdk",
        Role = LayerRole.Disk,
        Extensions = [".vmdk"],
        Head = static head => head.StartsWith("KDMV"u8) || VmdkDescriptor.LooksLikeDescriptorFile(head),
        Open = static opening => VmdkDescriptor.LooksLikeDescriptorFile(opening.Head)
            ? OpenDescriptorFile(opening.Input, opening.Folder, opening.Options)
            : OpenSparse(opening.Input, opening.Options),
    };

    /// <summary>Opens a sparse extent (the layer starts with KDMV).</summary>
    public static IImageDriver OpenSparse(LayerInput input, ImageOpenOptions options)
    {
        if (input.Random is not { } random)
        {
            return new VmdkStreamDriver(input.Forward!, input.Length, options);
        }

        var extent = VmdkSparseExtent.Open(random, ownsSource: true, "the image");
        try
        {
            var descriptor = ReadEmbeddedDescriptor(random, extent.Header);
            return new VmdkRandomDriver([extent], Describe(extent.Header, descriptor, random.Length, [extent]), options.PreferNativeDecoders, descriptor.ParentRefusal(extent.Header.DescriptorOffset));
        }
        catch
        {
            extent.Dispose();
            throw;
        }
    }

    /// <summary>Opens a descriptor file; its extents are resolved against <paramref name="directory"/>,
    /// the folder of the local file it was opened from (null when it came from a stream or a URL).</summary>
    public static IImageDriver OpenDescriptorFile(LayerInput input, string? directory, ImageOpenOptions options)
    {
        if (input.Random is not { } random || directory is null)
        {
            throw new ImageException(ImageErrors.VmdkDescriptorNeedsLocalFile,
                "The image is a VMDK descriptor file, whose disk lies in extent files beside it; open the descriptor from a local path (not a stream, URL or archive), or convert it into one image file first.");
        }

        var bytes = new byte[(int)Math.Min(random.Length, VmdkDescriptor.MaxLength)];
        var read = random.ReadAt(0, bytes);
        var descriptor = VmdkDescriptor.Parse(bytes.AsSpan(0, read), 0);
        descriptor.RefuseUnsupportedCreateType(0);
        var extents = new List<VmdkExtent>();
        try
        {
            foreach (var line in descriptor.Extents)
            {
                extents.Add(OpenExtent(line, directory));
            }

            if (extents.Count == 0)
            {
                throw new ImageException(ImageErrors.VmdkDescriptorInvalid, "The VMDK descriptor lists no RW extent.", 0);
            }

            var first = extents.OfType<VmdkSparseExtent>().FirstOrDefault()?.Header;
            var details = new ImageDetails
            {
                Format = "vmdk",
                Subformat = descriptor.CreateType,
                VirtualSize = extents.Sum(e => e.Sectors) * VmdkHeader.Sector,
                Version = first?.Version,
                ClusterSize = first?.GrainSize,
                CompressionType = first?.Compressed == true ? "deflate" : null,
                Features = first?.FeatureNames() ?? [],
                BackingFile = descriptor.ParentFileNameHint,
                BackingFormat = descriptor.ParentFileNameHint is null ? null : "vmdk",
                Notes = [$"{extents.Count} extent file(s): {string.Join(", ", descriptor.Extents.Select(e => e.FileName))}"],
                FileLength = random.Length,
            };
            random.Dispose();
            return new VmdkRandomDriver(extents, details, options.PreferNativeDecoders, descriptor.ParentRefusal(0));
        }
        catch
        {
            foreach (var extent in extents)
            {
                extent.Dispose();
            }

            throw;
        }
    }

    public static ImageDetails Describe(VmdkHeader header, VmdkDescriptor descriptor, long? fileLength, IReadOnlyList<VmdkExtent>? extents)
    {
        var notes = new List<string>();
        if (descriptor.ParentCid != uint.MaxValue && descriptor.ParentFileNameHint is null)
        {
            notes.Add($"The descriptor gives parentCID {descriptor.ParentCid:x8} but names no parent; like qemu, the disk is read on its own.");
        }

        return new ImageDetails
        {
            Format = "vmdk",

            // qemu names a monolithic extent by what it is, whatever its descriptor's createType says.
            Subformat = header.Compressed ? "streamOptimized" : "monolithicSparse",
            VirtualSize = header.VirtualSize,
            Version = header.Version,
            ClusterSize = header.GrainSize,
            CompressionType = header.Compressed ? "deflate" : null,
            Features = header.FeatureNames(),
            BackingFile = descriptor.ParentFileNameHint,
            BackingFormat = descriptor.ParentFileNameHint is null ? null : "vmdk",
            Notes = notes,
            FileLength = fileLength,
        };
    }

    /// <summary>Where qemu looks for the embedded descriptor, and how much of it (vmdk_read_cid reads 10 KiB at 0x200).</summary>
    public static (long Offset, int Length) DescriptorRange(VmdkHeader header) =>
        (header.DescriptorOffset != 0 ? header.DescriptorOffset : VmdkHeader.Sector,
         header.DescriptorSize != 0 ? (int)Math.Min(header.DescriptorSize, VmdkDescriptor.MaxLength) : 20 * VmdkHeader.Sector);

    private static VmdkDescriptor ReadEmbeddedDescriptor(IRandomAccessSource source, VmdkHeader header)
    {
        var (offset, length) = DescriptorRange(header);
        var bytes = new byte[length];
        var read = source.ReadAt(offset, bytes);
        return VmdkDescriptor.Parse(bytes.AsSpan(0, read), offset);
    }

    private static VmdkExtent OpenExtent(VmdkExtentLine line, string directory)
    {
        if (line.Type == "SESPARSE")
        {
            throw new ImageException(ImageErrors.VmdkExtentTypeUnsupported, $"Extent '{line.FileName}' is an ESXi seSparse extent, which is not supported.", 0);
        }

        // qemu opens an absolute name as it is and follows ".." and links anywhere; an image made
        // by someone else could then put any file of this machine into the disk. Extents are read
        // only where they really lie inside the descriptor's folder.
        var source = ReferencedFile.Open(
            directory,
            line.FileName,
            $"Extent '{Layers.Tar.TarDiskRules.Printable(line.FileName)}' named by the descriptor (line {line.LineNumber})",
            outsideId: ImageErrors.VmdkExtentOutsideFolder,
            notFileId: ImageErrors.VmdkExtentNotAFile,
            notFoundId: ImageErrors.VmdkExtentNotFound,
            advice: "Put the extent files beside the descriptor and name them without a folder.");

        try
        {
            if (line.Type is "FLAT" or "VMFS")
            {
                return new VmdkFlatExtent(source, ownsSource: true, line.Sectors, line.FlatOffsetSectors!.Value * VmdkHeader.Sector, line.FileName);
            }

            Span<byte> magic = stackalloc byte[4];
            source.ReadAt(0, magic);
            if (!VmdkHeader.HasMagic(magic))
            {
                var kind = magic.SequenceEqual("COWD"u8) ? "a VMFS sparse (COWD) extent" : "not a hosted sparse extent (no KDMV magic)";
                throw new ImageException(ImageErrors.VmdkExtentTypeUnsupported, $"Extent '{line.FileName}' is {kind}, which is not supported.", 0);
            }

            return VmdkSparseExtent.Open(source, ownsSource: true, line.FileName);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }
}
