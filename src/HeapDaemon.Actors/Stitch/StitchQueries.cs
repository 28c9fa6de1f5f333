using Npgsql;

namespace HeapDaemon.Actors.Stitch;

/// <summary>A profile record as Stitch read it: its place, its person and its normalised fields (null ones left out).</summary>
public sealed record StitchedRecord(string Source, string Feed, string Pk, Guid AmperityId, IReadOnlyDictionary<string, object> Fields);

/// <summary>A compared pair of a person's records: its score and how each comparison agreed ("given_name: exact").</summary>
public sealed record StitchedPair(
    string Source1, string Feed1, string Pk1, string Source2, string Feed2, string Pk2, double MatchWeight, double MatchProbability,
    bool Matched, IReadOnlyList<string> Exact, IReadOnlyList<string> Similar, IReadOnlyList<string> Different);

/// <summary>A customer or foreign key a person's records share (shared keys link records without a score).</summary>
public sealed record StitchedKey(string Key, string Value);

/// <summary>
/// Why a record belongs to its person: the person's records, the pairs over the threshold that joined them (with the
/// pairs under it among the same records, for contrast), the keys they share, and the customer 360 row.
/// </summary>
public sealed record StitchExplanation(
    StitchedRecord Record,
    IReadOnlyDictionary<string, object>? Customer,
    IReadOnlyList<StitchedRecord> Records,
    IReadOnlyList<StitchedPair> Pairs,
    IReadOnlyList<StitchedKey> Keys,
    bool Truncated);

/// <summary>A person of the customer 360 (<c>stitch.merged_customers</c>) as a list shows it.</summary>
public sealed record CustomerSummary(Guid AmperityId, string? FullName, string? Email, string? Phone, string? City, int RecordCount, IReadOnlyList<string> Sources);

/// <param name="Next">The <c>after</c> of the next page; null on the last.</param>
/// <param name="Stitched">Whether Stitch has made a customer 360 yet.</param>
public sealed record CustomerPage(IReadOnlyList<CustomerSummary> Customers, Guid? Next, bool Stitched);

/// <summary>Reads Stitch's result: the customer 360, and why a record belongs to its person.</summary>
public sealed class StitchQueries(NpgsqlDataSource db)
{
    private const int MaxRecords = 500;
    private const int MaxPairs = 2000;
    public const int MaxPageSize = 200;

