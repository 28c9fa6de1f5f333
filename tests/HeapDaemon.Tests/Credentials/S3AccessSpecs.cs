using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Credentials;

/// <summary>Credentials in each auth mode, and the connection test's answer for each way a credential can be wrong.</summary>
public sealed class S3AccessSpecs : ClassDaemonSpecs<S3AccessSpecs>
{
    private const string Header = "user_id,email,joined_at,score\n";
    private string _authBucket = "";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        using var authorized = TestEnvironment.S3Client(TestEnvironment.S3AuthEndpoint, TestEnvironment.S3AuthKeyId, TestEnvironment.S3AuthSecret);
        _authBucket = await TestEnvironment.CreateBucketAsync(authorized);
        await TestEnvironment.PutAsync(authorized, _authBucket, "users.csv", Header + "1,a@example.com,2026-11-01T00:00:00Z,1\n");
    }

    [Fact]
    public async Task Role_mode_assumes_the_role_through_STS_and_loads_with_the_temporary_credentials()
    {
        await AddRoleCredentialAsync("role", TestEnvironment.S3AuthExternalId);
        // The daemon's own identity may not read the bucket: only the role can.
        await AddKeysCredentialAsync("own", TestEnvironment.S3AuthDeniedKeyId, TestEnvironment.S3AuthDeniedSecret);
        await EnsureUsersFeedAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "role", credentialId = "role", files = new[] { new { key = "users.csv", feedId = "heap-users" } } });

        var run = await Api.RunAsync("role");

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal(1, run.GetProperty("files")[0].GetProperty("rowsInserted").GetInt64());
        var own = await TestAsync("own");
        Assert.Equal("accessDenied", own.GetProperty("cause").GetString());
    }

    [Fact]
    public async Task A_run_with_a_role_whose_external_id_is_wrong_fails_saying_the_role_cannot_be_assumed()
    {
        await AddRoleCredentialAsync("wrong-id", "not-the-external-id");
        await EnsureUsersFeedAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "wrong-id", credentialId = "wrong-id", files = new[] { new { key = "users.csv", feedId = "heap-users" } } });

        var run = await Api.RunAsync("wrong-id");

        Assert.Equal("failed", run.GetProperty("status").GetString());
        var message = run.GetProperty("files")[0].GetProperty("message").GetString()!;
        Assert.Contains($"the role {TestEnvironment.S3AuthRoleArn} cannot be assumed (AccessDenied)", message);
        Assert.Contains($"s3://{_authBucket}/users.csv", message);
    }

    [Fact]
    public async Task The_connection_test_succeeds_for_keys_and_for_a_role()
    {
        await AddKeysCredentialAsync("keys", TestEnvironment.S3AuthKeyId, TestEnvironment.S3AuthSecret);
        await AddRoleCredentialAsync("role-tested", TestEnvironment.S3AuthExternalId);

        foreach (var id in new[] { "keys", "role-tested" })
        {
            var result = await TestAsync(id);
            Assert.True(result.GetProperty("ok").GetBoolean(), result.ToString());
            Assert.Equal("Connection successful", result.GetProperty("message").GetString());
            Assert.False(result.TryGetProperty("cause", out _));
        }
        // No '/' in it: moto-auth miscomputes signatures over an encoded '/' in a query string (real S3 does not).
        var underPrefix = await Api.PostOkAsync("/api/credentials/role-tested/test", new { prefix = "users" });
        Assert.True(underPrefix.GetProperty("ok").GetBoolean(), underPrefix.ToString());
    }

    [Theory]
    [InlineData("invalid-bucket-name", "invalidBucketName", "NoSuchBucket", "invalid bucket name: it may hold only lowercase letters")]
    [InlineData("no-such-bucket", "noSuchBucket", "NoSuchBucket", "bucket 'heapd-no-such-bucket' does not exist (NoSuchBucket)")]
    [InlineData("access-denied", "accessDenied", "AccessDenied", "access denied (AccessDenied)")]
    [InlineData("wrong-secret", "invalidCredentials", "SignatureDoesNotMatch", "the secret access key is wrong (SignatureDoesNotMatch)")]
    [InlineData("role-not-assumable", "roleNotAssumed", "AccessDenied", "cannot be assumed (AccessDenied)")]
    [InlineData("endpoint-unreachable", "endpointUnreachable", null, "endpoint unreachable")]
    public async Task The_connection_test_names_each_cause_with_the_AWS_error_code(string id, string cause, string? code, string message)
    {
        object credential = id switch
        {
            "invalid-bucket-name" => Keys(id, "Bad_Bucket_Name", TestEnvironment.S3AuthKeyId, TestEnvironment.S3AuthSecret),
            "no-such-bucket" => Keys(id, "heapd-no-such-bucket", TestEnvironment.S3AuthKeyId, TestEnvironment.S3AuthSecret),
            "access-denied" => Keys(id, _authBucket, TestEnvironment.S3AuthDeniedKeyId, TestEnvironment.S3AuthDeniedSecret),
            "wrong-secret" => Keys(id, _authBucket, TestEnvironment.S3AuthKeyId, "not-the-secret"),
            "role-not-assumable" => Role(id, "the-wrong-external-id"),
            "endpoint-unreachable" => new { id, kind = "s3", bucket = _authBucket, endpointUrl = "http://127.0.0.1:9", accessKeyId = "a", secretAccessKey = "b" },
            _ => throw new ArgumentOutOfRangeException(nameof(id)),
        };
        await Api.PostOkAsync("/api/credentials", credential);

        var result = await TestAsync(id);

        Assert.False(result.GetProperty("ok").GetBoolean());
        Assert.Equal(cause, result.GetProperty("cause").GetString());
        Assert.Equal(code, result.TryGetProperty("code", out var c) ? c.GetString() : null);
        Assert.Contains(message, result.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Default_mode_signs_with_the_process_credential_chain()
    {
        // The SDK's chain reads the environment first; nothing else in the tests uses the default chain.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", TestEnvironment.S3AuthKeyId);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", TestEnvironment.S3AuthSecret);
        await Api.PostOkAsync("/api/credentials", new { id = "chain", kind = "s3", bucket = _authBucket, endpointUrl = TestEnvironment.S3AuthEndpoint, authMode = "default" });

        var result = await TestAsync("chain");

        Assert.True(result.GetProperty("ok").GetBoolean(), result.ToString());
    }

    [Fact]
    public async Task A_role_credential_without_an_external_id_gets_one_made_up_and_shown_and_nothing_secret_is_returned()
    {
        var created = await Api.PostOkAsync("/api/credentials", new { id = "made-up", kind = "s3", bucket = _authBucket, authMode = "role", roleArn = TestEnvironment.S3AuthRoleArn });

        var externalId = created.GetProperty("externalId").GetString()!;
        Assert.Matches("^heapd-[0-9a-f]{32}$", externalId);
        var shown = await Api.GetOkAsync("/api/credentials/made-up");
        Assert.Equal(externalId, shown.GetProperty("externalId").GetString());
        Assert.Equal("role", shown.GetProperty("authMode").GetString());
        Assert.Equal(TestEnvironment.S3AuthRoleArn, shown.GetProperty("roleArn").GetString());
        Assert.DoesNotContain("secret", shown.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("""{"id":"r","kind":"s3","bucket":"bucket-x","authMode":"role"}""", "authMode 'role' needs roleArn")]
    [InlineData("""{"id":"r","kind":"s3","bucket":"bucket-x","authMode":"role","roleArn":"arn:aws:iam::123:role/x"}""", "a role ARN like arn:aws:iam::123456789012:role/")]
    [InlineData("""{"id":"r","kind":"s3","bucket":"bucket-x","authMode":"role","roleArn":"arn:aws:iam::123456789012:role/x","externalId":"has space"}""", "externalId must be 2-1224 characters")]
    [InlineData("""{"id":"r","kind":"s3","bucket":"bucket-x","authMode":"role","roleArn":"arn:aws:iam::123456789012:role/x","externalId":"x"}""", "externalId must be 2-1224 characters")]
    [InlineData("""{"id":"r","kind":"s3","bucket":"bucket-x","authMode":"role","roleArn":"arn:aws:iam::123456789012:role/x","externalId":"semi;colon"}""", "externalId must be 2-1224 characters")]
    [InlineData("""{"id":"r","kind":"s3","bucket":"bucket-x","authMode":"role","roleArn":"arn:aws:iam::123456789012:role/x","externalId":"ok-id","secretAccessKey":"s"}""", "secretAccessKey is only for authMode 'keys'")]
    [InlineData("""{"id":"r","kind":"s3","bucket":"bucket-x","authMode":"default","accessKeyId":"AKIA"}""", "authMode 'default' uses the daemon's AWS credential chain")]
    [InlineData("""{"id":"r","kind":"s3","bucket":"bucket-x","authMode":"keys","accessKeyId":"AKIA","secretAccessKey":"s","roleArn":"arn:aws:iam::123456789012:role/x"}""", "roleArn and externalId are only for authMode 'role'")]
    [InlineData("""{"id":"r","kind":"s3","bucket":"bucket-x","authMode":"sts"}""", "not valid")]
    [InlineData("""{"id":"r","kind":"s3","bucket":"bucket-x","region":"Mars North","authMode":"default"}""", "region 'Mars North' is not a region name")]
    public async Task A_credential_that_is_not_valid_is_refused_with_the_reason(string body, string reason)
    {
        var response = await Api.PostAsync("/api/credentials", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/api/credentials/r")).StatusCode);
    }

    [Fact]
    public async Task External_ids_at_the_length_limits_and_with_every_allowed_symbol_are_accepted()
    {
        foreach (var (id, externalId) in new[] { ("short", "ab"), ("long", new string('x', 1224)), ("symbols", "Aa0+=,.@:/-") })
            await Api.PostOkAsync("/api/credentials", new { id, kind = "s3", bucket = _authBucket, authMode = "role", roleArn = TestEnvironment.S3AuthRoleArn, externalId });

        var tooLong = await Api.PostAsJsonAsync("/api/credentials", new { id = "too-long", kind = "s3", bucket = _authBucket, authMode = "role", roleArn = TestEnvironment.S3AuthRoleArn, externalId = new string('x', 1225) });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
    }

    [Fact]
    public async Task Testing_a_credential_that_does_not_exist_is_404()
    {
        var response = await Api.PostAsJsonAsync("/api/credentials/nope/test", new { });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private async Task<JsonElement> TestAsync(string id) => await Api.PostOkAsync($"/api/credentials/{id}/test");

    private Task AddRoleCredentialAsync(string id, string externalId) => Api.PostOkAsync("/api/credentials", Role(id, externalId));

    private Task AddKeysCredentialAsync(string id, string keyId, string secret) =>
        Api.PostOkAsync("/api/credentials", Keys(id, _authBucket, keyId, secret));

    private object Role(string id, string externalId) => new
    {
        id, kind = "s3", bucket = _authBucket, endpointUrl = TestEnvironment.S3AuthEndpoint,
        authMode = "role", roleArn = TestEnvironment.S3AuthRoleArn, externalId,
    };

    private static object Keys(string id, string bucket, string keyId, string secret) => new
    {
        id, kind = "s3", bucket, endpointUrl = TestEnvironment.S3AuthEndpoint, authMode = "keys", accessKeyId = keyId, secretAccessKey = secret,
    };
}
