using Amazon.S3;
using Amazon.S3.Model;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Endpoints;
using HeapDaemon.Actors.Storage;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Credentials;

/// <summary>Role sessions from moto-auth's STS, on a clock the test moves instead of waiting out an hour.</summary>
public sealed class AssumedRoleCredentialsSpecs
{
    private static readonly AwsSettings Settings = new()
    {
        AccessKeyId = TestEnvironment.S3AuthDeniedKeyId,
        SecretAccessKey = TestEnvironment.S3AuthDeniedSecret,
        RoleSessionDuration = TimeSpan.FromMinutes(15),
        RefreshBefore = TimeSpan.FromMinutes(5),
    };

    private static readonly GuardedHttpClientFactory Guard = new(new EndpointPolicy([], []));

    private static readonly S3Access Role = new(new S3Credential("role", "unused-bucket", "us-east-1", TestEnvironment.S3AuthEndpoint,
        S3AuthMode.Role, null, TestEnvironment.S3AuthRoleArn, TestEnvironment.S3AuthExternalId), null);

    [Fact]
    public async Task The_session_is_reused_until_the_refresh_margin_and_renewed_before_it_expires()
    {
        var clock = new ShiftedClock();
        var resolver = new AwsCredentialsResolver(Settings, clock, Guard);
        var credentials = (AssumedRoleCredentials)resolver.Resolve(Role)!;

        var first = await credentials.GetCredentialsAsync();
        var expires = credentials.Expiration!.Value;
        Assert.StartsWith("ASIA", first.AccessKey); // temporary, not the daemon's own AKIA key
        Assert.NotEqual(TestEnvironment.S3AuthDeniedKeyId, first.AccessKey);
        Assert.False(string.IsNullOrEmpty(first.Token));
        Assert.InRange(expires - DateTime.UtcNow, TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(16));

        clock.SetNow(expires.AddMinutes(-5).AddSeconds(-10));
        Assert.Equal(first.AccessKey, (await credentials.GetCredentialsAsync()).AccessKey);

        clock.SetNow(expires.AddMinutes(-5).AddSeconds(10));
        var renewed = await credentials.GetCredentialsAsync();
        Assert.NotEqual(first.AccessKey, renewed.AccessKey);
        Assert.True(credentials.Expiration > expires);
        // One session per credential: a second client of the same credential shares it.
        Assert.Same(credentials, resolver.Resolve(Role));
    }

    [Fact]
    public async Task An_S3_client_for_a_role_credential_reads_with_the_roles_temporary_credentials()
    {
        using var authorized = TestEnvironment.S3Client(TestEnvironment.S3AuthEndpoint, TestEnvironment.S3AuthKeyId, TestEnvironment.S3AuthSecret);
        var bucket = await TestEnvironment.CreateBucketAsync(authorized);
        await TestEnvironment.PutAsync(authorized, bucket, "hello.txt", "hello");
        var factory = new S3ClientFactory(new S3Settings(), new AwsCredentialsResolver(Settings, TimeProvider.System, Guard), Guard);
        var access = Role with { Credential = Role.Credential with { Bucket = bucket } };

        using var s3 = factory.Create(access);
        using var response = await s3.GetObjectAsync(bucket, "hello.txt");
        using var reader = new StreamReader(response.ResponseStream);

        Assert.Equal("hello", await reader.ReadToEndAsync());
        // The daemon's own keys alone are refused: the read above went through the role.
        using var own = TestEnvironment.S3Client(TestEnvironment.S3AuthEndpoint, TestEnvironment.S3AuthDeniedKeyId, TestEnvironment.S3AuthDeniedSecret);
        var denied = await Assert.ThrowsAsync<AmazonS3Exception>(() => own.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = "hello.txt" }));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, denied.StatusCode);
    }
}
