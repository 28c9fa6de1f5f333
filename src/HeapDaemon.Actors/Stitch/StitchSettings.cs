using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Json;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// How Stitch matches and when it runs; one set per daemon (<c>heapd.stitch_settings</c>), every value with a
/// documented default, so tags are all a user must give.
/// </summary>
/// <param name="MatchThreshold">Pairs whose match probability reaches this are linked.</param>
/// <param name="MaxRecordsPerValue">A value (an email, a phone, a key) shared by more records is not used to block or link.</param>
/// <param name="MaxBlockSize">Records sharing a blocking key are compared pairwise up to this many; a larger block by a sliding window.</param>
/// <param name="BlockWindow">How many neighbours each record of a large block is compared with, on each side.</param>
/// <param name="MaxClusterSize">A person with more records than this is reported (a sign of over-merging).</param>
/// <param name="KeepPairsAbove">Compared pairs with at least this match probability are kept in <c>unified_scores</c> (0 keeps all).</param>
/// <param name="DefaultPhoneRegion">The region (ISO 3166 code) of phone numbers written without a country code.</param>
/// <param name="StripPlusAddressing">Compare <c>jane+news@example.com</c> as <c>jane@example.com</c> (and Gmail's dots away).</param>
/// <param name="RunAfterLoads">Stitch after a run that changed a tagged table.</param>
/// <param name="DebounceSeconds">Wait this long after such a run for more before stitching.</param>
/// <param name="Schedule">Also stitch on this cron schedule.</param>
public sealed record StitchSettings(
    double MatchThreshold = StitchSettings.DefaultThreshold,
    int MaxRecordsPerValue = 1000,
    int MaxBlockSize = 20,
    int BlockWindow = 5,
    int MaxClusterSize = 1000,
    double KeepPairsAbove = 0.01,
    string DefaultPhoneRegion = "US",
    bool StripPlusAddressing = true,
    bool RunAfterLoads = true,
    int DebounceSeconds = 30,
    StitchSchedule? Schedule = null)
{
    public const double DefaultThreshold = 0.9;

    public static readonly ImmutableArray<string> DefaultBadValues =
    [
        "test@test.com", "test@example.com", "email@email.com", "noemail@noemail.com", "none@none.com", "no@email.com",
        "na@na.com", "null@null.com", "unknown@unknown.com", "noreply@noreply.com", "555-555-5555", "000-000-0000",
        "111-111-1111", "123-456-7890", "999-999-9999", "n/a", "none", "null", "unknown", "test", "tbd", "not provided",
        "declined", "anonymous", "1900-01-01",
    ];

    public static readonly ImmutableArray<string> DefaultComparedTags =
        [.. ProfileFields.All.Take(ProfileFields.Compared).Select(f => f.Tag()).Append(ProfileField.FullName.Tag())];

    /// <summary>Profile tags that are compared; the others are kept but not compared.</summary>
    public ImmutableArray<string> ComparedTags { get; init; } = DefaultComparedTags;

    /// <summary>Sources (<c>crm</c>) or tables (<c>crm.customers</c>) whose values win in the customer 360, first first.</summary>
    public ImmutableArray<string> SourcePriority { get; init; } = [];

    /// <summary>Placeholder values treated as missing (compared after the field's normalisation).</summary>
    public ImmutableArray<string> BadValues { get; init; } = DefaultBadValues;

    /// <summary>Every value that is not valid, each named as the API's body writes it, with the value and what would do.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Refuse(string field, object value, string expected) =>
            errors.Add($"{field}: {JsonSerializer.Serialize(value, HeapJson.Options)} is not valid: expected {expected}");
        if (MatchThreshold is <= 0 or >= 1 || double.IsNaN(MatchThreshold)) Refuse("matchThreshold", MatchThreshold, "a probability above 0 and below 1");
        for (var i = 0; i < ComparedTags.Length; i++)
            if (!DefaultComparedTags.Contains(ComparedTags[i])) Refuse($"comparedTags[{i}]", ComparedTags[i], $"one of: {string.Join(", ", DefaultComparedTags)}");
        for (var i = 0; i < SourcePriority.Length; i++)
            if (SourcePriority[i].Split('.') is var parts && (parts.Length > 2 || parts.Any(string.IsNullOrWhiteSpace)))
                Refuse($"sourcePriority[{i}]", SourcePriority[i], "a source (crm) or one of its tables (crm.customers)");
        for (var i = 0; i < BadValues.Length; i++)
            if (string.IsNullOrWhiteSpace(BadValues[i])) Refuse($"badValues[{i}]", BadValues[i], "a value that is not empty");
        if (MaxRecordsPerValue < 2) Refuse("maxRecordsPerValue", MaxRecordsPerValue, "a whole number of at least 2");
        if (MaxBlockSize is < 2 or > 10_000) Refuse("maxBlockSize", MaxBlockSize, "a whole number from 2 to 10000");
        if (BlockWindow is < 1 or > 1000) Refuse("blockWindow", BlockWindow, "a whole number from 1 to 1000");
        if (MaxClusterSize < 2) Refuse("maxClusterSize", MaxClusterSize, "a whole number of at least 2");
        if (KeepPairsAbove is < 0 or >= 1 || double.IsNaN(KeepPairsAbove)) Refuse("keepPairsAbove", KeepPairsAbove, "a probability from 0 up to (not including) 1");
        if (!PhoneNumbers.PhoneNumberUtil.GetInstance().GetSupportedRegions().Contains(DefaultPhoneRegion))
            Refuse("defaultPhoneRegion", DefaultPhoneRegion, "a region libphonenumber knows: an ISO 3166 code such as US, GB, FR");
        if (DebounceSeconds is < 0 or > 86_400) Refuse("debounceSeconds", DebounceSeconds, "a whole number of seconds from 0 to 86400");
        if (Schedule is not null) errors.AddRange(Schedule.Validate());
        return errors;
    }

    /// <summary>
    /// What shapes the whole result (what matches, which pairs are kept, which values the customer 360 takes): when it
    /// changes, the next stitch is a full one, since an incremental one would rewrite only the people it touches.
    /// </summary>
    public string ResultFingerprint => Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(
        new { MatchThreshold, ComparedTags, BadValues, MaxRecordsPerValue, MaxBlockSize, BlockWindow, DefaultPhoneRegion, StripPlusAddressing, KeepPairsAbove, SourcePriority },
        HeapJson.Options)))[..16];

    public bool Compares(ProfileField field) =>
        ComparedTags.Contains(field.Tag()) || field.IsName() && ComparedTags.Contains(ProfileField.FullName.Tag());
}

