using System.Text.RegularExpressions;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Management;

namespace HeapDaemon.WebConsole.Components.Pages.Couriers;

/// <summary>The courier editor's form: its credential, load type and file entries (the schedule has a form of its own).</summary>
public sealed partial class CourierForm
{
    public string? CredentialId { get; set; }
    public string? LoadType { get; set; }
    public List<FileEntryForm> Files { get; set; } = [];

    /// <summary>The courier's entries, and a blank one to add a file with.</summary>
    public static CourierForm Of(CourierConfig config) => new()
    {
        CredentialId = config.CredentialId,
        LoadType = config.LoadType.ToString(),
        Files = [.. (config.Files.IsDefault ? [] : config.Files).Select(FileEntryForm.Of), new FileEntryForm()],
    };

    /// <summary>The courier as edited: the entries kept (removed and blank ones left out), the rest as it was. The rules are the service's.</summary>
    /// <returns>The request, and for each entry of the request the form's entry it came from (for errors named by the request's place).</returns>
    public (CourierRequest Request, IReadOnlyList<int> Places) ToRequest(CourierRequest current)
    {
        var kept = Files.Select((f, i) => (f, i)).Where(e => !e.f.Remove && !e.f.IsBlank).ToList();
        var loadType = Enum.TryParse<LoadType>(LoadType, true, out var l) ? l : current.LoadType;
        return (current with
        {
            CredentialId = CredentialId?.Trim() ?? "",
            LoadType = loadType,
            Files = current.Kind == CourierKind.Files ? [.. kept.Select(e => e.f.ToFile())] : current.Files,
        }, kept.Select(e => e.i).ToList());
    }

    /// <summary>The service's "files[0]: ..." (or "files[0].settings: ...") named as the page shows the entry: "File 1: ...".</summary>
    public static string Label(string error, IReadOnlyList<int> places) =>
        EntryName().Replace(error, m => int.TryParse(m.Groups[1].Value, out var i) && i < places.Count
            ? $"File {places[i] + 1}{(m.Groups[2].Success ? ", settings" : "")}" : m.Value);

    [GeneratedRegex(@"files\[(\d+)\](\.settings)?")]
    private static partial Regex EntryName();
}

/// <summary>One file entry as the form holds it: text as typed, so what was sent is shown again when the service refuses it.</summary>
public sealed class FileEntryForm
{
    /// <summary><c>key</c> (one object) or <c>pattern</c> (a dated filename pattern).</summary>
    public string? Kind { get; set; } = "key";
    public string? Value { get; set; }
    public string? FeedId { get; set; }
    public string? PgpCredentialId { get; set; }
    public string? Format { get; set; }
    public string? Delimiter { get; set; }
    public string? Quote { get; set; }
    public string? Escape { get; set; }
    public string? Header { get; set; }
    public string? Encoding { get; set; }
    public string? Compression { get; set; }
    public string? Member { get; set; }
    public bool Optional { get; set; }
    public bool AllowEmpty { get; set; }
    public bool Remove { get; set; }

    public bool IsBlank => string.IsNullOrWhiteSpace(Value) && string.IsNullOrWhiteSpace(FeedId);

    public static FileEntryForm Of(CourierFile file) => new()
    {
        Kind = file.Pattern is null ? "key" : "pattern",
        Value = file.Key ?? file.Pattern,
        FeedId = file.FeedId,
        PgpCredentialId = file.PgpCredentialId,
        Format = file.SettingsOrDefault.Format.ToString().ToLowerInvariant(),
        Delimiter = file.SettingsOrDefault.Delimiter is "\t" ? "\\t" : file.SettingsOrDefault.Delimiter,
        Quote = file.SettingsOrDefault.Quote,
        Escape = file.SettingsOrDefault.Escape,
        Header = file.SettingsOrDefault.Header is { } h ? (h ? "true" : "false") : "",
        Encoding = file.SettingsOrDefault.Encoding,
        Compression = file.SettingsOrDefault.Compression.ToString().ToLowerInvariant(),
        Member = file.SettingsOrDefault.Member,
        Optional = file.Optional,
        AllowEmpty = file.AllowEmpty,
    };

    public CourierFile ToFile()
    {
        var settings = new FileSettings(
            Enum.TryParse<FileFormat>(Format, true, out var f) ? f : FileFormat.Csv,
            Blank(Delimiter) is "\\t" ? "\t" : Blank(Delimiter), Blank(Quote), Blank(Escape),
            Header switch { "true" => true, "false" => false, _ => null },
            Blank(Encoding),
            Enum.TryParse<Compression>(Compression, true, out var c) ? c : Actors.Formats.Compression.Auto,
            Blank(Member));
        var value = Value?.Trim() ?? "";
        return new CourierFile(Kind == "pattern" ? null : value, FeedId?.Trim() ?? "", settings == FileSettings.Default ? null : settings,
            Blank(PgpCredentialId), Kind == "pattern" ? value : null, Optional, AllowEmpty);
    }

    private static string? Blank(string? text) => string.IsNullOrEmpty(text) ? null : text;
}
