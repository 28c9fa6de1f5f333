using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Cluster;

/// <summary>A daemon with no cluster setting: a cluster of one, as the demo and a single container run it.</summary>
public sealed class SingleNodeClusterSpecs(SharedDaemon shared) : IClassFixture<SharedDaemon>
{
    [Fact]
    public async Task A_daemon_alone_is_one_up_member_that_holds_its_couriers_and_a_viewer_may_read_it()
    {
        using var admin = shared.Admin();
        await admin.PostOkAsync("/api/credentials", new { id = "alone", kind = "s3", bucket = shared.Bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "a", secretAccessKey = "b" });
        await admin.PostOkAsync("/api/couriers", new { id = "alone", credentialId = "alone", kind = "heap" });

        using var viewer = shared.Viewer();
        var cluster = await viewer.GetOkAsync("/api/cluster");

        var member = Assert.Single(cluster.GetProperty("members").EnumerateArray());
        Assert.Equal("up", member.GetProperty("status").GetString());
        Assert.True(member.GetProperty("isSelf").GetBoolean());
        Assert.True(member.GetProperty("isLeader").GetBoolean());
        Assert.Equal(cluster.GetProperty("self").GetString(), member.GetProperty("address").GetString());
        Assert.Contains("alone", member.GetProperty("couriers").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("healthy", (await shared.Anonymous().GetOkAsync("/readyz")).GetProperty("checks").GetProperty("cluster").GetProperty("status").GetString());
    }
}