/// <summary>When Stitch runs by itself besides after loads: a cron expression in a time zone, as a courier's schedule.</summary>
/// <param name="Cron">Five fields: minute hour day-of-month month day-of-week (<c>0 6 * * *</c> is every day at 06:00).</param>
/// <param name="TimeZone">An IANA time zone the cron is read in.</param>
/// <param name="Active">false keeps the schedule but stitches only when asked or after loads.</param>
public sealed record StitchSchedule(string Cron, string TimeZone = "UTC", bool Active = true)
{
    private CourierSchedule AsCourierSchedule => new(Cron, TimeZone, 0, Active);

    public IReadOnlyList<string> Validate() => AsCourierSchedule.Validate();

    /// <summary>The first tick strictly after <paramref name="after"/>.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after) => AsCourierSchedule.NextAfter(after);
}

/// <summary>The settings in <c>heapd.stitch_settings</c> (one row).</summary>
public sealed class StitchSettingsStore(NpgsqlDataSource db)
{
    public async Task<StitchSettings> GetAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT settings::text FROM heapd.stitch_settings WHERE id = 1");
        return await cmd.ExecuteScalarAsync(ct) is string json
            ? JsonSerializer.Deserialize<StitchSettings>(json, HeapJson.Options)!
            : new StitchSettings();
    }

    public async Task SaveAsync(StitchSettings settings, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            INSERT INTO heapd.stitch_settings (id, settings, updated_at) VALUES (1, $1, now())
            ON CONFLICT (id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()
            """);
        cmd.Parameters.AddWithValue(NpgsqlDbType.Jsonb, JsonSerializer.Serialize(settings, HeapJson.Options));
        await cmd.ExecuteNonQueryAsync(ct);
    }
}

/// <summary>The bad-values list, normalised the way each field normalises its values.</summary>
public sealed class BadValues
{
    private readonly HashSet<string>[] _keys = new HashSet<string>[ProfileFields.Count];
    private readonly HashSet<string> _raw;

    public BadValues(IEnumerable<string> values, ProfileNormalizer normalizer)
    {
        var list = values.ToList();
        _raw = new HashSet<string>(list.Select(v => v.Trim()), StringComparer.OrdinalIgnoreCase);
        foreach (var field in ProfileFields.All)
            _keys[(int)field] = list.Select(v => normalizer.Normalize(field, v).Key).OfType<string>().ToHashSet(StringComparer.Ordinal);
    }

    public bool IsBad(ProfileField field, string key) => _keys[(int)field].Contains(key);

    /// <summary>Customer and foreign keys are compared as written (trimmed, any case).</summary>
    public bool IsBadKey(string value) => _raw.Contains(value);
}
