using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>The admin API's edge on one daemon shared by the class: each test uses ids of its own.</summary>
public sealed class AdminApiSpecs : ClassDaemonSpecs<AdminApiSpecs>
{
    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-token-0123456789")]
    [InlineData("Basic dGVzdDp0ZXN0")]
    public async Task Every_api_route_needs_the_bearer_token(string? authorization)
    {
        using var client = Daemon.CreateClient();
        if (authorization is not null) client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);

        foreach (var path in new[] { "/api/feeds", "/api/credentials", "/api/couriers", "/api/domain-tables", $"/api/runs/{Guid.NewGuid()}" })
        {
            var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
        var post = await client.PostAsJsonAsync("/api/feeds", UsersFeed());
        Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("bearer")]
    [InlineData("BEARER")]
    [InlineData("bEaReR")]
    public async Task The_bearer_scheme_is_case_insensitive_and_the_token_is_not(string scheme)
    {
        using var right = Daemon.CreateClient();
        right.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"{scheme} {DaemonHost.Token}");
        using var wrong = Daemon.CreateClient();
        wrong.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"{scheme} {DaemonHost.Token.ToUpperInvariant()}");

        Assert.Equal(HttpStatusCode.OK, (await right.GetAsync("/api/feeds")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/api/feeds")).StatusCode);
    }

    /// <summary>Every route with a typed query or route value: a value that does not parse says which, what it was and what is expected.</summary>
    [Theory]
    [InlineData("GET", "/api/credentials/moto/browse?pageSize=ten", "pageSize", "ten", "a whole number")]
    [InlineData("GET", "/api/credentials/moto/browse?pageSize=99999999999", "pageSize", "99999999999", "a whole number")]
    [InlineData("PUT", "/api/feeds/heap-users?purge=maybe", "purge", "maybe", "true or false")]
    [InlineData("GET", "/api/couriers/users/runs?limit=abc", "limit", "abc", "a whole number")]
    [InlineData("GET", "/api/domain-tables/Heap:Users/rows?limit=abc", "limit", "abc", "a whole number")]
    [InlineData("GET", "/api/runs/not-a-run", "id", "not-a-run", "a UUID")]
    [InlineData("POST", "/api/runs/not-a-run/cancel", "id", "not-a-run", "a UUID")]
    [InlineData("POST", "/api/runs/not-a-run/retry", "id", "not-a-run", "a UUID")]
    [InlineData("POST", "/api/runs/not-a-run/files/0/skip", "id", "not-a-run", "a UUID")]
    [InlineData("POST", "/api/runs/3f2b8e0c-1d2a-4c5b-9e8f-0a1b2c3d4e5f/files/first/skip", "ordinal", "first", "a whole number")]
    [InlineData("GET", "/api/runs/not-a-run/rejects", "id", "not-a-run", "a UUID")]
    [InlineData("GET", "/api/runs/3f2b8e0c-1d2a-4c5b-9e8f-0a1b2c3d4e5f/rejects?limit=abc", "limit", "abc", "a whole number")]
    [InlineData("GET", "/api/runs/3f2b8e0c-1d2a-4c5b-9e8f-0a1b2c3d4e5f/rejects?offset=1.5", "offset", "1.5", "a whole number")]
    public async Task A_query_or_route_value_that_does_not_parse_answers_a_problem_naming_it(string method, string path, string name, string value, string expected)
    {
        // A body that binds, so the value under test is the one refused (a route reads its body first).
        var body = path.StartsWith("/api/feeds", StringComparison.Ordinal) ? System.Text.Json.JsonSerializer.Serialize(UsersFeed(), DaemonHost.Json) : "{}";
        var response = await Api.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method == "GET" ? null : new StringContent(body, Encoding.UTF8, "application/json"),
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.Contains($"{name} '{value}'", detail);
        Assert.Contains(expected, detail);
    }

    [Fact]
    public async Task Routes_and_methods_that_do_not_exist_answer_a_problem_too()
    {
        var unknown = await Api.GetAsync("/api/nothing-here");
        var method = await Api.DeleteAsync("/api/feeds");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, method.StatusCode);
        Assert.Equal("application/problem+json", method.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Secrets_are_write_only()
    {
        await Api.PostOkAsync("/api/credentials", new { id = "c1", kind = "s3", bucket = Bucket, accessKeyId = "AKIAEXAMPLE", secretAccessKey = "very-secret-value-123" });

        var one = await Api.GetStringAsync("/api/credentials/c1");
        var all = await Api.GetStringAsync("/api/credentials");

        Assert.DoesNotContain("very-secret-value-123", one + all);
        Assert.DoesNotContain("secret", one + all, StringComparison.OrdinalIgnoreCase);
        var stored = await QueryAsync("SELECT settings::text AS settings, encode(secret, 'escape') AS secret FROM heapd.credentials WHERE id = 'c1'");
        Assert.DoesNotContain("very-secret-value-123", $"{stored[0]["settings"]}{stored[0]["secret"]}");
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/", "points at 169.254.169.254, an instance-metadata address, which is blocked")]
    [InlineData("http://[fd00:ec2::254]/", "points at fd00:ec2::254, an instance-metadata address, which is blocked")]
    [InlineData("http://localhost:{pg}/", "resolves to 127.0.0.1, the daemon's own PostgreSQL (127.0.0.1:{pg}), which is blocked")]
    public async Task A_credential_endpoint_cannot_point_at_metadata_services_or_the_daemons_database(string endpoint, string reason)
    {
        var port = new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString).Port;

        var response = await Api.PostAsJsonAsync("/api/credentials", new
        {
            id = "ssrf", kind = "s3", bucket = Bucket, endpointUrl = endpoint.Replace("{pg}", port.ToString()), accessKeyId = "a", secretAccessKey = "b",
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason.Replace("{pg}", port.ToString()), await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("""{"source":"heap","name":"users","fields":[{"name":"id","type":"integer","primaryKey":true}],"lastUpdated":"id"}""", "lastUpdated: not a property the daemon knows; the body takes: source, name, fields")]
    [InlineData("""{"source":"heap","name":"users","fields":[{"name":"x\"; DROP TABLE t; --","type":"string","primaryKey":true}]}""", "must be letters, digits and underscores")]
    [InlineData("""{"source":"heapd","name":"feeds","fields":[{"name":"id","type":"integer","primaryKey":true}]}""", "source 'heapd' is reserved")]
    [InlineData("""{"source":"Heap Data","name":"users","fields":[{"name":"id","type":"integer","primaryKey":true}]}""", "source 'Heap Data' must be a name")]
    [InlineData("""{"source":"heap","name":"users","fields":[{"name":"id","type":"integer"}]}""", "at least one primary-key field")]
    [InlineData("""{"source":"heap","name":"users","fields":[{"name":"id","type":"integer","primaryKey":true},{"name":"ID","type":"string"}]}""", "column 'id' appears 2 times")]
    [InlineData("""{"source":"heap","name":"users","fields":[{"name":"id","type":"integer","primaryKey":true},{"name":"_pk","type":"string"}]}""", "column name '_pk'")]
    [InlineData("""{"source":"heap","name":"users","fields":[{"name":"id","type":"date","primaryKey":true}],"lastUpdatedField":"id"}""", "must be a Datetime or an Integer")]
    [InlineData("""{"source":"heap", "name":""", "not valid")]
    public async Task A_feed_that_is_not_valid_is_refused_with_the_reason(string body, string reason)
    {
        var before = await QueryAsync("SELECT id FROM heapd.feeds ORDER BY id");

        var response = await Api.PostAsync("/api/feeds", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync());
        Assert.Equal(before.Select(r => r["id"]), (await QueryAsync("SELECT id FROM heapd.feeds ORDER BY id")).Select(r => r["id"]));
    }

    [Fact]
    public async Task A_courier_can_only_load_into_an_active_feed_with_an_existing_credential()
    {
        await Api.PostOkAsync("/api/feeds", UsersFeed("inactive"));

        var response = await Api.PostAsJsonAsync("/api/couriers", new
        {
            id = "early",
            credentialId = "nope",
            files = new[] { new { key = "users.csv", feedId = "heap-inactive" } },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("credential 'nope' does not exist", text);
        Assert.Contains("feed 'heap-inactive' is not active", text);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/api/couriers/early")).StatusCode);
    }

    [Fact]
    public async Task A_run_option_the_daemon_does_not_know_is_refused_rather_than_ignored()
    {
        await CreateCourierAsync("users", "users.csv");

        var response = await Api.PostAsync("/api/couriers/users/runs",
            new StringContent("""{"force": true}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("force", await response.Content.ReadAsStringAsync());
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.runs WHERE courier_id = 'users'"));
    }

    [Fact]
    public async Task Couriers_and_feeds_are_listed_and_a_deleted_courier_is_gone_for_good()
    {
        await CreateCourierAsync("a", "a.csv");
        await Api.PostOkAsync("/api/couriers", new { id = "b", credentialId = "moto", files = new[] { new { key = "b.csv", feedId = "heap-users" } } });

        Assert.Equal(["a", "b"], await CourierIdsAsync());
        Assert.Equal(HttpStatusCode.Conflict, (await Api.PostAsJsonAsync("/api/couriers",
            new { id = "a", credentialId = "moto", files = new[] { new { key = "x.csv", feedId = "heap-users" } } })).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await Api.DeleteAsync("/api/couriers/a")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/api/couriers/a")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.PostAsJsonAsync("/api/couriers/a/runs", new { })).StatusCode);

        await RestartDaemonAsync();

        Assert.Equal(["b"], await CourierIdsAsync());
        var users = (await Api.GetOkAsync("/api/domain-tables")).EnumerateArray().Single(t => t.GetProperty("name").GetString() == "Heap:Users");
        Assert.Equal(0, users.GetProperty("rowCount").GetInt64());
    }

    /// <summary>The listed couriers of this test (a and b), in the list's order; the class's other tests add their own.</summary>
    private async Task<IEnumerable<string?>> CourierIdsAsync() =>
        (await Api.GetOkAsync("/api/couriers")).EnumerateArray().Select(c => c.GetProperty("id").GetString()).Where(id => id is "a" or "b").ToList();
}
