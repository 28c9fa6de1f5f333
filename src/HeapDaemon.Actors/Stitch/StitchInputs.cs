using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Heap;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Json;
using HeapDaemon.Actors.Loading;
using Npgsql;

namespace HeapDaemon.Actors.Stitch;

/// <summary>A domain-table column that holds a profile field.</summary>
public sealed record InputColumn(ProfileField Field, string Column, FieldType Type);

/// <summary>A column whose values are customer keys (<c>ck</c>) or foreign keys (<c>fk-&lt;namespace&gt;</c>).</summary>
public sealed record KeyColumn(string Namespace, string Column);

/// <summary>
/// A domain table Stitch reads profile records from: a table with profile tags or a <c>ck</c>.
/// </summary>
/// <param name="ResolvedUserNamespace">
/// For Heap's users table: the fk namespace of <c>user_id</c>, in which each user also carries the user it was merged
/// into (from <c>user_migrations_resolved</c>), so an anonymous user and the identified user it became are one person.
/// </param>
public sealed record InputTable(
    int Index,
    DomainTableName Table,
    string FeedId,
    IReadOnlyList<InputColumn> Fields,
    string? UpdateColumn,
    FieldType? UpdateType,
    IReadOnlyList<KeyColumn> Keys,
    string? ResolvedUserNamespace)
{
    public string Source => Table.Schema;

    public string Feed => Table.Table;
}

/// <summary>A domain table with an <c>fk-&lt;namespace&gt;</c> field: it gets a <c>&lt;table&gt;_customers</c> view.</summary>
/// <param name="Profile">The table's own records when it is an input too (orders with a name and an email).</param>
public sealed record ForeignKeyTable(DomainTableName Table, KeyColumn Key, InputTable? Profile);

/// <param name="Fingerprint">Changes when tags or tables change: an incremental stitch is then a full one.</param>
/// <param name="Notices">Tables with profile tags that were left out, and why.</param>
public sealed record StitchInputSet(
    IReadOnlyList<InputTable> Tables, IReadOnlyList<ForeignKeyTable> ForeignKeyTables, string Fingerprint, IReadOnlyList<string> Notices);

