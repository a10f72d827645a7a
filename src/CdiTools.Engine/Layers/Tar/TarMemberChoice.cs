namespace CdiTools.Engine.Layers.Tar;

/// <summary>
/// Which member of a tar was taken as the disk, and why ("the only regular file", "the only file
/// under disk/", "the largest image file of 3").
/// </summary>
/// <param name="Name">The member's name, without a leading "./" or "/".</param>
/// <param name="Size">The member's real size: for a sparse member, its size with the holes filled in.</param>
/// <param name="Sparse">Whether the archive stores the member sparse (GNU or PAX sparse formats).</param>
/// <param name="Reason">Which of the choice rules picked it.</param>
public sealed record TarMemberChoice(string Name, long Size, bool Sparse, string Reason);
