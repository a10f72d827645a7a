namespace CdiTools.Engine.Formats;

/// <summary>The errors a block-mapped format (VHD, VDI) reports from the shared block map readers.</summary>
internal sealed record BlockMapErrors(ImageError OffsetBeyondEndOfFile, ImageError LayoutNotStreamable);
