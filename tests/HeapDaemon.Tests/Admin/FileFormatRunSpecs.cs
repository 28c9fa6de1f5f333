using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Amazon.S3.Model;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>Every format and wrapping loads through a courier run, over HTTP, from moto into PostgreSQL.</summary>
public sealed class FileFormatRunSpecs : DaemonSpecs
{
    private const string Expected = "1|ada@example.com|2026-11-01T10:00:00Z|1.50;2|grace, hopper@example.com|2026-11-02T10:00:00Z|2.00;3|alan@example.com|2026-11-03T10:00:00Z|";

    [Theory]
    [InlineData("users.tsv", """{"format":"tsv"}""", "user_id\temail\tjoined_at\tscore\n1\tada@example.com\t2026-11-01T10:00:00Z\t1.50\n2\tgrace, hopper@example.com\t2026-11-02T10:00:00Z\t2\n3\talan@example.com\t2026-11-03 10:00:00\t\n")]
    [InlineData("users.psv", """{"format":"psv"}""", "user_id|email|joined_at|score\n1|ada@example.com|2026-11-01T10:00:00Z|1.50\n2|grace, hopper@example.com|2026-11-02T10:00:00Z|2\n3|alan@example.com|2026-11-03 10:00:00|\n")]
    [InlineData("users.txt", """{"format":"dsv","delimiter":";","quote":"'","escape":"\\"}""", "user_id;email;joined_at;score\n1;'ada@example.com';2026-11-01T10:00:00Z;1.50\n2;grace, hopper@example.com;2026-11-02T10:00:00Z;2\n3;alan@example.com;2026-11-03 10:00:00;\n")]
    [InlineData("users-noheader.csv", """{"format":"csv","header":false}""", "1,ada@example.com,2026-11-01T10:00:00Z,1.50\n2,\"grace, hopper@example.com\",2026-11-02T10:00:00Z,2\n3,alan@example.com,2026-11-03 10:00:00,\n")]
    public async Task A_delimited_file_loads_with_its_settings(string key, string settings, string content)
    {
        await TestEnvironment.PutAsync(S3, Bucket, key, content);

        var run = await RunFileAsync(key, settings);

        AssertLoaded(run, 3);
        Assert.Equal(Expected, await UsersAsync());
    }

    [Fact]
    public async Task A_courier_with_invalid_file_settings_is_refused_with_the_reason()
    {
        await EnsureMotoAsync();
        await EnsureUsersFeedAsync();

        var response = await Api.PostAsJsonAsync("/api/couriers", new
        {
            id = "bad-settings",
            credentialId = "moto",
            files = new object[] { new { key = "a.csv", feedId = "heap-users", settings = new { format = "tsv", delimiter = ";" } } },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("files[0].settings: format 'tsv' is delimited by tab; use format 'dsv' for delimiter ';'", await response.Content.ReadAsStringAsync());
    }

    private async Task EnsureMotoAsync() =>
        await EnsureCredentialAsync("moto", new { id = "moto", kind = "s3", bucket = Bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "test", secretAccessKey = "test" });

    /// <summary>A courier of one file with the given settings (JSON) and optional PGP credential, run once.</summary>
    private async Task<JsonElement> RunFileAsync(string key, string settings, string? pgpCredentialId = null, string feedId = "heap-users")
    {
        await EnsureMotoAsync();
        await EnsureUsersFeedAsync();
        var courierId = $"c-{Guid.NewGuid():N}"[..20];
        var file = new Dictionary<string, object?> { ["key"] = key, ["feedId"] = feedId, ["settings"] = JsonDocument.Parse(settings).RootElement };
        if (pgpCredentialId is not null) file["pgpCredentialId"] = pgpCredentialId;
        await Api.PostOkAsync("/api/couriers", new { id = courierId, credentialId = "moto", files = new[] { file } });
        return await Api.RunAsync(courierId);
    }

    private static void AssertLoaded(JsonElement run, long rows)
    {
        var file = run.GetProperty("files")[0];
        Assert.True("succeeded" == run.GetProperty("status").GetString(), file.GetProperty("message").GetString());
        Assert.Equal(rows, file.GetProperty("rowsInserted").GetInt64());
    }

    private async Task<string> UsersAsync() =>
        string.Join(';', (await QueryAsync("SELECT user_id, email, joined_at, score FROM heap.users ORDER BY user_id"))
            .Select(r => $"{r["user_id"]}|{r["email"]}|{(DateTime)r["joined_at"]!:yyyy-MM-dd'T'HH:mm:ss'Z'}|{r["score"]}"));

    private Task PutBytesAsync(string key, byte[] bytes) =>
        S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = new MemoryStream(bytes) });
}
