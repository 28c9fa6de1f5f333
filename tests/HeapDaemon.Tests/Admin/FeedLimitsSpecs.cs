using System.Net;
using System.Net.Http.Json;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Tests.Support;
using Npgsql;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>
/// A feed PostgreSQL cannot hold is refused when it is saved, with the limit it passes; a refusal PostgreSQL gives
/// anyway is reported in its words, never as "cannot reach PostgreSQL".
/// </summary>
public sealed class FeedLimitsSpecs : DaemonSpecs
{
    [Fact]
    public async Task A_feed_of_1702_fields_is_refused_when_saved_and_nothing_is_kept()
    {
        var response = await Api.PostAsJsonAsync("/api/feeds", Body("wide", Fields(1702, _ => FieldType.String)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("a feed has at most 1595 fields: PostgreSQL allows 1600 columns in a table and the domain table adds 5 system columns; this one has 1702",
            await response.Content.ReadAsStringAsync());
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.feeds"));
    }

    [Fact]
    public async Task The_widest_feed_of_text_fields_activates()
    {
        await Api.PostOkAsync("/api/feeds", Body("widest", Fields(1595, _ => FieldType.String)));

        await Api.PostOkAsync("/api/feeds/heap-widest/activate");

        Assert.Equal(1600L, (await QueryAsync("SELECT count(*) AS n FROM information_schema.columns WHERE table_schema = 'heap' AND table_name = 'widest'"))[0]["n"]);
    }

    /// <summary>
    /// The row-size rule matches PostgreSQL's own: the widest feed it accepts stores a row with every field set, and
    /// one field more, which it refuses, makes a table that PostgreSQL refuses that row in.
    /// </summary>
    [Theory]
    [InlineData("integer")]
    [InlineData("mixed")]
    public async Task A_feed_whose_rows_cannot_fit_a_PostgreSQL_page_is_refused_at_the_exact_limit(string kind)
    {
        FieldType[] cycle = kind == "integer" ? [FieldType.Integer]
            : [FieldType.Boolean, FieldType.Integer, FieldType.Date, FieldType.String, FieldType.Float, FieldType.Decimal, FieldType.Datetime, FieldType.Boolean];
        var n = 1;
        while (PostgresLimits.MinimumRowBytes(Fields(n + 1, i => cycle[i % cycle.Length])) <= PostgresLimits.MaxRowBytes) n++;
        var fits = Fields(n, i => cycle[i % cycle.Length]);
        var tooWide = Fields(n + 1, i => cycle[i % cycle.Length]);

        await Api.PostOkAsync("/api/feeds", Body($"fits_{kind}", fits));
        await Api.PostOkAsync($"/api/feeds/heap-fits_{kind}/activate");
        await InsertFullRowAsync($"fits_{kind}", fits);
        var refused = await Api.PostAsJsonAsync("/api/feeds", Body($"too_wide_{kind}", tooWide));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains($"a row with every field set takes at least {PostgresLimits.MinimumRowBytes(tooWide)} bytes; PostgreSQL stores at most 8160",
            await refused.Content.ReadAsStringAsync());
        // The same table made without the daemon's check: PostgreSQL refuses the row.
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await DomainTableSchema.EnsureAsync(connection, transaction, Definition($"too_wide_{kind}", tooWide), CancellationToken.None);
            await transaction.CommitAsync();
        }
        var error = await Assert.ThrowsAsync<PostgresException>(() => InsertFullRowAsync($"too_wide_{kind}", tooWide));
        Assert.Equal("54000", error.SqlState);
    }

    [Fact]
    public async Task Activating_a_feed_PostgreSQL_refuses_answers_PostgreSQLs_reason_not_unreachable()
    {
        // Saved by a daemon from before the check.
        var feed = Definition("legacy", Fields(1700, _ => FieldType.String));
        await using (var db = NpgsqlDataSource.Create(ConnectionString))
        await using (var insert = db.CreateCommand("INSERT INTO heapd.feeds (id, source, name, definition) VALUES ($1, $2, $3, $4::jsonb)"))
        {
            foreach (var value in new object[] { feed.Id, feed.Source, feed.Name, System.Text.Json.JsonSerializer.Serialize(feed, DaemonHost.Json) })
                insert.Parameters.AddWithValue(value);
            await insert.ExecuteNonQueryAsync();
        }

        var response = await Api.PostAsync("/api/feeds/heap-legacy/activate", null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("feed 'heap-legacy' cannot be activated: PostgreSQL refused: tables can have at most 1600 columns (SQLSTATE 54011)", text);
        Assert.DoesNotContain("cannot reach", text);
        Assert.False((bool)(await QueryAsync("SELECT active FROM heapd.feeds WHERE id = 'heap-legacy'"))[0]["active"]!);
    }

    [Fact]
    public async Task A_PostgreSQL_refusal_on_any_route_is_answered_in_its_words_not_as_unreachable()
    {
        await EnsureUsersFeedAsync();
        await QueryAsync("DROP TABLE heap.users");

        var response = await Api.GetAsync("/api/domain-tables/Heap:Users/rows");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var problem = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("PostgreSQL refused what the daemon asked", problem.GetProperty("title").GetString());
        Assert.StartsWith("PostgreSQL refused: relation \"heap.users\" does not exist", problem.GetProperty("detail").GetString());
        Assert.Equal("42P01", problem.GetProperty("sqlState").GetString());
    }

    [Fact]
    public async Task New_columns_a_row_could_not_hold_fail_the_file_and_are_not_added_to_the_feed()
    {
        var fields = Fields(1000, _ => FieldType.Integer);
        await Api.PostOkAsync("/api/feeds", Body("drift", fields, newColumns: "add"));
        await Api.PostOkAsync("/api/feeds/heap-drift/activate");
        var names = fields.Select(f => f.Name).Concat(Enumerable.Range(0, 200).Select(i => $"extra_{i}")).ToList();
        await TestEnvironment.PutAsync(S3, Bucket, "drift.csv", string.Join(",", names) + "\n" + string.Join(",", names.Select(_ => "1")) + "\n");
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "drift", credentialId = "moto", files = new[] { new { key = "drift.csv", feedId = "heap-drift" } } });

        var run = await Api.RunAsync("drift");

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("new column(s) 'extra_0', 'extra_1'", run.GetProperty("files")[0].GetProperty("message").GetString());
        Assert.Contains("PostgreSQL stores at most 8160", run.GetProperty("files")[0].GetProperty("message").GetString());
        Assert.Equal(1000, (await Api.GetOkAsync("/api/feeds/heap-drift")).GetProperty("feed").GetProperty("fields").GetArrayLength());
    }

