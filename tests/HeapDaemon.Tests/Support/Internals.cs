using System.Text.RegularExpressions;
using Xunit;

namespace HeapDaemon.Tests.Support;

/// <summary>
/// What a user must never read in an answer or a run message: a .NET type name, an exception's name, a stack frame.
/// Every HTTP answer the tests receive through <see cref="DaemonHost.Api"/> passes here, and every run's and file's
/// message when a test class's database is dropped.
/// </summary>
public static partial class Internals
{
    public static void AssertNone(string? text, string where)
    {
        if (string.IsNullOrEmpty(text)) return;
        var found = Leak().Match(text);
        Assert.False(found.Success, $"{where} shows the daemon's internals ('{(found.Success ? found.Value : "")}'): {Shorten(text)}");
    }

    /// <summary>Every message of every run, file and stitch the class's daemon recorded.</summary>
    public static async Task AssertNoneInRunMessagesAsync(string connectionString)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(
            "SELECT 'run ' || id, message FROM heapd.runs WHERE message IS NOT NULL " +
            "UNION ALL SELECT 'run ' || run_id || ' file ' || ordinal, message FROM heapd.run_files WHERE message IS NOT NULL " +
            "UNION ALL SELECT 'stitch ' || id, message FROM heapd.stitch_runs WHERE message IS NOT NULL", connection);
        try
        {
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) AssertNone(reader.GetString(1), reader.GetString(0));
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == "42P01")
        {
            // The daemon never started far enough to make its schema.
        }
    }

    private static string Shorten(string text) => text.Length > 2000 ? text[..2000] + "…" : text;

    /// <summary>A namespace-qualified type (<c>HeapDaemon.Actors.Feeds.FeedField</c>, <c>System.Int32</c>), an exception's name, or a stack frame.</summary>
    [GeneratedRegex(@"\b(HeapDaemon|System|Microsoft|Npgsql|Akka|Amazon|Avro|Org\.BouncyCastle|ICSharpCode|Parquet|CsvHelper)\.[A-Z][A-Za-z]+|\b\w*Exception:|\n\s*at [\w.<>`]+\(|   at [\w.<>`]+\(")]
    private static partial Regex Leak();
}

/// <summary>Checks every answer a test client receives for internals (see <see cref="Internals"/>).</summary>
public sealed class InternalsCheckingHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (response.Content.Headers.ContentType?.MediaType is "application/json" or "application/problem+json" or "text/plain")
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            Internals.AssertNone(await response.Content.ReadAsStringAsync(cancellationToken), $"{request.Method} {request.RequestUri?.PathAndQuery} ({(int)response.StatusCode})");
        }
        return response;
    }
}