/// <summary>Finds Stitch's inputs among the active feeds by their semantic tags, and reads their records.</summary>
public sealed class StitchInputs(NpgsqlDataSource db, FeedCatalog feeds)
{
    public async Task<StitchInputSet> DiscoverAsync(CancellationToken ct)
    {
        var tables = new List<InputTable>();
        var foreign = new List<ForeignKeyTable>();
        var notices = new List<string>();
        foreach (var record in (await feeds.ListAsync(ct)).Where(f => f.Active).OrderBy(f => f.Definition.Source, StringComparer.Ordinal)
                     .ThenBy(f => f.Definition.Name, StringComparer.Ordinal))
        {
            var feed = record.Definition;
            var columns = new List<InputColumn>();
            var keys = new List<KeyColumn>();
            string? update = null;
            FieldType? updateType = null;
            foreach (var field in feed.Fields)
            {
                foreach (var tag in field.Tags ?? [])
                {
                    if (ProfileFields.FromTag(tag) is { } profile) columns.Add(new InputColumn(profile, field.ColumnName, field.Type));
                    else if (tag == "ck" || tag.StartsWith("fk-", StringComparison.Ordinal)) keys.Add(new KeyColumn(tag, field.ColumnName));
                    else if (tag == "update-dt" && update is null && field.Type is FieldType.Date or FieldType.Datetime or FieldType.Integer)
                        (update, updateType) = (field.ColumnName, field.Type);
                }
            }
            InputTable? input = null;
            if (columns.Count > 0 && !columns.Any(c => c.Field.Identifies()) && !keys.Any(k => k.Namespace == "ck"))
                notices.Add($"{feed.Table} is not a profile source: {string.Join(", ", columns.Select(c => c.Field.Tag()).Distinct())} " +
                            "alone do not say who a record is (tag a name, email, phone, address, birthdate or ck to stitch it)");
            else if (columns.Count > 0 || keys.Any(k => k.Namespace == "ck"))
            {
                var userKey = keys.FirstOrDefault(k => k.Column == "user_id" && k.Namespace.StartsWith("fk-", StringComparison.Ordinal));
                var resolved = feed.Name == "users" && userKey is not null ? userKey.Namespace : null;
                input = new InputTable(tables.Count, feed.Table, feed.Id, columns, update, updateType, keys, resolved);
                tables.Add(input);
            }
            if (keys.FirstOrDefault(k => k.Namespace.StartsWith("fk-", StringComparison.Ordinal)) is { } fk)
                foreign.Add(new ForeignKeyTable(feed.Table, fk, input));
        }
        var fingerprint = Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(
            tables.Select(t => new { t.Table, t.Fields, t.UpdateColumn, t.Keys, t.ResolvedUserNamespace }), HeapJson.Options)))[..16];
        return new StitchInputSet(tables, foreign, fingerprint, notices);
    }

    /// <summary>
    /// Reads the records of <paramref name="tables"/> (the rows loaded since <paramref name="since"/>, or all) by binary
    /// COPY, every table on a connection of its own at once, each normalising its rows as they arrive; the normalised rows
    /// are placed by <paramref name="reader"/> on the caller's task, one at a time, in batches.
    /// </summary>
    /// <returns>How many rows were read.</returns>
    public async Task<long> ReadAsync(IReadOnlyList<InputTable> tables, RecordReader reader, DateTimeOffset? since, Action<long>? progress,
        CancellationToken ct)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var channel = Channel.CreateBounded<NormalizedRow[]>(new BoundedChannelOptions(16) { SingleReader = true });
        var producers = tables.Select(table => Task.Run(() => ProduceAsync(table, reader, since, channel.Writer, failed.Token), failed.Token)).ToArray();
        _ = Task.WhenAll(producers).ContinueWith(t => channel.Writer.TryComplete(t.Exception?.GetBaseException()), TaskScheduler.Default);
        long rows = 0;
        try
        {
            await foreach (var batch in channel.Reader.ReadAllAsync(failed.Token))
            {
                foreach (var row in batch) reader.Place(row);
                rows += batch.Length;
                progress?.Invoke(rows);
            }
        }
        catch
        {
            await failed.CancelAsync();
            throw;
        }
        await Task.WhenAll(producers);
        return rows;
    }

    private async Task ProduceAsync(InputTable table, RecordReader reader, DateTimeOffset? since, ChannelWriter<NormalizedRow[]> output, CancellationToken ct)
    {
        const int BatchRows = 2000;
        await using var connection = await db.OpenConnectionAsync(ct);
        var resolve = table.ResolvedUserNamespace is not null && await ExistsAsync(connection, $"{table.Source}.{HeapCourier.UserMigrations}_resolved", ct);
        var select = new List<string> { "t.\"_pk\"" };
        select.AddRange(table.Fields.Select(f => $"t.{Identifiers.Quote(f.Column)}::text"));
        select.Add(table.UpdateColumn is null ? "NULL::float8"
            : table.UpdateType == FieldType.Integer ? $"t.{Identifiers.Quote(table.UpdateColumn)}::float8"
            : $"extract(epoch FROM t.{Identifiers.Quote(table.UpdateColumn)})::float8");
        select.AddRange(table.Keys.Select(k => $"t.{Identifiers.Quote(k.Column)}::text"));
        var migrations = $"{Identifiers.Quote(table.Source)}.{Identifiers.Quote(HeapCourier.UserMigrations + "_resolved")}";
        if (resolve) select.Add("coalesce(m.to_user_id, t.user_id)::text");
        var from = $"{table.Table.Qualified} t" + (resolve ? $" LEFT JOIN {migrations} m ON m.from_user_id = t.user_id" : "");
        var where = since is { } watermark
            ? $" WHERE t.\"_loaded_at\" >= '{watermark.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}+00'" +
              (resolve ? " OR m.from_user_id IS NOT NULL" : "")
            : "";
        var keyCount = table.Keys.Count + (resolve ? 1 : 0);
        var batch = new List<NormalizedRow>(BatchRows);
        await using (var export = await connection.BeginBinaryExportAsync($"COPY (SELECT {string.Join(", ", select)} FROM {from}{where}) TO STDOUT (FORMAT BINARY)", ct))
        {
            while (await export.StartRowAsync(ct) != -1)
            {
                var pk = await export.ReadAsync<string>(ct);
                var values = new string?[table.Fields.Count];
                for (var i = 0; i < values.Length; i++) values[i] = export.IsNull ? Skip(export) : await export.ReadAsync<string>(ct);
                double updated = export.IsNull ? Skip(export, double.NaN) : await export.ReadAsync<double>(ct);
                var keys = new string?[keyCount];
                for (var i = 0; i < keys.Length; i++) keys[i] = export.IsNull ? Skip(export) : await export.ReadAsync<string>(ct);
                batch.Add(reader.Normalize(table, pk, values, updated, keys));
                if (batch.Count < BatchRows) continue;
                await output.WriteAsync([.. batch], ct);
                batch.Clear();
            }
        }
        if (batch.Count > 0) await output.WriteAsync([.. batch], ct);
    }

    /// <summary>Every primary key of a table now (to find records deleted since the last stitch).</summary>
    public async Task<HashSet<string>> KeysAsync(InputTable table, CancellationToken ct)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var export = await connection.BeginBinaryExportAsync($"COPY (SELECT \"_pk\" FROM {table.Table.Qualified}) TO STDOUT (FORMAT BINARY)", ct);
        while (await export.StartRowAsync(ct) != -1) keys.Add(await export.ReadAsync<string>(ct));
        return keys;
    }

    /// <summary>Whether a courier run inserted or updated rows of a table Stitch reads, or of the user_migrations its Heap users are read through.</summary>
    public async Task<bool> RunChangedInputsAsync(Guid runId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            "SELECT DISTINCT feed_id FROM heapd.run_files WHERE run_id = $1 AND rows_inserted + rows_updated > 0");
        cmd.Parameters.AddWithValue(runId);
        var changed = new List<string>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) changed.Add(reader.GetString(0));
        if (changed.Count == 0) return false;
        var inputs = await DiscoverAsync(ct);
        if (inputs.Tables.Any(t => changed.Contains(t.FeedId))) return true;
        // A Heap sync that only moved users (user_migrations) changes who its users are: their table is read resolved.
        var migrated = (await feeds.ListAsync(ct)).Where(f => changed.Contains(f.Definition.Id) && f.Definition.Name == HeapCourier.UserMigrations)
            .Select(f => f.Definition.Source).ToHashSet(StringComparer.Ordinal);
        return inputs.Tables.Any(t => t.ResolvedUserNamespace is not null && migrated.Contains(t.Source));
    }

    public async Task<long> CountAsync(InputTable table, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"SELECT count(*) FROM {table.Table.Qualified}");
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static T? Skip<T>(NpgsqlBinaryExporter export, T? value = default)
    {
        export.Skip();
        return value;
    }

    private static string? Skip(NpgsqlBinaryExporter export)
    {
        export.Skip();
        return null;
    }

    private static async Task<bool> ExistsAsync(NpgsqlConnection connection, string relation, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", connection);
        cmd.Parameters.AddWithValue(relation);
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }
}

