using Amazon.S3;
using Amazon.S3.Model;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Tests.Support;
using Npgsql;
using Xunit;

namespace HeapDaemon.Tests.Loading;

/// <summary>Exactly once per object: by ETag in a plain bucket, by version id in a versioned one.</summary>
public sealed class ObjectVersionSpecs : DaemonSpecs
{
    private const string Header = "user_id,email,joined_at,score\n";
    private const string Original = Header + "1,a@example.com,2026-11-01T00:00:00Z,1\n2,b@example.com,2026-11-01T00:00:00Z,2\n";
    private const string Edited = Header + "1,a@example.com,2026-11-01T00:00:00Z,1\n2,new@example.com,2026-11-02T00:00:00Z,2\n";

    [Fact]
    public async Task In_a_plain_bucket_the_same_content_uploaded_again_is_skipped_and_new_content_loads()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "users.csv", Original);
        await CreateCourierAsync("plain", "users.csv");
        Assert.Equal("loaded", FileStatus(await Api.RunAsync("plain")));

        await TestEnvironment.PutAsync(S3, Bucket, "users.csv", Original);
        var same = await Api.RunAsync("plain");
        Assert.Equal("skipped", FileStatus(same));
        Assert.Contains("(ETag ", same.GetProperty("files")[0].GetProperty("message").GetString());

        await TestEnvironment.PutAsync(S3, Bucket, "users.csv", Edited);
        var changed = await Api.RunAsync("plain");
        Assert.Equal("loaded", FileStatus(changed));
        Assert.Equal(1, changed.GetProperty("files")[0].GetProperty("rowsUpdated").GetInt64());
        Assert.Equal("new@example.com", (await QueryAsync("SELECT email FROM heap.users WHERE user_id = 2"))[0]["email"]);
        Assert.Equal(["", ""], (await QueryAsync("SELECT version_id FROM heapd.load_ledger")).Select(r => (string)r["version_id"]!));
    }

    [Fact]
    public async Task In_a_versioned_bucket_each_new_version_loads_once_even_with_the_same_bytes()
    {
        await S3.PutBucketVersioningAsync(new PutBucketVersioningRequest
        {
            BucketName = Bucket,
            VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled },
        });
        var first = await S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = "users.csv", ContentBody = Original });
        await CreateCourierAsync("versioned", "users.csv");
        Assert.Equal("loaded", FileStatus(await Api.RunAsync("versioned")));

        var unchanged = await Api.RunAsync("versioned");
        Assert.Equal("skipped", FileStatus(unchanged));
        Assert.Contains($"(version {first.VersionId})", unchanged.GetProperty("files")[0].GetProperty("message").GetString());

        var second = await S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = "users.csv", ContentBody = Original });
        var again = await Api.RunAsync("versioned");
        Assert.Equal("loaded", FileStatus(again));
        Assert.Equal(0, again.GetProperty("files")[0].GetProperty("rowsInserted").GetInt64());
        var ledger = await QueryAsync("SELECT etag, version_id FROM heapd.load_ledger ORDER BY loaded_at");
        Assert.Equal([first.VersionId, second.VersionId], ledger.Select(r => (string)r["version_id"]!));
        Assert.Single(ledger.Select(r => r["etag"]).Distinct());
    }

    private const string A = Header + "1,alice@example.com,2026-11-01T00:00:00Z,1\n2,bob@example.com,2026-11-01T00:00:00Z,2\n";
    private const string B = Header + "1,alice2@example.com,2026-11-01T00:00:00Z,1\n3,carol@example.com,2026-11-01T00:00:00Z,3\n";
    private const string Reloaded = "content of an earlier version, loaded again because a later version was loaded since";

    [Fact]
    public async Task In_a_plain_bucket_content_re_sent_after_a_later_version_loads_again_and_restores_rows_whose_last_updated_values_tie()
    {
        await CreateCourierAsync("resent", "people.csv");

        await TestEnvironment.PutAsync(S3, Bucket, "people.csv", A);
        Assert.Equal("loaded", FileStatus(await Api.RunAsync("resent")));
        Assert.Equal("1:alice@example.com 2:bob@example.com", await PeopleAsync());

        await TestEnvironment.PutAsync(S3, Bucket, "people.csv", B);
        Assert.Equal("loaded", FileStatus(await Api.RunAsync("resent")));
        Assert.Equal("1:alice2@example.com 2:bob@example.com 3:carol@example.com", await PeopleAsync());

        await TestEnvironment.PutAsync(S3, Bucket, "people.csv", A);
        var again = await Api.RunAsync("resent");
        Assert.Equal("loaded", FileStatus(again));
        Assert.Equal(1, again.GetProperty("files")[0].GetProperty("rowsUpdated").GetInt64());
        Assert.Contains(Reloaded, again.GetProperty("files")[0].GetProperty("message").GetString());
        Assert.Equal("1:alice@example.com 2:bob@example.com 3:carol@example.com", await PeopleAsync());

        Assert.Equal("skipped", FileStatus(await Api.RunAsync("resent")));
        Assert.Equal("1:alice@example.com 2:bob@example.com 3:carol@example.com", await PeopleAsync());
        Assert.Equal(2, (await QueryAsync("SELECT * FROM heapd.load_ledger WHERE object_key = 'people.csv'")).Count);
    }

    [Fact]
    public async Task In_a_versioned_bucket_an_earlier_version_made_current_again_by_deleting_the_later_one_loads_again()
    {
        await S3.PutBucketVersioningAsync(new PutBucketVersioningRequest
        {
            BucketName = Bucket,
            VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled },
        });
        await CreateCourierAsync("reverted", "people.csv");
        await S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = "people.csv", ContentBody = A });
        Assert.Equal("loaded", FileStatus(await Api.RunAsync("reverted")));
        var later = await S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = "people.csv", ContentBody = B });
        Assert.Equal("loaded", FileStatus(await Api.RunAsync("reverted")));
        Assert.Equal("1:alice2@example.com 2:bob@example.com 3:carol@example.com", await PeopleAsync());

        await S3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = "people.csv", VersionId = later.VersionId });
        var reverted = await Api.RunAsync("reverted");

        Assert.Equal("loaded", FileStatus(reverted));
        Assert.Contains(Reloaded, reverted.GetProperty("files")[0].GetProperty("message").GetString());
        Assert.Equal("1:alice@example.com 2:bob@example.com 3:carol@example.com", await PeopleAsync());
        Assert.Equal("skipped", FileStatus(await Api.RunAsync("reverted")));
    }

    [Fact]
    public Task A_ledger_from_before_version_ids_gains_the_column_and_keeps_its_rows() => WithOwnDatabaseAsync(async db =>
    {
        await using (var cmd = db.CreateCommand("""
            CREATE SCHEMA heapd;
            CREATE TABLE heapd.load_ledger (bucket text NOT NULL, object_key text NOT NULL, etag text NOT NULL, feed_id text NOT NULL,
                run_id uuid NOT NULL, rows_loaded bigint NOT NULL, rows_rejected bigint NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (bucket, object_key, etag, feed_id));
            INSERT INTO heapd.load_ledger VALUES ('b', 'k', 'e', 'f', gen_random_uuid(), 5, 0);
            """))
            await cmd.ExecuteNonQueryAsync();

        await MetadataSchema.EnsureAsync(db, CancellationToken.None);
        await MetadataSchema.EnsureAsync(db, CancellationToken.None);

        Assert.NotNull(await LoadLedger.FindAsync(db, "b", "k", "e", null, "f", CancellationToken.None));
        Assert.Null(await LoadLedger.FindAsync(db, "b", "k", "e", "v1", "f", CancellationToken.None));
        await using var key = db.CreateCommand("""
            SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey, a.attnum)) FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = 'heapd.load_ledger'::regclass AND i.indisprimary
            """);
        Assert.Equal("bucket,object_key,feed_id,etag,version_id", await key.ExecuteScalarAsync());
    });

    [Fact]
    public Task A_ledger_from_before_load_order_numbers_its_rows_in_the_order_they_loaded_and_before_any_later_load() => WithOwnDatabaseAsync(async db =>
    {
        await using (var cmd = db.CreateCommand("""
            CREATE SCHEMA heapd;
            CREATE SEQUENCE heapd.file_load_seq;
            SELECT setval('heapd.file_load_seq', 5);
            CREATE TABLE heapd.load_ledger (bucket text NOT NULL, object_key text NOT NULL, etag text NOT NULL, feed_id text NOT NULL,
                run_id uuid NOT NULL, rows_loaded bigint NOT NULL, rows_rejected bigint NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now(),
                version_id text NOT NULL DEFAULT '', skipped boolean NOT NULL DEFAULT false,
                PRIMARY KEY (bucket, object_key, feed_id, etag, version_id));
            INSERT INTO heapd.load_ledger (bucket, object_key, etag, feed_id, run_id, rows_loaded, rows_rejected, loaded_at) VALUES
                ('b', 'k', 'later', 'f', gen_random_uuid(), 2, 0, '2026-11-02'),
                ('b', 'k', 'earlier', 'f', gen_random_uuid(), 1, 0, '2026-11-01');
            """))
            await cmd.ExecuteNonQueryAsync();

        await MetadataSchema.EnsureAsync(db, CancellationToken.None);
        await MetadataSchema.EnsureAsync(db, CancellationToken.None);

        var earlier = await LoadLedger.FindAsync(db, "b", "k", "earlier", null, "f", CancellationToken.None);
        var later = await LoadLedger.FindAsync(db, "b", "k", "later", null, "f", CancellationToken.None);
        Assert.Equal(2, earlier!.LoadedSince!.RowsLoaded);
        Assert.Null(later!.LoadedSince);
        Assert.Equal([new LedgerVersion("b", "k", "later", "")], await LoadLedger.LastLoadAsync(db, "f", CancellationToken.None));
        await using var numbers = db.CreateCommand("SELECT (SELECT max(load_seq) FROM heapd.load_ledger) < nextval('heapd.file_load_seq')");
        Assert.True((bool)(await numbers.ExecuteScalarAsync())!);
    });

    /// <summary>Runs a check on a database of its own (a ledger from an earlier version), dropped after.</summary>
    private static async Task WithOwnDatabaseAsync(Func<NpgsqlDataSource, Task> check)
    {
        var connectionString = await TestEnvironment.CreateDatabaseAsync();
        try
        {
            await using var db = NpgsqlDataSource.Create(connectionString);
            await check(db);
        }
        finally
        {
            await TestEnvironment.DropDatabaseAsync(connectionString);
        }
    }

    private async Task<string> PeopleAsync() =>
        string.Join(' ', (await QueryAsync("SELECT user_id, email FROM heap.users ORDER BY user_id")).Select(r => $"{r["user_id"]}:{r["email"]}"));

    private static string FileStatus(System.Text.Json.JsonElement run) => run.GetProperty("files")[0].GetProperty("status").GetString()!;
}
