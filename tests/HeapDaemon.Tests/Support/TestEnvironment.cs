using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Npgsql;

namespace HeapDaemon.Tests.Support;

/// <summary>
/// The real services the tests talk to, started by scripts/services.sh and described by its <c>env</c> output
/// (scripts/test.sh exports it). Nothing here starts a service: a test run without them fails with that reason.
/// </summary>
public static class TestEnvironment
{
    public static string PostgresAdmin => Required("HEAPD_TEST_PG");

    /// <summary>moto that accepts any keys.</summary>
    public static string S3Endpoint => Required("HEAPD_TEST_S3_ENDPOINT");

    /// <summary>moto that checks keys and signatures against its IAM user.</summary>
    public static string S3AuthEndpoint => Required("HEAPD_TEST_S3_AUTH_ENDPOINT");

    public static string S3AuthKeyId => Required("HEAPD_TEST_S3_AUTH_KEY_ID");

    public static string S3AuthSecret => Required("HEAPD_TEST_S3_AUTH_SECRET");

    /// <summary>A role on moto-auth that heapd-test and heapd-denied may assume with external id <see cref="S3AuthExternalId"/>.</summary>
    public static string S3AuthRoleArn => Required("HEAPD_TEST_S3_AUTH_ROLE_ARN");

    public const string S3AuthExternalId = "heapd-external-id";

    /// <summary>An IAM user on moto-auth allowed nothing on S3 but to assume the role: the test daemons' own identity.</summary>
    public static string S3AuthDeniedKeyId => Required("HEAPD_TEST_S3_AUTH_DENIED_KEY_ID");

    public static string S3AuthDeniedSecret => Required("HEAPD_TEST_S3_AUTH_DENIED_SECRET");

    public static IAmazonS3 S3Client(string? endpoint = null, string keyId = "test", string secret = "test") =>
        new AmazonS3Client(new BasicAWSCredentials(keyId, secret),
            new AmazonS3Config { ServiceURL = endpoint ?? S3Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });

    public static async Task<string> CreateBucketAsync(IAmazonS3 s3, [CallerMemberName] string test = "")
    {
        var bucket = $"t-{Guid.NewGuid():N}"[..30];
        await s3.PutBucketAsync(bucket);
        return bucket;
    }

    public static Task PutAsync(IAmazonS3 s3, string bucket, string key, string content) =>
        s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, ContentBody = content });

    /// <summary>A database of its own for one test class, dropped when the class is done.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var name = $"heapd_test_{Guid.NewGuid():N}";
        await using (var admin = new NpgsqlConnection(PostgresAdmin))
        {
            await admin.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
            await cmd.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(PostgresAdmin) { Database = name }.ConnectionString;
    }

    public static async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(PostgresAdmin);
        await admin.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", admin);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>The rows of a query on a test's database, each as its columns by name.</summary>
    public static async Task<List<Dictionary<string, object?>>> QueryAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<Dictionary<string, object?>>();
        while (await reader.ReadAsync())
            rows.Add(Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i)));
        return rows;
    }

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{name} is not set: run the tests with scripts/test.sh, which starts PostgreSQL and moto and sets it");
}
