using System.Net;
using System.Net.Http.Json;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>What a user can get wrong ends the run with the object and the cause named, and the daemon keeps serving.</summary>
public sealed class BadInputSpecs : DaemonSpecs
{
    private const string Header = "user_id,email,joined_at,score\n";

    [Fact]
    public async Task A_missing_object_key_fails_the_run_naming_the_object()
    {
        await CreateCourierAsync("missing", "exports/not-there.csv");

        var run = await Api.RunAsync("missing");

        Assert.Equal("failed", run.GetProperty("status").GetString());
        var message = run.GetProperty("files")[0].GetProperty("message").GetString()!;
        Assert.Contains($"s3://{Bucket}/exports/not-there.csv", message);
        Assert.Contains("required file missing", message);
        Assert.Contains("no such object", message);
        Assert.Contains(message, run.GetProperty("message").GetString());
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task A_wrong_secret_key_fails_the_run_with_SignatureDoesNotMatch()
    {
        var run = await RunAgainstAuthenticatedS3Async(TestEnvironment.S3AuthKeyId, "not-the-secret");

        var message = run.GetProperty("files")[0].GetProperty("message").GetString()!;
        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("/users.csv", message);
        Assert.Contains("the secret access key is wrong (SignatureDoesNotMatch)", message);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task An_unknown_access_key_fails_the_run_with_InvalidAccessKeyId()
    {
        var run = await RunAgainstAuthenticatedS3Async("AKIAUNKNOWNKEY000000", TestEnvironment.S3AuthSecret);

        var message = run.GetProperty("files")[0].GetProperty("message").GetString()!;
        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("InvalidAccessKeyId", message);
    }

    [Fact]
    public async Task The_right_keys_on_authenticated_S3_load_the_file()
    {
        var run = await RunAgainstAuthenticatedS3Async(TestEnvironment.S3AuthKeyId, TestEnvironment.S3AuthSecret);

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal(1, run.GetProperty("files")[0].GetProperty("rowsInserted").GetInt64());
    }

    [Fact]
    public async Task An_unreachable_endpoint_fails_the_run_saying_so()
    {
        await EnsureUsersFeedAsync();
        await Api.PostOkAsync("/api/credentials", new { id = "nowhere", kind = "s3", bucket = Bucket, endpointUrl = "http://127.0.0.1:9", accessKeyId = "a", secretAccessKey = "b" });
        await Api.PostOkAsync("/api/couriers", new { id = "nowhere", credentialId = "nowhere", files = new[] { new { key = "users.csv", feedId = "heap-users" } } });

        var run = await Api.RunAsync("nowhere");

        Assert.Equal("failed", run.GetProperty("status").GetString());
        var message = run.GetProperty("files")[0].GetProperty("message").GetString()!;
        Assert.Contains($"s3://{Bucket}/users.csv: endpoint unreachable", message);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task A_row_with_the_wrong_number_of_fields_over_the_threshold_fails_the_file_loads_nothing_and_is_listed_as_a_reject()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "short-row.csv", Header + """
            1,a@example.com,2026-11-01T00:00:00Z,1
            2,b@example.com,2026-11-01T00:00:00Z
            3,c@example.com,2026-11-01T00:00:00Z,3
            """);
        await CreateCourierAsync("short-row", "short-row.csv");

        var run = await Api.RunAsync("short-row");

        Assert.Equal("failed", run.GetProperty("status").GetString());
        var message = run.GetProperty("files")[0].GetProperty("message").GetString()!;
        Assert.Contains($"s3://{Bucket}/short-row.csv: 1 of 3 rows rejected", message);
        Assert.Contains("line 3: expected 4 fields, found 3", message);
        Assert.Empty(await QueryAsync("SELECT * FROM heap.users"));
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.load_ledger"));
        var rejects = await Api.GetOkAsync($"/api/runs/{run.GetProperty("id").GetGuid()}/rejects");
        var reject = Assert.Single(rejects.EnumerateArray());
        Assert.Equal(3, reject.GetProperty("line").GetInt64());
        Assert.Equal("2,b@example.com,2026-11-01T00:00:00Z", reject.GetProperty("raw").GetString());
        Assert.Equal("short-row.csv", reject.GetProperty("objectKey").GetString());
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Bad_rows_under_the_threshold_are_rejected_and_the_good_rows_load()
    {
        await Api.PostOkAsync("/api/feeds", UsersFeed("lenient", threshold: 50));
        await Api.PostOkAsync("/api/feeds/heap-lenient/activate");
        await TestEnvironment.PutAsync(S3, Bucket, "mixed.csv", Header + """
            1,a@example.com,2026-11-01T00:00:00Z,1
            two,b@example.com,2026-11-01T00:00:00Z,2
            3,c@example.com,yesterday,3
            4,d@example.com,2026-11-01T00:00:00Z,4
            """);
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "mixed", credentialId = "moto", files = new[] { new { key = "mixed.csv", feedId = "heap-lenient" } } });

        var run = await Api.RunAsync("mixed");

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        var file = run.GetProperty("files")[0];
        Assert.Equal(2, file.GetProperty("rowsInserted").GetInt64());
        Assert.Equal(2, file.GetProperty("rowsRejected").GetInt64());
        Assert.Equal([1L, 4L], (await QueryAsync("SELECT user_id FROM heap.lenient ORDER BY 1")).Select(r => (long)r["user_id"]!));
        var reasons = (await Api.GetOkAsync($"/api/runs/{run.GetProperty("id").GetGuid()}/rejects")).EnumerateArray()
            .Select(r => $"{r.GetProperty("line").GetInt64()}: {r.GetProperty("reason").GetString()}").ToList();
        Assert.Equal(["3: field 'user_id': 'two' is not an Integer", "4: field 'joined_at': 'yesterday' is not a Datetime (no known date format matches; e.g. 2026-11-26 13:45:00 or 2026-11-26T13:45:00Z)"], reasons);
    }

