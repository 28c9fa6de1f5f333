using System.Security.Cryptography;
using Amazon.S3;
using Xunit;

namespace HeapDaemon.Tests.Support;

/// <summary>
/// A test's world: its own database, bucket and daemon. <see cref="DaemonSpecs"/> makes one for each test and tears it
/// down after; <see cref="ClassDaemonSpecs{TSpecs}"/> shares one among the tests of a class, which then must not
/// depend on what the others left (ids and keys of their own, no count of everything).
/// </summary>
public sealed class DaemonWorld : IAsyncDisposable
{
    public string MasterKey { get; set; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public string ConnectionString { get; private init; } = "";

    public IAmazonS3 S3 { get; private init; } = null!;

    public string Bucket { get; private init; } = "";

    /// <summary>The daemon on the world's database; null until a spec starts it (with its settings and clock).</summary>
    public DaemonHost? Daemon { get; set; }

    public static async Task<DaemonWorld> CreateAsync()
    {
        var s3 = TestEnvironment.S3Client();
        return new DaemonWorld { ConnectionString = await TestEnvironment.CreateDatabaseAsync(), S3 = s3, Bucket = await TestEnvironment.CreateBucketAsync(s3) };
    }

    /// <summary>Stops the daemon, checks what it recorded for the daemon's internals, and drops the database.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Daemon is not null) await Daemon.DisposeAsync();
        try
        {
            await Internals.AssertNoneInRunMessagesAsync(ConnectionString);
        }
        finally
        {
            S3.Dispose();
            await TestEnvironment.DropDatabaseAsync(ConnectionString);
        }
    }
}

/// <summary>One test's world (<see cref="DaemonWorld"/>): its own database, bucket and daemon, torn down after the test.</summary>
public abstract class DaemonSpecs : IAsyncLifetime
{
    private DaemonWorld _world = null!;

    protected string MasterKey
    {
        get => _world.MasterKey;
        set => _world.MasterKey = value;
    }

    protected string ConnectionString => _world.ConnectionString;

    protected DaemonHost Daemon
    {
        get => _world.Daemon!;
        set => _world.Daemon = value;
    }

    protected HttpClient Api = null!;

    protected IAmazonS3 S3 => _world.S3;

    protected string Bucket => _world.Bucket;

    public virtual async Task InitializeAsync()
    {
        _world = await WorldAsync();
        if (_world.Daemon is null) StartDaemon();
        else Api = Daemon.Api();
    }

    /// <summary>The world of this test: a new one here; the class's in <see cref="ClassDaemonSpecs{TSpecs}"/>.</summary>
    private protected virtual Task<DaemonWorld> WorldAsync() => DaemonWorld.CreateAsync();

    public virtual async Task DisposeAsync() => await _world.DisposeAsync();

    /// <summary>The clock the next started daemon uses; null for the real one.</summary>
    protected TimeProvider? Clock;

    /// <summary>Configuration a spec class gives its daemon on top of the defaults.</summary>
    protected virtual IReadOnlyDictionary<string, string> DaemonSettings => new Dictionary<string, string>();

    protected void StartDaemon(params string[] previousMasterKeys)
    {
        var settings = new Dictionary<string, string>(DaemonSettings);
        for (var i = 0; i < previousMasterKeys.Length; i++) settings[$"Secrets:PreviousMasterKeys:{i}"] = previousMasterKeys[i];
        Daemon = new DaemonHost(ConnectionString, MasterKey, Clock, settings);
        Api = Daemon.Api();
    }

    /// <summary>
    /// A new daemon on the same database, once its couriers answer: right after a start they are still recovering
    /// (sharding starts them from the journal), and the API answers 503 "try again" until they do.
    /// </summary>
    protected async Task RestartDaemonAsync(params string[] previousMasterKeys)
    {
        await Daemon.DisposeAsync();
        StartDaemon(previousMasterKeys);
        for (var deadline = DateTime.UtcNow.AddSeconds(60); ; await Task.Delay(200))
        {
            using var couriers = await Api.GetAsync("/api/couriers");
            if (couriers.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline) break;
        }
    }

    protected static object UsersFeed(string name = "users", decimal threshold = 1m, string source = "heap") => new
    {
        source,
        name,
        fields = new object[]
        {
            new { name = "user_id", type = "integer", primaryKey = true },
            new { name = "email", type = "string" },
            new { name = "joined_at", type = "datetime" },
            new { name = "score", type = "decimal", precision = 10, scale = 2 },
        },
        lastUpdatedField = "joined_at",
        errorThresholdPercent = threshold,
    };

    /// <summary>An S3 credential on the permissive moto, an active users feed, and a courier for the given keys.</summary>
    protected async Task CreateCourierAsync(string courierId, params string[] keys)
    {
        await EnsureMotoCredentialAsync();
        await EnsureUsersFeedAsync();
        await Api.PostOkAsync("/api/couriers", new
        {
            id = courierId,
            credentialId = "moto",
            files = keys.Select(k => new { key = k, feedId = "heap-users" }).ToArray(),
        });
    }

    /// <summary>Credential "moto": this class's bucket on the moto that accepts any keys.</summary>
    protected Task EnsureMotoCredentialAsync() =>
        EnsureCredentialAsync("moto", new { id = "moto", kind = "s3", bucket = Bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "test", secretAccessKey = "test" });

    protected async Task EnsureCredentialAsync(string id, object credential)
    {
        if ((await Api.GetAsync($"/api/credentials/{id}")).IsSuccessStatusCode) return;
        await Api.PostOkAsync("/api/credentials", credential);
    }

    /// <summary>An active feed of users, <c>&lt;source&gt;-users</c>: a test of a shared daemon gives a source of its own.</summary>
    protected async Task EnsureUsersFeedAsync(decimal threshold = 1m, string source = "heap")
    {
        if ((await Api.GetAsync($"/api/feeds/{source}-users")).IsSuccessStatusCode) return;
        await Api.PostOkAsync("/api/feeds", UsersFeed(threshold: threshold, source: source));
        await Api.PostOkAsync($"/api/feeds/{source}-users/activate");
    }

    protected Task<List<Dictionary<string, object?>>> QueryAsync(string sql) => TestEnvironment.QueryAsync(ConnectionString, sql);
}