/// <summary>
/// Turns one row of an input table into a profile record: normalises each tagged value, drops bad values, joins
/// address parts, splits a full name where given name or surname are missing, and collects the record's keys.
/// </summary>
public sealed class RecordReader(ProfileRecords records, ProfileNormalizer normalizer, BadValues bad)
{
    /// <summary>Called with each record once it is placed (an incremental stitch compares it with the version it had).</summary>
    public Action<int>? Placed { get; set; }

    /// <summary>Normalises one row (safe on any thread: it touches no shared state).</summary>
    public NormalizedRow Normalize(InputTable table, string pk, string?[] values, double updated, string?[] keys)
    {
        var fields = new Normalized[ProfileFields.Count];
        StringBuilder? address = null;
        for (var i = 0; i < table.Fields.Count; i++)
        {
            var (field, _, _) = table.Fields[i];
            var raw = values[i];
            if (string.IsNullOrWhiteSpace(raw)) continue;
            if (field == ProfileField.Address)
            {
                // Several address fields are parts of one line, in field order (street number, then street).
                address ??= new StringBuilder();
                if (address.Length > 0) address.Append(' ');
                address.Append(raw.Trim());
                continue;
            }
            if (!fields[(int)field].IsEmpty) continue;
            fields[(int)field] = Clean(field, normalizer.Normalize(field, raw));
        }
        if (address is not null) fields[(int)ProfileField.Address] = Clean(ProfileField.Address, normalizer.Normalize(ProfileField.Address, address.ToString()));
        var (givenSeen, surnameSeen) = (!fields[(int)ProfileField.GivenName].IsEmpty, !fields[(int)ProfileField.Surname].IsEmpty);
        if (!fields[(int)ProfileField.FullName].IsEmpty && !(givenSeen && surnameSeen))
        {
            var (given, surname) = normalizer.SplitFullName(fields[(int)ProfileField.FullName].Display);
            if (!givenSeen) fields[(int)ProfileField.GivenName] = Clean(ProfileField.GivenName, given);
            if (!surnameSeen) fields[(int)ProfileField.Surname] = Clean(ProfileField.Surname, surname);
        }
        List<(string Namespace, string Value)>? found = null;
        for (var i = 0; i < keys.Length; i++)
        {
            var value = keys[i]?.Trim();
            if (string.IsNullOrEmpty(value) || bad.IsBadKey(value)) continue;
            var ns = i < table.Keys.Count ? table.Keys[i].Namespace : table.ResolvedUserNamespace!;
            found ??= [];
            if (!found.Contains((ns, value))) found.Add((ns, value));
        }
        return new NormalizedRow(table.Index, pk, fields, updated, found);
    }

    /// <summary>Adds a normalised row as a record (on one thread at a time: it interns into the shared pools).</summary>
    public int Place(NormalizedRow row)
    {
        var record = records.Add(row.Table, row.Pk);
        for (var f = 0; f < ProfileFields.Count; f++)
            if (!row.Fields[f].IsEmpty) records.Set(record, (ProfileField)f, row.Fields[f]);
        records.Updated[record] = row.Updated;
        if (row.Keys is { } keys)
        {
            var ids = keys.Select(k => records.KeyOf(k.Namespace, k.Value)).Distinct().Order().ToArray();
            records.SetKeys(record, ids);
        }
        Placed?.Invoke(record);
        return record;
    }

    /// <summary>Normalises and places one row.</summary>
    public int Read(InputTable table, string pk, string?[] values, double updated, string?[] keys) =>
        Place(Normalize(table, pk, values, updated, keys));

    private Normalized Clean(ProfileField field, Normalized value) => value.Key is { } key && bad.IsBad(field, key) ? Normalized.None : value;
}

/// <summary>A row as Stitch compares it, before its values are interned: each field's value (by <see cref="ProfileField"/>) and its keys.</summary>
public sealed record NormalizedRow(int Table, string Pk, Normalized[] Fields, double Updated, List<(string Namespace, string Value)>? Keys);
