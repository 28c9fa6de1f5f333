using System.Net;
using Amazon.S3.Model;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Endpoints;
using HeapDaemon.Actors.Retries;
using HeapDaemon.Actors.Storage;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Endpoints;

/// <summary>
/// The check where the socket connects: real S3 and STS clients, real DNS ("localhost"), and a listener standing for
/// the daemon's PostgreSQL that must see no connection.
/// </summary>
public sealed class EndpointGuardSpecs
{
    [Fact]
    public async Task An_S3_request_to_a_name_that_resolves_to_the_database_is_refused_before_it_connects()
    {
        await using var database = new HttpStub(IPAddress.Loopback);
        using var guard = new GuardedHttpClientFactory(new EndpointPolicy([("127.0.0.1", database.Port)], []));
        using var s3 = Factory(guard).Create(Keys($"http://localhost:{database.Port}"), interactive: true);

        var e = await Assert.ThrowsAnyAsync<Exception>(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "bucket1" }));

        Assert.Equal(0, database.Connections);
        var failure = S3Errors.Classify(e, "bucket1", null);
        Assert.Equal(S3FailureCause.EndpointBlocked, failure.Cause);
        Assert.Equal($"s3://bucket1: endpoint localhost:{database.Port} resolves to 127.0.0.1, the daemon's own PostgreSQL (127.0.0.1:{database.Port}), " +
                     "which is blocked; list 'localhost' in Security:AllowedEndpointHosts if the daemon should reach it", failure.Message);
        Assert.False(Faults.IsTransient(e)); // a run fails at once: another attempt would be refused the same way
    }

    [Fact]
    public async Task The_same_request_reaches_the_listener_when_it_is_not_the_database()
    {
        await using var listener = new HttpStub(IPAddress.Loopback);
        using var guard = new GuardedHttpClientFactory(new EndpointPolicy([("127.0.0.1", 1)], []));
        using var s3 = Factory(guard).Create(Keys($"http://localhost:{listener.Port}"), interactive: true);

        await Assert.ThrowsAnyAsync<Exception>(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "bucket1" }));

        Assert.True(listener.Connections > 0);
    }

    [Fact]
    public async Task An_STS_call_at_a_blocked_endpoint_is_refused_before_it_connects()
    {
        await using var database = new HttpStub(IPAddress.Loopback);
        using var guard = new GuardedHttpClientFactory(new EndpointPolicy([("127.0.0.1", database.Port)], []));
        var resolver = new AwsCredentialsResolver(new AwsSettings { AccessKeyId = "a", SecretAccessKey = "b" }, TimeProvider.System, guard);
        var role = new S3Access(new S3Credential("role", "bucket1", "us-east-1", $"http://localhost:{database.Port}", S3AuthMode.Role, null,
            "arn:aws:iam::123456789012:role/reader", "external-id"), null);

        var e = await Assert.ThrowsAnyAsync<Exception>(() => resolver.Resolve(role)!.GetCredentialsAsync());

        Assert.Equal(0, database.Connections);
        Assert.Contains($"endpoint localhost:{database.Port} resolves to 127.0.0.1, the daemon's own PostgreSQL", S3Errors.Classify(e, "bucket1", null).Message);
    }

    private static S3ClientFactory Factory(GuardedHttpClientFactory guard) =>
        new(new S3Settings(), new AwsCredentialsResolver(new AwsSettings(), TimeProvider.System, guard), guard);

    private static S3Access Keys(string endpoint) => new(new S3Credential("c", "bucket1", "us-east-1", endpoint, S3AuthMode.Keys, "a"), "b");
}
