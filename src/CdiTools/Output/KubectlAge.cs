namespace CdiTools;

/// <summary>Ages as kubectl prints them in its AGE column.</summary>
internal static class KubectlAge
{
    /// <summary>How long ago <paramref name="created"/> was; null when unknown.</summary>
    public static TimeSpan? Since(DateTime? created) => created is { } at ? DateTime.UtcNow - at.ToUniversalTime() : null;

    /// <summary>45s, 12m, 3h, 5d; empty when unknown.</summary>
    public static string Format(TimeSpan? age) => age is not { } value ? string.Empty
        : value.TotalDays >= 1 ? $"{(int)value.TotalDays}d"
        : value.TotalHours >= 1 ? $"{(int)value.TotalHours}h"
        : value.TotalMinutes >= 1 ? $"{(int)value.TotalMinutes}m"
        : $"{Math.Max(0, (int)value.TotalSeconds)}s";
}
