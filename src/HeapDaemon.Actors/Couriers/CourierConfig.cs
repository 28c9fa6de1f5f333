using System.Collections.Immutable;
using System.Text.Json.Serialization;
using HeapDaemon.Actors.Formats;

namespace HeapDaemon.Actors.Couriers;

public enum LoadType { Upsert }

/// <summary>
/// One file a courier pulls: its exact object key, how it is written, the feed it loads into, and the PGP credential
/// that decrypts it when it is encrypted.
/// </summary>
public sealed record CourierFile(string Key, string FeedId, FileSettings? Settings = null, string? PgpCredentialId = null)
{
    [JsonIgnore] public FileSettings SettingsOrDefault => Settings ?? FileSettings.Default;
}

/// <summary>What a courier pulls, with which credential, and how it loads: the part of its state a user edits.</summary>
public sealed record CourierConfig(string CredentialId, ImmutableArray<CourierFile> Files, LoadType LoadType = LoadType.Upsert)
{
    /// <summary>The checks that need no database; the admin API checks that the credential and feeds exist.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(CredentialId)) errors.Add("credentialId is required");
        if (Files.IsDefaultOrEmpty) { errors.Add("a courier needs at least one file"); return errors; }
        foreach (var (file, i) in Files.Select((f, i) => (f, i)))
        {
            if (string.IsNullOrWhiteSpace(file.Key) || file.Key.EndsWith('/') || file.Key.Length > 1024)
                errors.Add($"files[{i}]: key must name one object (not empty, not a folder, at most 1024 characters)");
            if (string.IsNullOrWhiteSpace(file.FeedId)) errors.Add($"files[{i}]: feedId is required");
            errors.AddRange(file.SettingsOrDefault.Validate().Select(e => $"files[{i}].settings: {e}"));
        }
        return errors;
    }
}
