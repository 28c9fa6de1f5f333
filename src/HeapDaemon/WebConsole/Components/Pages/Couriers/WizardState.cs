using System.Globalization;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Preview;
using Microsoft.AspNetCore.WebUtilities;

namespace HeapDaemon.WebConsole.Components.Pages.Couriers;

/// <summary>
/// What the "add courier" steps have chosen so far, carried from page to page in the address (no secret is ever in
/// it): the credential, the file (an exact key, or a pattern with a sample key), its PGP credential and settings, and
/// the courier to make once its feed is active. Each page reads it, adds its own choice, and passes it on.
/// </summary>
public sealed record WizardState(
    string? Credential = null,
    string? Key = null,
    string? Pattern = null,
    string? Pgp = null,
    FileSettingsOverrides? Settings = null,
    string? Courier = null,
    LoadType LoadType = LoadType.Upsert)
{
    public static WizardState From(IQueryCollection query)
    {
        string? Get(string name) => query[name].FirstOrDefault() is { Length: > 0 } v ? v : null;
        T? Parse<T>(string name) where T : struct, Enum => Enum.TryParse<T>(Get(name), true, out var v) && !char.IsDigit(Get(name)![0]) ? v : null;
        bool? Flag(string name) => Get(name) switch { "true" => true, "false" => false, _ => null };
        var settings = new FileSettingsOverrides(Parse<FileFormat>("format"), Get("delimiter"), Get("quote"), Get("escape"), Flag("header"),
            Get("encoding"), Parse<Compression>("compression"), Get("member"));
        return new WizardState(Get("credential"), Get("key"), Get("pattern"), Get("pgp"),
            settings == new FileSettingsOverrides() ? null : settings, Get("courier"), Parse<LoadType>("loadType") ?? LoadType.Upsert);
    }

    /// <summary>The settings as a courier entry keeps them: what was inferred, with what the user changed.</summary>
    public static FileSettingsOverrides Of(FileSettings settings) =>
        new(settings.Format, settings.Delimiter, settings.Quote, settings.Escape, settings.Header, settings.Encoding, settings.Compression, settings.Member);

    public FileSettings? FileSettings => Settings is null ? null : Settings.ApplyTo(new FileSettings(Settings.Format ?? FileFormat.Csv));

    public PreviewRequest PreviewRequest => new(Credential ?? "", Key ?? "", Pgp, Settings);

    public CourierFile File(string feedId) => new(Pattern is null ? Key : null, feedId, FileSettings, Pgp, Pattern);

    /// <summary>The file a sample of which is reviewed: "the key", or "the pattern (sample: key)".</summary>
    public string Describe => Pattern is null ? Key ?? "" : $"{Pattern} (sample {Key})";

    /// <summary>The path with this state as its query, plus any extra parameters (null values left out).</summary>
    public string Url(string path, params (string Name, string? Value)[] extra)
    {
        var query = new List<KeyValuePair<string, string?>>
        {
            new("credential", Credential), new("key", Key), new("pattern", Pattern), new("pgp", Pgp),
            new("format", Word(Settings?.Format)), new("delimiter", Settings?.Delimiter), new("quote", Settings?.Quote),
            new("escape", Settings?.Escape), new("header", Settings?.Header is { } h ? (h ? "true" : "false") : null),
            new("encoding", Settings?.Encoding), new("compression", Word(Settings?.Compression)), new("member", Settings?.Member),
            new("courier", Courier), new("loadType", LoadType == LoadType.Upsert ? null : "truncateAndUpsert"),
        };
        query.AddRange(extra.Select(e => new KeyValuePair<string, string?>(e.Name, e.Value)));
        return QueryHelpers.AddQueryString(path, query.Where(p => p.Value is not null));
    }

    private static string? Word<T>(T? value) where T : struct, Enum => value?.ToString().ToLowerInvariant();

    public static string Today(TimeProvider clock) => DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
