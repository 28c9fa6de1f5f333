using HeapDaemon.SampleData;
using Xunit;

namespace HeapDaemon.Tests.Heap;

public static class HeapTables
{
    /// <summary>The domain table holds exactly the expected rows, value for value (times compared as epoch milliseconds).</summary>
    public static async Task AssertAsync(Func<string, Task<List<Dictionary<string, object?>>>> query, string table, IReadOnlyDictionary<long, Row> expected)
    {
        var key = table switch { "users" => "user_id", "user_migrations" => "from_user_id", _ => "event_id" };
        var rows = (await query($"SELECT * FROM heap.{table}")).ToDictionary(r => (long)r[key]!);
        Assert.Equal(expected.Keys.Order(), rows.Keys.Order());
        foreach (var (id, row) in expected)
            foreach (var (column, value) in row)
                Assert.True(Equals(Normalize(value, column), Normalize(rows[id][column], column)),
                    $"{table} {key}={id} {column}: expected {value ?? "null"}, found {rows[id][column] ?? "null"}");
    }

    private static object? Normalize(object? value, string column) => value switch
    {
        DateTime t => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)).ToUnixTimeMilliseconds(),
        string s when column.EndsWith("_id", StringComparison.Ordinal) => long.Parse(s, System.Globalization.CultureInfo.InvariantCulture),
        _ => value,
    };
}
