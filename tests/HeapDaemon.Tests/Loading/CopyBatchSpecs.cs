using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Tests.Support;
using Npgsql;
using NpgsqlTypes;
using Xunit;

namespace HeapDaemon.Tests.Loading;

/// <summary>
/// Rows encoded by <see cref="CopyBatch"/> and sent as raw binary COPY must store exactly what Npgsql's own typed
/// writes of the same values store, for every column type a feed has and their edge values.
/// </summary>
public sealed class CopyBatchSpecs : IAsyncLifetime
{
    private static readonly NpgsqlDbType[] Types =
    [
        NpgsqlDbType.Text, NpgsqlDbType.Bigint, NpgsqlDbType.Double, NpgsqlDbType.Boolean, NpgsqlDbType.Numeric, NpgsqlDbType.Date,
        NpgsqlDbType.TimestampTz,
    ];

    private const string Columns = "t, i, d, b, n, dt, ts, \"_pk\", \"_uuid_pk\", \"_updated\", \"_source_file\"";

    private string _connectionString = "";

    public async Task InitializeAsync() => _connectionString = await TestEnvironment.CreateDatabaseAsync();

    public Task DisposeAsync() => TestEnvironment.DropDatabaseAsync(_connectionString);

    public static TheoryData<object?[]> Values() => new()
    {
        new object?[] { "", 0L, 0.0, false, 0m, new DateOnly(2000, 1, 1), new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc) },
        new object?[] { "héllo ✓ 𝄞", long.MinValue, -0.0, true, -0.5m, new DateOnly(1999, 12, 31), new DateTime(1969, 7, 20, 20, 17, 40, DateTimeKind.Utc).AddTicks(1234567) },
        new object?[] { new string('x', 10_000), long.MaxValue, 1.5e300, true, 123.4500m, new DateOnly(1970, 1, 1), new DateTime(2026, 11, 27, 10, 0, 0, DateTimeKind.Utc).AddTicks(9_999_999) },
        new object?[] { "a\tb\nc\\d\"e", -1L, double.NaN, false, 0.0000000000000000000000000001m, new DateOnly(2026, 11, 27), DateTime.MinValue },
        new object?[] { "x", 1L, double.PositiveInfinity, true, decimal.MaxValue, DateOnly.MinValue, DateTime.MaxValue },
        new object?[] { "y", 2L, -1e-300, false, decimal.MinValue, DateOnly.MaxValue, new DateTime(1, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(1) },
        new object?[] { "z", 3L, 3.25, true, 10000m, new DateOnly(1, 1, 2), new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(-5) },
        new object?[] { "w", 4L, 1.0, false, 0.0001m, null, null },
        new object?[] { null, null, null, null, -12345678.90123m, null, null },
        new object?[] { null, null, null, null, 1.0m, null, null },
        new object?[] { null, null, null, null, 100m, null, null },
        new object?[] { null, null, null, null, -0.0m, null, null },
        new object?[] { null, null, null, null, null, null, null },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public async Task Encoded_rows_store_what_Npgsql_typed_writes_store(object?[] values)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        const string table = "(t text, i bigint, d double precision, b boolean, n numeric, dt date, ts timestamptz, " +
                             "\"_pk\" text, \"_uuid_pk\" uuid, \"_updated\" bigint, \"_source_file\" text)";
        await Execute(connection, $"CREATE TABLE encoded {table}; CREATE TABLE written {table}; SET TIME ZONE 'UTC'");
        var row = new AcceptedRow(42, "key ✓", Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"), values);

        var batch = CopyBatch.Encode(Columns, [row, row], Types, line => line * 10, "s3://bucket/file.csv");
        await using (var copy = await connection.BeginRawBinaryCopyAsync($"COPY encoded ({Columns}) FROM STDIN (FORMAT BINARY)"))
        {
            await copy.WriteAsync(CopyBatch.Header);
            await copy.WriteAsync(batch.Data);
            await copy.WriteAsync(CopyBatch.Trailer);
        }
        batch.Release();
        await using (var importer = await connection.BeginBinaryImportAsync($"COPY written ({Columns}) FROM STDIN (FORMAT BINARY)"))
        {
            for (var copies = 0; copies < 2; copies++)
            {
                await importer.StartRowAsync();
                for (var i = 0; i < Types.Length; i++)
                {
                    if (values[i] is null) await importer.WriteNullAsync();
                    else await importer.WriteAsync(values[i], Types[i]);
                }
                await importer.WriteAsync(row.Pk, NpgsqlDbType.Text);
                await importer.WriteAsync(row.UuidPk, NpgsqlDbType.Uuid);
                await importer.WriteAsync(420L, NpgsqlDbType.Bigint);
                await importer.WriteAsync("s3://bucket/file.csv", NpgsqlDbType.Text);
            }
            await importer.CompleteAsync();
        }

        // As text, so a numeric's scale, a double's sign of zero and a timestamp's microseconds all count.
        const string asText = "SELECT t, i::text, d::text, b::text, n::text, dt::text, ts::text, \"_pk\", \"_uuid_pk\"::text, \"_updated\"::text, \"_source_file\" FROM ";
        Assert.Equal(await RowsAsync(connection, asText + "written"), await RowsAsync(connection, asText + "encoded"));
        Assert.Equal(2, (await RowsAsync(connection, asText + "encoded")).Count);
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> RowsAsync(NpgsqlConnection connection, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
            rows.Add(string.Join(" | ", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "NULL" : reader.GetString(i))));
        return rows;
    }
}