    [Fact]
    public async Task A_header_that_does_not_match_the_feed_fails_the_file_with_the_difference_and_hostile_names_stay_data()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "hostile.csv", "user_id,email,\"joined_at\"\"; DROP TABLE heap.users; --\",score\n1,a,b,1\n");
        await CreateCourierAsync("hostile", "hostile.csv");

        var run = await Api.RunAsync("hostile");

        Assert.Equal("failed", run.GetProperty("status").GetString());
        var message = run.GetProperty("files")[0].GetProperty("message").GetString()!;
        Assert.Contains("the file's columns do not match feed 'heap-users': missing ['joined_at']; not in the feed ['joined_at\"; DROP TABLE heap.users; --']", message);
        Assert.Single(await QueryAsync("SELECT 1 FROM pg_tables WHERE schemaname = 'heap' AND tablename = 'users'"));
    }

    private async Task<System.Text.Json.JsonElement> RunAgainstAuthenticatedS3Async(string keyId, string secret)
    {
        using var authorized = TestEnvironment.S3Client(TestEnvironment.S3AuthEndpoint, TestEnvironment.S3AuthKeyId, TestEnvironment.S3AuthSecret);
        var bucket = await TestEnvironment.CreateBucketAsync(authorized);
        await TestEnvironment.PutAsync(authorized, bucket, "users.csv", Header + "1,a@example.com,2026-11-01T00:00:00Z,1\n");
        await EnsureUsersFeedAsync();
        var id = $"auth-{Guid.NewGuid():N}"[..20];
        await Api.PostOkAsync("/api/credentials", new { id, kind = "s3", bucket, endpointUrl = TestEnvironment.S3AuthEndpoint, accessKeyId = keyId, secretAccessKey = secret });
        await Api.PostOkAsync("/api/couriers", new { id, credentialId = id, files = new[] { new { key = "users.csv", feedId = "heap-users" } } });
        return await Api.RunAsync(id);
    }

    /// <summary>After a failed run the daemon answers and a good run still loads.</summary>
    private async Task AssertStillServingAsync()
    {
        Assert.Equal(HttpStatusCode.OK, (await Api.GetAsync("/healthz")).StatusCode);
        await TestEnvironment.PutAsync(S3, Bucket, "good.csv", Header + "42,ok@example.com,2026-11-01T00:00:00Z,1\n");
        await EnsureMotoCredentialAsync();
        await Api.PostAsJsonAsync("/api/couriers", new { id = "good", credentialId = "moto", files = new[] { new { key = "good.csv", feedId = "heap-users" } } });
        var run = await Api.RunAsync("good", new { forceReload = true });
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
    }
}