    private static List<FeedField> Fields(int count, Func<int, FieldType> type) =>
        Enumerable.Range(0, count).Select(i => new FeedField($"f{i}", i == 0 ? FieldType.Integer : type(i), PrimaryKey: i == 0, Tags: [])).ToList();

    private static FeedDefinition Definition(string name, IEnumerable<FeedField> fields) => new($"heap-{name.Replace('_', '-')}", "heap", name, [.. fields]);

    private static object Body(string name, IEnumerable<FeedField> fields, string newColumns = "fail") => new
    {
        source = "heap",
        name,
        newColumns,
        fields = fields.Select(f => new { name = f.Name, type = f.Type.ToString().ToLowerInvariant(), primaryKey = f.PrimaryKey, tags = Array.Empty<string>() }),
    };

    /// <summary>A row with every column set, each to its smallest value.</summary>
    private async Task InsertFullRowAsync(string table, IReadOnlyList<FeedField> fields)
    {
        var values = fields.Select(f => f.Type switch
        {
            FieldType.Boolean => "true",
            FieldType.Integer => "1",
            FieldType.Float => "1",
            FieldType.Date => "'2026-01-01'",
            FieldType.Datetime => "now()",
            FieldType.Decimal => "0",
            _ => "''",
        });
        await QueryAsync($"""
            INSERT INTO heap.{table} ({string.Join(", ", fields.Select(f => f.Name))}, _pk, _uuid_pk, _updated, _source_file)
            VALUES ({string.Join(", ", values)}, '1', gen_random_uuid(), 1, 'x')
            """);
    }
}
