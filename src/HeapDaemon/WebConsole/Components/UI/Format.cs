using System.Globalization;

namespace HeapDaemon.WebConsole.Components.UI;

/// <summary>Numbers, sizes and times as the console writes them.</summary>
public static class Format
{
    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    public static string Bytes(long? bytes) => bytes switch
    {
        null => "",
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KB",
        < 1024L * 1024 * 1024 => $"{bytes / 1024.0 / 1024:0.#} MB",
        _ => $"{bytes / 1024.0 / 1024 / 1024:0.##} GB",
    };

    public static string When(DateTimeOffset? at) => at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : "";

    public static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>A run's days: one day, or a range written with its last day included, as people read ranges.</summary>
    public static string Days(DateOnly from, DateOnly to) => to.DayNumber - from.DayNumber <= 1 ? Day(from) : $"{Day(from)} to {Day(to.AddDays(-1))}";

    public static string Word<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    public static string Duration(DateTimeOffset? from, DateTimeOffset? to) =>
        from is { } f && to is { } t ? (t - f) switch
        {
            var d when d.TotalSeconds < 60 => $"{d.TotalSeconds:0.0} s",
            var d when d.TotalMinutes < 60 => $"{(int)d.TotalMinutes} min {d.Seconds} s",
            var d => $"{(int)d.TotalHours} h {d.Minutes} min",
        } : "";
}
