using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using HeapDaemon.Tests.Support;
using Npgsql;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>
/// Through the API: a credential cannot reach instance metadata or the daemon's own PostgreSQL, however the address
/// is spelled, through a name, or through a redirect; and the rule holds for the connection test, the browser,
/// previews and runs alike.
/// </summary>
public sealed class EndpointSpecs : ClassDaemonSpecs<EndpointSpecs>
{
    private int PgPort => new NpgsqlConnectionStringBuilder(ConnectionString).Port;

    [Theory]
    [InlineData("http://[::ffff:169.254.169.254]/", "169.254.169.254, an instance-metadata address")]
    [InlineData("http://[::ffff:a9fe:a9fe]/", "169.254.169.254, an instance-metadata address")]
    [InlineData("http://[::169.254.169.254]/", "169.254.169.254, an instance-metadata address")]
    [InlineData("http://[64:ff9b::a9fe:a9fe]/", "169.254.169.254, an instance-metadata address")]
    [InlineData("http://2852039166/", "169.254.169.254, an instance-metadata address")]
    [InlineData("http://0251.0376.0251.0376/", "169.254.169.254, an instance-metadata address")]
    [InlineData("http://0xa9fea9fe/", "169.254.169.254, an instance-metadata address")]
    [InlineData("http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254, an instance-metadata address")]
    [InlineData("http://169.254.43518/", "169.254.169.254, an instance-metadata address")]
    [InlineData("http://169.254.169.254./", "169.254.169.254, an instance-metadata address")]
    [InlineData("http://169.254.170.2/v2/credentials", "169.254.170.2, an instance-metadata address")]
    [InlineData("http://[fe80::1]/", "fe80::1, a link-local address")]
    [InlineData("http://0.0.0.0:9000/", "0.0.0.0, the unspecified address")]
    [InlineData("http://[::]:9000/", "::, the unspecified address")]
    [InlineData("http://0.0.0.0:{pg}/", "0.0.0.0, the unspecified address")]
    [InlineData("http://[::]:{pg}/", "::, the unspecified address")]
    [InlineData("http://127.0.0.2:{pg}/", "127.0.0.2, the daemon's own PostgreSQL (127.0.0.1:{pg})")]
    [InlineData("http://127.1:{pg}/", "127.0.0.1, the daemon's own PostgreSQL (127.0.0.1:{pg})")]
    [InlineData("http://[::1]:{pg}/", "::1, the daemon's own PostgreSQL (127.0.0.1:{pg})")]
    [InlineData("http://[::ffff:127.0.0.1]:{pg}/", "127.0.0.1, the daemon's own PostgreSQL (127.0.0.1:{pg})")]
    [InlineData("http://0x7f000001:{pg}/", "127.0.0.1, the daemon's own PostgreSQL (127.0.0.1:{pg})")]
    public async Task A_blocked_address_in_any_spelling_is_refused_when_the_credential_is_saved(string endpoint, string reason)
    {
        var response = await Api.PostAsJsonAsync("/api/credentials", Credential("ssrf", endpoint.Replace("{pg}", PgPort.ToString())));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.Contains($"points at {reason.Replace("{pg}", PgPort.ToString())}", detail);
        Assert.Contains("which is blocked; list", detail);
        Assert.Empty(await QueryAsync("SELECT 1 FROM heapd.credentials WHERE id = 'ssrf'"));
    }

