using System.Security.Cryptography;
using Amazon.S3;
using Npgsql;
using Xunit;

namespace HeapDaemon.Tests.Support;

/// <summary>One test class's world: its own database, bucket and daemon; torn down after the class.</summary>
public abstract class DaemonSpecs : IAsyncLifetime
{
    protected string MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    protected string ConnectionString = "";
    protected DaemonHost Daemon = null!;
    protected HttpClient Api = null!;
    protected IAmazonS3 S3 = null!;
    protected string Bucket = "";

    public virtual async Task InitializeAsync()
    {
        ConnectionString = await TestEnvironment.CreateDatabaseAsync();
        S3 = TestEnvironment.S3Client();
        Bucket = await TestEnvironment.CreateBucketAsync(S3);
        StartDaemon();
    }

    public async Task DisposeAsync()
    {
        await Daemon.DisposeAsync();
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

    protected async Task RestartDaemonAsync(params string[] previousMasterKeys)
    {
        await Daemon.DisposeAsync();
        StartDaemon(previousMasterKeys);
    }

    protected static object UsersFeed(string name = "users", decimal threshold = 1m) => new
    {
        source = "heap",
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

    protected async Task EnsureUsersFeedAsync(decimal threshold = 1m)
    {
        if ((await Api.GetAsync("/api/feeds/heap-users")).IsSuccessStatusCode) return;
        await Api.PostOkAsync("/api/feeds", UsersFeed(threshold: threshold));
        await Api.PostOkAsync("/api/feeds/heap-users/activate");
    }

    protected async Task<List<Dictionary<string, object?>>> QueryAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<Dictionary<string, object?>>();
        while (await reader.ReadAsync())
            rows.Add(Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i)));
        return rows;
    }
}
