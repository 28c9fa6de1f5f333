using System.Collections.Immutable;
using System.Text.Json.Serialization;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Ids;

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

    /// <summary>What is wrong with the entry, named by its place in the courier's files.</summary>
    public IEnumerable<string> Validate(int index)
    {
        if (Key is null == Pattern is null)
            yield return $"files[{index}]: give either key (one object) or pattern (a dated filename pattern)";
        else if (Key is not null && (string.IsNullOrWhiteSpace(Key) || Key.EndsWith('/') || Key.Length > 1024))
            yield return $"files[{index}]: key must name one object (not empty, not a folder, at most 1024 characters)";
        else if (Pattern is not null && !FilenamePattern.TryParse(Pattern, out _, out var patternError))
            yield return $"files[{index}]: {patternError}";
        if (string.IsNullOrWhiteSpace(FeedId)) yield return $"files[{index}]: feedId is required";
        foreach (var error in SettingsOrDefault.Validate()) yield return $"files[{index}].settings: {error}";
    }
}

/// <summary>
/// What drives a courier: its file entries (<see cref="FilesCourier"/>), or Heap Connect's manifests. Each kind is one
/// <see cref="ICourierKind"/>.
/// </summary>
public enum CourierKind { Files, Heap }

/// <summary>What a courier pulls, with which credential, and how it loads: the part of its state a user edits.</summary>
/// <param name="Schedule">When the courier runs by itself; null: only when asked.</param>
/// <param name="Prefix">Heap: where the export starts in the bucket ('' or a folder ending in '/').</param>
/// <param name="Source">Heap: the source (PostgreSQL schema) its tables load into, a name in any case kept in lowercase; default <c>heap</c>.</param>
public sealed record CourierConfig(string CredentialId, ImmutableArray<CourierFile> Files, LoadType LoadType = LoadType.Upsert,
    CourierSchedule? Schedule = null, CourierKind Kind = CourierKind.Files, string? Prefix = null, string? Source = null)
{
    public string? Source { get; init; } = Source is null ? null : Identifiers.Canonical(Source);

    [JsonIgnore] public string HeapSource => Source ?? "heap";

    /// <summary>Where this configuration names a credential: its S3 credential, and each file's PGP credential.</summary>
    public IEnumerable<(string CredentialId, string Kind, string Where)> CredentialUses() =>
        new[] { (CredentialId, "s3", "credentialId") }.Concat((Files.IsDefault ? [] : Files)
            .Select((f, i) => (f.PgpCredentialId!, "pgp", $"files[{i}].pgpCredentialId")).Where(u => u.Item1 is not null));

    /// <summary>
    /// The checks any courier's configuration gets, without the database; its kind checks the rest
    /// (<see cref="CourierKinds.Validate"/>), and the admin API that the credential and feeds exist.
    /// </summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(CredentialId)) errors.Add("credentialId is required");
        if (Schedule is not null) errors.AddRange(Schedule.Validate());
        return errors;
    }
}