    [Theory]
    [InlineData("http://127.0.0.1:9000/")]
    [InlineData("http://127.0.0.2:9000/")]
    [InlineData("http://localhost:9000/")]
    [InlineData("http://[::1]:9000/")]
    public async Task Loopback_endpoints_at_other_ports_stay_allowed_as_moto_and_MinIO_run_there(string endpoint)
    {
        var response = await Api.PostAsJsonAsync("/api/credentials", Credential("local-" + Regex.Replace(endpoint, "[^0-9a-z]+", "-").Trim('-'), endpoint));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    /// <summary>
    /// A credential saved before the check (or a name whose DNS answer changed since): every path that connects
    /// resolves it again, and refuses before connecting.
    /// </summary>
    [Fact]
    public async Task A_name_that_resolves_to_a_blocked_address_is_refused_when_connecting_by_the_test_the_browser_previews_and_runs()
    {
        var endpoint = $"http://localhost:{PgPort}";
        await using (var db = NpgsqlDataSource.Create(ConnectionString))
        await using (var insert = db.CreateCommand("INSERT INTO heapd.credentials (id, kind, settings, secret) VALUES ('legacy', 's3', $1::jsonb, $2)"))
        {
            insert.Parameters.AddWithValue($$"""{"id":"legacy","bucket":"{{Bucket}}","region":"us-east-1","endpointUrl":"{{endpoint}}","authMode":"keys","accessKeyId":"test"}""");
            insert.Parameters.AddWithValue(new HeapDaemon.Actors.Credentials.SecretProtector(MasterKey).Protect("test", "legacy"));
            await insert.ExecuteNonQueryAsync();
        }
        await EnsureUsersFeedAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "legacy", credentialId = "legacy", files = new[] { new { key = "users.csv", feedId = "heap-users" } } });
        var blocked = $"endpoint localhost:{PgPort} resolves to 127.0.0.1, the daemon's own PostgreSQL (127.0.0.1:{PgPort}), which is blocked";

        var test = await Api.PostOkAsync("/api/credentials/legacy/test");
        var browse = await Api.GetAsync("/api/credentials/legacy/browse");
        var preview = await Api.PostAsJsonAsync("/api/preview", new { credentialId = "legacy", key = "users.csv" });
        var run = await Api.RunAsync("legacy");

        Assert.False(test.GetProperty("ok").GetBoolean());
        Assert.Equal("endpointBlocked", test.GetProperty("cause").GetString());
        Assert.Contains(blocked, test.GetProperty("message").GetString());
        Assert.Contains(blocked, await browse.Content.ReadAsStringAsync());
        Assert.Contains(blocked, await preview.Content.ReadAsStringAsync());
        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains(blocked, run.GetProperty("files")[0].GetProperty("message").GetString());
    }

    /// <summary>
    /// An endpoint that answers 307 towards the daemon's own PostgreSQL port on a loopback alias: neither S3 requests
    /// nor the STS call of a role credential at that endpoint follow it, and a listener there sees no connection.
    /// </summary>
    [Fact]
    public async Task A_redirect_to_a_blocked_address_is_not_followed_by_S3_or_STS()
    {
        await using var database = new HttpStub(IPAddress.Parse("127.0.0.2"), PgPort);
        await using var redirecting = new HttpStub(IPAddress.Loopback, respond: HttpStub.RedirectTo($"http://127.0.0.2:{PgPort}"));
        await Api.PostOkAsync("/api/credentials", Credential("keys", redirecting.Endpoint));
        await Api.PostOkAsync("/api/credentials", new
        {
            id = "role", kind = "s3", bucket = Bucket, endpointUrl = redirecting.Endpoint, authMode = "role",
            roleArn = TestEnvironment.S3AuthRoleArn, externalId = TestEnvironment.S3AuthExternalId,
        });

        var sts = await Api.PostOkAsync("/api/credentials/role/test");
        Assert.Equal(0, database.Connections);
        var s3 = await Api.PostOkAsync("/api/credentials/keys/test");
        var browse = await Api.GetAsync("/api/credentials/keys/browse");

        Assert.True(redirecting.Connections >= 3);
        Assert.Equal(0, database.Connections);
        Assert.False(s3.GetProperty("ok").GetBoolean());
        Assert.Contains("the endpoint answered 307 (a redirect); the daemon follows no redirects", s3.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.BadGateway, browse.StatusCode);
        Assert.Equal("roleNotAssumed", sts.GetProperty("cause").GetString());
    }

    private object Credential(string id, string endpointUrl) =>
        new { id, kind = "s3", bucket = Bucket, endpointUrl, accessKeyId = "test", secretAccessKey = "test" };
}