    /// <summary>
    /// The customer 360, a page at a time in amperity_id order (keyset: never an offset), optionally only the people
    /// whose email starts with <paramref name="search"/> or whose name contains it (any case).
    /// </summary>
    public async Task<CustomerPage> CustomersAsync(string? search, Guid? after, int pageSize, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        if (!await StitchedAsync(connection, ct)) return new CustomerPage([], null, false);
        var (name, email, phone, city) = (ProfileField.FullName.Column(), ProfileField.Email.Column(), ProfileField.Phone.Column(), ProfileField.City.Column());
        var filter = string.IsNullOrWhiteSpace(search) ? "" : $" AND ({email} ILIKE $2 || '%' OR {name} ILIKE '%' || $2 || '%')";
        await using var cmd = new NpgsqlCommand($"""
            SELECT amperity_id, {name}, {email}, {phone}, {city}, record_count, sources FROM stitch.merged_customers
            WHERE ($1::uuid IS NULL OR amperity_id > $1){filter} ORDER BY amperity_id LIMIT {pageSize + 1}
            """, connection);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        // What was typed is matched as text: LIKE's wildcards in it are escaped.
        if (filter.Length > 0) cmd.Parameters.AddWithValue(search!.Trim().Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_"));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var customers = new List<CustomerSummary>();
        while (await reader.ReadAsync(ct))
            customers.Add(new CustomerSummary(reader.GetGuid(0), Text(reader, 1), Text(reader, 2), Text(reader, 3), Text(reader, 4), reader.GetInt32(5),
                reader.GetFieldValue<string[]>(6)));
        return customers.Count > pageSize ? new CustomerPage(customers[..pageSize], customers[pageSize - 1].AmperityId, true) : new CustomerPage(customers, null, true);
    }

    /// <summary>Why a person's records are one person, from any of its records.</summary>
    /// <returns>null when there is no result yet or no such person.</returns>
    public async Task<StitchExplanation?> ExplainCustomerAsync(Guid amperityId, CancellationToken ct)
    {
        string source, feed, pk;
        await using (var connection = await db.OpenConnectionAsync(ct))
        {
            if (!await StitchedAsync(connection, ct)) return null;
            await using var cmd = new NpgsqlCommand("SELECT source, feed, pk FROM stitch.unified_coalesced WHERE amperity_id = $1 ORDER BY source, feed, pk LIMIT 1", connection);
            cmd.Parameters.AddWithValue(amperityId);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct)) return null;
            (source, feed, pk) = (reader.GetString(0), reader.GetString(1), reader.GetString(2));
        }
        return await ExplainAsync(source, feed, pk, ct);
    }

    private static string? Text(NpgsqlDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetValue(i).ToString();

    private static async Task<bool> StitchedAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var exists = new NpgsqlCommand("SELECT to_regclass('stitch.merged_customers') IS NOT NULL AND to_regclass('stitch.unified_coalesced') IS NOT NULL", connection);
        return (bool)(await exists.ExecuteScalarAsync(ct))!;
    }

    /// <returns>null when there is no result yet or no such record.</returns>
    public async Task<StitchExplanation?> ExplainAsync(string source, string feed, string pk, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        if (!await StitchedAsync(connection, ct)) return null;
        var columns = "source, feed, pk, amperity_id, record_id, " + string.Join(", ", ProfileFields.All.Select(f => f.Column()));
        var found = await RecordsAsync(connection, $"SELECT {columns} FROM stitch.unified_coalesced WHERE source = $1 AND feed = $2 AND pk = $3",
            [source, feed, pk], ct);
        if (found.Count == 0) return null;
        var (record, _) = found[0];
        var members = await RecordsAsync(connection,
            $"SELECT {columns} FROM stitch.unified_coalesced WHERE amperity_id = $1 ORDER BY source, feed, pk LIMIT {MaxRecords + 1}", [record.AmperityId], ct);
        var truncated = members.Count > MaxRecords;
        var ids = members.Take(MaxRecords).Select(m => m.RecordId).ToArray();
        var pairs = new List<StitchedPair>();
        var comparisons = PairComparer.Comparisons;
        await using (var cmd = new NpgsqlCommand($"""
            SELECT source1, feed1, pk1, source2, feed2, pk2, match_weight, match_probability, matched,
                   {string.Join(", ", comparisons.Select(PairComparer.Name))}
            FROM stitch.unified_scores WHERE record1 = ANY($1) AND record2 = ANY($1)
            ORDER BY matched DESC, match_weight DESC LIMIT {MaxPairs}
            """, connection))
        {
            cmd.Parameters.AddWithValue(ids);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var levels = comparisons.Select((slot, i) => (Slot: slot, Level: (int)reader.GetInt16(9 + i))).Where(c => c.Level > 0).ToList();
                string[] With(Func<ProfileField, int, bool> which) =>
                    [.. levels.Where(c => which(c.Slot, c.Level)).Select(c => $"{PairComparer.Name(c.Slot)}: {PairComparer.Label(c.Slot, c.Level)}")];
                pairs.Add(new StitchedPair(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    reader.GetString(5), Math.Round(reader.GetFloat(6), 3), Math.Round(reader.GetFloat(7), 6), reader.GetBoolean(8),
                    With((slot, level) => level == PairComparer.Levels[(int)slot]),
                    With((slot, level) => level > 1 && level < PairComparer.Levels[(int)slot]),
                    With((_, level) => level == 1)));
            }
        }
        var keys = new List<StitchedKey>();
        await using (var cmd = new NpgsqlCommand("SELECT key, value FROM stitch.unified_keys WHERE amperity_id = $1 ORDER BY key, value LIMIT 1000", connection))
        {
            cmd.Parameters.AddWithValue(record.AmperityId);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) keys.Add(new StitchedKey(reader.GetString(0), reader.GetString(1)));
        }
        Dictionary<string, object>? customer = null;
        await using (var cmd = new NpgsqlCommand("SELECT * FROM stitch.merged_customers WHERE amperity_id = $1", connection))
        {
            cmd.Parameters.AddWithValue(record.AmperityId);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            if (await reader.ReadAsync(ct))
                customer = Enumerable.Range(0, reader.FieldCount).Where(i => !reader.IsDBNull(i))
                    .ToDictionary(reader.GetName, i => reader.GetValue(i) is DateTime date ? DateOnly.FromDateTime(date) : reader.GetValue(i));
        }
        return new StitchExplanation(record, customer, members.Take(MaxRecords).Select(m => m.Record).ToList(), pairs, keys, truncated);
    }

    private static async Task<List<(StitchedRecord Record, long RecordId)>> RecordsAsync(NpgsqlConnection connection, string sql, object[] parameters,
        CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var records = new List<(StitchedRecord, long)>();
        while (await reader.ReadAsync(ct))
        {
            var fields = new Dictionary<string, object>();
            for (var i = 5; i < reader.FieldCount; i++)
                if (!reader.IsDBNull(i))
                    fields[reader.GetName(i)] = reader.GetValue(i) is DateTime date ? DateOnly.FromDateTime(date) : reader.GetValue(i);
            records.Add((new StitchedRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetGuid(3), fields), reader.GetInt64(4)));
        }
        return records;
    }
}
