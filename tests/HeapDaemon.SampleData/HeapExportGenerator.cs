namespace HeapDaemon.SampleData;

/// <summary>
/// Writes a Heap Connect for S3 export as Heap lays it out (manifests/sync_&lt;dump_id&gt;.json, and
/// sync_&lt;dump_id&gt;/&lt;table&gt;/part-NNNNN-&lt;uuid&gt;-c000.avro with the snappy codec), deterministic from a seed.
/// Three dumps by default, with ids 998, 999 and 1000, so that ordering them as text would be wrong:
/// <list type="bullet">
/// <item>998: every table full (a first sync): users, sessions, pageviews, the event table click_button, user_migrations.</item>
/// <item>999: incremental users with a new property column <c>plan</c>, changed users, a re-delivered user that is
/// older than the stored one (it must not win), new users; incremental pageviews, sessions and click_button with
/// re-delivered events; a new event table sign_up (full); user merges including a chain.</item>
/// <item>1000: click_button as a full resync that drops some events; incremental pageviews with a re-delivered
/// event at the same time but a new title (the later load wins the tie); a longer merge chain.</item>
/// </list>
/// <see cref="Generate"/> may go on with more incremental dumps, each a sync of every table in several part files.
/// Ids are numbers below 2^53 as Heap's are; times are epoch milliseconds; from_user_id is written as a numeric
/// string (as Stitch saw it), every other id as a long.
/// </summary>
public sealed class HeapExportGenerator(int seed, string bucket, string prefix = "", long firstDumpId = 998)
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly (string Name, string Type)[] UserColumns =
        [("user_id", "long"), ("joindate", "long"), ("last_modified", "long"), ("identity", "?string"), ("handle", "?string"), ("email", "?string")];

    private static readonly (string Name, string Type)[] EventColumns =
        [("event_id", "long"), ("user_id", "long"), ("session_id", "long"), ("time", "long"), ("library", "?string")];

    private static readonly (string Name, string Type)[] PageviewColumns = [.. EventColumns, ("path", "?string"), ("title", "?string")];
    private static readonly (string Name, string Type)[] SessionColumns = [.. EventColumns, ("referrer", "?string"), ("country", "?string")];
    private static readonly (string Name, string Type)[] ClickColumns = [.. EventColumns, ("type", "?string"), ("target_text", "?string")];
    private static readonly (string Name, string Type)[] SignUpColumns = [.. EventColumns, ("type", "?string"), ("plan_chosen", "?string")];
    private static readonly (string Name, string Type)[] MigrationColumns = [("from_user_id", "string"), ("to_user_id", "long"), ("time", "long")];

    private readonly string _bucket = bucket;
    private readonly string _prefix = prefix;
    private readonly Random _random = new(seed);
    private readonly List<ExportObject> _objects = [];
    private readonly Dictionary<string, Dictionary<long, Row>> _expected = new(StringComparer.Ordinal);
    private readonly HashSet<long> _ids = [];
    private readonly List<long> _dumpIds = [];
    private List<long> _users = [];
    private long _clock = Start.ToUnixTimeMilliseconds();

    /// <param name="moreDumps">Incremental dumps after the three: changed users and an older copy of one (it must not
    /// win), new events with a few of the first dump's delivered again, and user_migrations whole again; each table in
    /// two to four part files, so that a dump takes a while to load.</param>
    public HeapExport Generate(int moreDumps = 0)
    {
        _users = Enumerable.Range(0, 15).Select(_ => NewId()).ToList();
        var identified = new Dictionary<long, Row>();

        // Dump 1: everything full.
        var dump = NewDump();
        var users = Enumerable.Range(0, 10).Select(i => User(i, plan: null, withPlan: false)).ToList();
        var sessions = Events(12, 0, 10, SessionColumns);
        var pageviews = Events(30, 0, 10, PageviewColumns);
        var clicks = Events(15, 0, 10, ClickColumns);
        List<Row> migrations = [Migration(5, 0)];
        dump.Table("users", UserColumns, false, users, 1);
        dump.Table("sessions", SessionColumns, false, sessions, 1);
        dump.Table("pageviews", PageviewColumns, false, pageviews, 2);
        dump.Table("click_button", ClickColumns, false, clicks, 1);
        dump.Table("user_migrations", MigrationColumns, false, migrations, 1);
        dump.Write();

        // Dump 2: incremental, a new user property, a new event table, merges with a chain.
        dump = NewDump();
        (string, string)[] usersWithPlan = [.. UserColumns, ("plan", "?string")];
        var changed = new[] { 1, 2 }.Select(i => User(i, plan: "pro", withPlan: true, email: $"new{i}@example.com")).ToList();
        var older = new Row(_expected["users"][_users[3]]) { ["email"] = "stale@example.com", ["plan"] = "free" };
        older["last_modified"] = (long)older["last_modified"]! - 3_600_000; // an older copy: must not overwrite
        var added = Enumerable.Range(10, 4).Select(i => User(i, plan: "free", withPlan: true)).ToList();
        dump.Table("users", usersWithPlan, true, [.. changed, older, .. added], 1);
        dump.Table("pageviews", PageviewColumns, true, [.. Events(20, 0, 14, PageviewColumns), .. pageviews.Take(3)], 2);
        dump.Table("sessions", SessionColumns, true, Events(6, 0, 14, SessionColumns), 1);
        dump.Table("click_button", ClickColumns, true, [.. Events(5, 0, 14, ClickColumns), clicks[4]], 1);
        var signUps = Events(4, 0, 14, SignUpColumns);
        dump.Table("sign_up", SignUpColumns, false, signUps, 1);
        migrations = [.. migrations, Migration(10, 1), Migration(11, 10)];
        dump.Table("user_migrations", MigrationColumns, false, migrations, 1);
        dump.Write();

        // Dump 3: a full resync of one event table, a tie on time, a longer chain.
        dump = NewDump();
        dump.Table("users", usersWithPlan, true, [User(10, plan: "team", withPlan: true, email: "ten@example.com", identity: "cust-10"), User(14, plan: null, withPlan: true)], 1);
        var keptClicks = _expected["click_button"].Values.Where((_, i) => i % 2 == 0).Select(r => new Row(r)).ToList();
        dump.Table("click_button", ClickColumns, false, [.. keptClicks, .. Events(3, 0, 15, ClickColumns)], 2);
        var retitled = new Row(pageviews[5]) { ["title"] = "Retitled" };
        dump.Table("pageviews", PageviewColumns, true, [.. Events(10, 0, 15, PageviewColumns), retitled], 2);
        dump.Table("sign_up", SignUpColumns, true, Events(2, 0, 15, SignUpColumns), 1);
        migrations = [.. migrations, Migration(12, 11), Migration(13, 2)];
        dump.Table("user_migrations", MigrationColumns, false, migrations, 1);
        dump.Write();

        for (var more = 0; more < moreDumps; more++)
        {
            dump = NewDump();
            var stale = new Row(_expected["users"][_users[(more + 7) % 15]]) { ["email"] = "stale@example.com", ["plan"] = "free" };
            stale["last_modified"] = (long)stale["last_modified"]! - 3_600_000;
            dump.Table("users", usersWithPlan, true, [User(more % 15, plan: "pro", withPlan: true, email: $"more{more}@example.com"), stale], 2);
            dump.Table("pageviews", PageviewColumns, true, [.. Events(12, 0, 15, PageviewColumns), .. pageviews.Skip(10 + more % 20).Take(2)], 4);
            dump.Table("sessions", SessionColumns, true, [.. Events(6, 0, 15, SessionColumns), .. sessions.Skip(more % 12).Take(1)], 3);
            dump.Table("click_button", ClickColumns, true, Events(6, 0, 15, ClickColumns), 3);
            dump.Table("sign_up", SignUpColumns, true, Events(3, 0, 15, SignUpColumns), 2);
            dump.Table("user_migrations", MigrationColumns, false, migrations, 1);
            dump.Write();
        }

        var finalUser = FinalUsers(_expected["user_migrations"].Values);
        return new HeapExport(_bucket, _prefix, _dumpIds, _objects,
            _expected.ToDictionary(t => t.Key, t => (IReadOnlyDictionary<long, Row>)t.Value, StringComparer.Ordinal), finalUser);
    }

    /// <summary>
    /// A wide export, as a large Heap account writes it: users, pageviews, sessions and <paramref name="eventTables"/>
    /// event tables, in <paramref name="dumps"/> dumps of <paramref name="parts"/> part files per table, each part about
    /// <paramref name="rowsPerPart"/> rows. The first dump is full; the later ones upsert new events, a few events
    /// delivered again, and changed users. Many small files: what the per-file costs of a load show on.
    /// </summary>
    public HeapExport GenerateWide(int eventTables = 120, int dumps = 6, int parts = 2, int rowsPerPart = 40)
    {
        _users = Enumerable.Range(0, 200).Select(_ => NewId()).ToList();
        var tables = new[] { ("pageviews", PageviewColumns), ("sessions", SessionColumns) }
            .Concat(Enumerable.Range(0, eventTables).Select(i => ($"event_{i:D3}", ClickColumns))).ToList();
        var rows = rowsPerPart * parts;
        var earlier = new Dictionary<string, List<Row>>(StringComparer.Ordinal);
        for (var d = 0; d < dumps; d++)
        {
            var dump = NewDump();
            var incremental = d > 0;
            var users = Enumerable.Range(0, rows).Select(i => User((d * rows / 2 + i) % _users.Count, plan: null, withPlan: false)).ToList();
            dump.Table("users", UserColumns, incremental, users, parts);
            foreach (var (name, columns) in tables)
            {
                // From the second dump on, a few events of the dump before are delivered again.
                var again = earlier.TryGetValue(name, out var before) ? before.Take(2).Select(r => new Row(r)).ToList() : [];
                var events = Events(rows - again.Count, 0, _users.Count, columns);
                dump.Table(name, columns, incremental, [.. events, .. again], parts);
                earlier[name] = events;
            }
            dump.Write();
        }
        return new HeapExport(_bucket, _prefix, _dumpIds, _objects,
            _expected.ToDictionary(t => t.Key, t => (IReadOnlyDictionary<long, Row>)t.Value, StringComparer.Ordinal), new Dictionary<long, long>());
    }

    /// <summary>Each merged user's final user: migrations followed to the end of their chain (the test's own resolution).</summary>
    private static Dictionary<long, long> FinalUsers(IEnumerable<Row> migrations)
    {
        var to = migrations.ToDictionary(m => m.Long("from_user_id"), m => m.Long("to_user_id"));
        return to.Keys.ToDictionary(from => from, from =>
        {
            var user = from;
            var seen = new HashSet<long>();
            while (to.TryGetValue(user, out var next) && seen.Add(user)) user = next;
            return user;
        });
    }

    private Dump NewDump()
    {
        var id = firstDumpId + _dumpIds.Count;
        _dumpIds.Add(id);
        return new Dump(this, id);
    }

    private long NewId()
    {
        while (true)
            if (_ids.Add(_random.NextInt64(1, 1L << 53))) return _ids.Last();
    }

    private long Tick() => _clock += _random.Next(1_000, 600_000);

    private Row User(int i, string? plan, bool withPlan, string? email = null, string? identity = null)
    {
        var known = i < 5 || identity is not null;
        var row = new Row
        {
            ["user_id"] = _users[i],
            ["joindate"] = Start.ToUnixTimeMilliseconds() - (i + 1) * 86_400_000L,
            ["last_modified"] = Tick(),
            ["identity"] = identity ?? (known ? $"cust-{i}" : null),
            ["handle"] = known ? $"handle-{i}" : null,
            ["email"] = email ?? (known ? $"user{i}@example.com" : null),
        };
        if (withPlan) row["plan"] = plan;
        return row;
    }

    private List<Row> Events(int count, int firstUser, int userCount, (string Name, string Type)[] columns) =>
        Enumerable.Range(0, count).Select(_ =>
        {
            var row = new Row
            {
                ["event_id"] = NewId(),
                ["user_id"] = _users[firstUser + _random.Next(userCount)],
                ["session_id"] = NewId(),
                ["time"] = Tick(),
                ["library"] = _random.Next(4) == 0 ? "iOS" : "web",
            };
            foreach (var (name, _) in columns.Skip(EventColumns.Length))
                row[name] = _random.Next(5) == 0 ? null : $"{name}-{_random.Next(1000)}";
            return row;
        }).ToList();

    private Row Migration(int from, int to) =>
        new() { ["from_user_id"] = _users[from].ToString(System.Globalization.CultureInfo.InvariantCulture), ["to_user_id"] = _users[to], ["time"] = Tick() };

    private static string KeyOf(string table) => table switch
    {
        "users" => "user_id",
        "user_migrations" => "from_user_id",
        _ => "event_id",
    };

    private static string? LastUpdatedOf(string table) => table switch
    {
        "users" => "last_modified",
        "user_migrations" => null,
        _ => "time",
    };

    /// <summary>What a correct consumer does with a table of a dump.</summary>
    private void Apply(string table, bool incremental, IEnumerable<Row> rows)
    {
        if (!incremental || table == "user_migrations" || !_expected.ContainsKey(table)) _expected[table] = [];
        var stored = _expected[table];
        var (key, lastUpdated) = (KeyOf(table), LastUpdatedOf(table));
        foreach (var row in rows)
        {
            var id = row.Long(key);
            // Newest wins; a tie goes to the later file (and row).
            if (lastUpdated is not null && stored.TryGetValue(id, out var old) && old.Long(lastUpdated) > row.Long(lastUpdated)) continue;
            stored[id] = new Row(row);
        }
    }

    private sealed class Dump(HeapExportGenerator generator, long id)
    {
        private readonly List<object> _tables = [];

        public void Table(string name, (string Name, string Type)[] columns, bool incremental, List<Row> rows, int parts)
        {
            var files = new List<string>();
            var perPart = (rows.Count + parts - 1) / parts;
            for (var part = 0; part < parts; part++)
            {
                var key = $"{generator._prefix}sync_{id}/{name}/part-{part:D5}-{Guid(generator._random)}-c000.avro";
                generator._objects.Add(new ExportObject(key, HeapFiles.Avro(name, columns, rows.Skip(part * perPart).Take(perPart))));
                files.Add($"s3://{generator._bucket}/{key}");
            }
            _tables.Add(new { name, columns = columns.Select(c => c.Name), files, incremental, row_count = rows.Count });
            generator.Apply(name, incremental, rows);
        }

        /// <summary>The manifest, with a field Heap may add that a reader must ignore.</summary>
        public void Write() => generator._objects.Add(new ExportObject($"{generator._prefix}manifests/sync_{id}.json", HeapFiles.Manifest(id, _tables)));

        private static string Guid(Random random)
        {
            var bytes = new byte[16];
            random.NextBytes(bytes);
            return new System.Guid(bytes).ToString();
        }
    }
}
