using System.Net.Http.Headers;
using System.Security.Cryptography;
using Amazon.S3;
using Xunit;

namespace HeapDaemon.Tests.Support;

/// <summary>One daemon, database and bucket for a whole test class (<c>IClassFixture</c>), with a viewer token too.</summary>
public sealed class SharedDaemon : IAsyncLifetime
{
    public const string ViewerToken = "viewer-token-0123456789abcdef";

    public DaemonHost Daemon { get; private set; } = null!;

    public IAmazonS3 S3 { get; private set; } = null!;

    public string Bucket { get; private set; } = "";

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        ConnectionString = await TestEnvironment.CreateDatabaseAsync();
        S3 = TestEnvironment.S3Client();
        Bucket = await TestEnvironment.CreateBucketAsync(S3);
        Daemon = new DaemonHost(ConnectionString, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            settings: new Dictionary<string, string> { ["Admin:ViewerTokens:0"] = ViewerToken });
        Daemon.CreateClient().Dispose(); // starts it
    }

    public HttpClient Admin() => Daemon.Api();

    public HttpClient Viewer() => WithToken(ViewerToken);

    public HttpClient Anonymous() => Daemon.CreateClient();

    public HttpClient WithToken(string token)
    {
        var client = Daemon.CreateDefaultClient(new InternalsCheckingHandler());
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async Task DisposeAsync()
    {
        await Daemon.DisposeAsync();
        S3.Dispose();
        await TestEnvironment.DropDatabaseAsync(ConnectionString);
    }
}
