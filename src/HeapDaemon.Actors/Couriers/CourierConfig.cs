using System.Collections.Immutable;
using System.Text.Json.Serialization;
using HeapDaemon.Actors.Formats;

namespace HeapDaemon.Actors.Couriers;

/// <summary>Amperity's load operations.</summary>
public enum LoadType
{
    /// <summary>Rows update stored rows with the same key, or are added.</summary>
    Upsert,
    /// <summary>Each run's files of a feed replace its domain table, atomically for readers.</summary>
    TruncateAndUpsert,
}

/// <summary>
/// One file entry of a courier: an exact object key or a dated filename pattern (<see cref="FilenamePattern"/>), how
/// the file is written, the feed it loads into, and the PGP credential that decrypts it when it is encrypted. A
/// required entry that finds nothing fails the run.
/// </summary>
/// <param name="AllowEmpty">
/// The source sends an empty object when it has no data: such a file loads as 0 rows, with a message saying it was
/// empty, instead of failing (an empty object is otherwise taken for a failed export).
/// </param>
public sealed record CourierFile(
    string? Key,
    string FeedId,
    FileSettings? Settings = null,
    string? PgpCredentialId = null,
    string? Pattern = null,
    bool Optional = false,
    bool AllowEmpty = false)
{
    [JsonIgnore] public FileSettings SettingsOrDefault => Settings ?? FileSettings.Default;

    /// <summary>What the entry looks for, as the user wrote it.</summary>
    [JsonIgnore] public string Describe => Key is not null ? $"key '{Key}'" : $"pattern \"{Pattern}\"";
}

/// <summary>What drives a courier: its file entries, or Heap Connect's manifests (<see cref="Heap.HeapCourier"/>).</summary>
public enum CourierKind { Files, Heap }

/// <summary>What a courier pulls, with which credential, and how it loads: the part of its state a user edits.</summary>
/// <param name="Schedule">When the courier runs by itself; null: only when asked.</param>
/// <param name="Prefix">Heap: where the export starts in the bucket ('' or a folder ending in '/').</param>
/// <param name="Source">Heap: the source (PostgreSQL schema) its tables load into; default <c>heap</c>.</param>
public sealed record CourierConfig(string CredentialId, ImmutableArray<CourierFile> Files, LoadType LoadType = LoadType.Upsert,
    CourierSchedule? Schedule = null, CourierKind Kind = CourierKind.Files, string? Prefix = null, string? Source = null)
{
    [JsonIgnore] public string HeapSource => Source ?? "heap";

    /// <summary>Where this configuration names a credential: its S3 credential, and each file's PGP credential.</summary>
    public IEnumerable<(string CredentialId, string Kind, string Where)> CredentialUses() =>
        new[] { (CredentialId, "s3", "credentialId") }.Concat((Files.IsDefault ? [] : Files)
            .Select((f, i) => (f.PgpCredentialId!, "pgp", $"files[{i}].pgpCredentialId")).Where(u => u.Item1 is not null));


    /// <summary>The checks that need no database; the admin API checks that the credential and feeds exist.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(CredentialId)) errors.Add("credentialId is required");
        if (Schedule is not null) errors.AddRange(Schedule.Validate());
        if (Kind == CourierKind.Heap) return [.. errors, .. Heap.HeapCourier.Validate(this)];
        if (Prefix is not null || Source is not null) errors.Add("prefix and source are for Heap couriers (kind \"heap\")");
        if (Files.IsDefaultOrEmpty) { errors.Add("a courier needs at least one file"); return errors; }
        foreach (var (file, i) in Files.Select((f, i) => (f, i)))
        {
            if (file.Key is null == file.Pattern is null)
                errors.Add($"files[{i}]: give either key (one object) or pattern (a dated filename pattern)");
            else if (file.Key is not null && (string.IsNullOrWhiteSpace(file.Key) || file.Key.EndsWith('/') || file.Key.Length > 1024))
                errors.Add($"files[{i}]: key must name one object (not empty, not a folder, at most 1024 characters)");
            else if (file.Pattern is not null && !FilenamePattern.TryParse(file.Pattern, out _, out var patternError))
                errors.Add($"files[{i}]: {patternError}");
            if (string.IsNullOrWhiteSpace(file.FeedId)) errors.Add($"files[{i}]: feedId is required");
            errors.AddRange(file.SettingsOrDefault.Validate().Select(e => $"files[{i}].settings: {e}"));
        }
        return errors;
    }
}
