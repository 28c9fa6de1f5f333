using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Amazon.S3.Model;
using HeapDaemon.Tests.Formats;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>
/// Every format and wrapping loads through a courier run, over HTTP, from moto into PostgreSQL. The class shares one
/// daemon; each test loads into a feed (and a source) of its own and names its own PGP credential.
/// </summary>
public sealed class FileFormatRunSpecs(PgpKeys keys) : ClassDaemonSpecs<FileFormatRunSpecs>, IClassFixture<PgpKeys>
{
    private readonly string _source = $"t{Guid.NewGuid():N}"[..12];

    private string Feed => $"{_source}-users";

    private string Table => $"{_source}.users";

    private string Pgp => $"pgp-{_source}";

    private const string UsersCsv = """
        user_id,email,joined_at,score
        1,ada@example.com,2026-11-01T10:00:00Z,1.50
        2,"grace, hopper@example.com",2026-11-02T10:00:00Z,2
        3,alan@example.com,2026-11-03 10:00:00,

        """;

    private const string Expected = "1|ada@example.com|2026-11-01T10:00:00Z|1.50;2|grace, hopper@example.com|2026-11-02T10:00:00Z|2.00;3|alan@example.com|2026-11-03T10:00:00Z|";

    [Theory]
    [InlineData("users.tsv", """{"format":"tsv"}""", "user_id\temail\tjoined_at\tscore\n1\tada@example.com\t2026-11-01T10:00:00Z\t1.50\n2\tgrace, hopper@example.com\t2026-11-02T10:00:00Z\t2\n3\talan@example.com\t2026-11-03 10:00:00\t\n")]
    [InlineData("users.psv", """{"format":"psv"}""", "user_id|email|joined_at|score\n1|ada@example.com|2026-11-01T10:00:00Z|1.50\n2|grace, hopper@example.com|2026-11-02T10:00:00Z|2\n3|alan@example.com|2026-11-03 10:00:00|\n")]
    [InlineData("users.txt", """{"format":"dsv","delimiter":";","quote":"'","escape":"\\"}""", "user_id;email;joined_at;score\n1;'ada@example.com';2026-11-01T10:00:00Z;1.50\n2;grace, hopper@example.com;2026-11-02T10:00:00Z;2\n3;alan@example.com;2026-11-03 10:00:00;\n")]
    [InlineData("users-noheader.csv", """{"format":"csv","header":false}""", "1,ada@example.com,2026-11-01T10:00:00Z,1.50\n2,\"grace, hopper@example.com\",2026-11-02T10:00:00Z,2\n3,alan@example.com,2026-11-03 10:00:00,\n")]
    public async Task A_delimited_file_loads_with_its_settings(string key, string settings, string content)
    {
        await TestEnvironment.PutAsync(S3, Bucket, key, content);

        var run = await RunFileAsync(key, settings);

        AssertLoaded(run, 3);
        Assert.Equal(Expected, await UsersAsync());
    }

    [Theory]
    [InlineData("ndjson")]
    [InlineData("json")]
    [InlineData("avro-null")]
    [InlineData("avro-deflate")]
    [InlineData("avro-snappy")]
    [InlineData("parquet")]
    public async Task A_typed_file_loads_through_a_courier(string kind)
    {
        var (bytes, format) = kind switch
        {
            "ndjson" => (SampleFiles.Ndjson(), "ndjson"),
            "json" => (SampleFiles.JsonArray(), "json"),
            "parquet" => (await SampleFiles.ParquetAsync(rowGroupSize: 1), "parquet"),
            _ => (SampleFiles.Avro(kind["avro-".Length..]), "avro"),
        };
        await PutBytesAsync($"users.{kind}", bytes);

        var run = await RunFileAsync($"users.{kind}", $$"""{"format":"{{format}}"}""");

        AssertLoaded(run, 3);
        Assert.Equal(Expected, await UsersAsync());
    }

    [Fact]
    public async Task A_malformed_first_ndjson_line_is_a_reject_with_its_reason_not_a_schema_failure()
    {
        await PutBytesAsync("users.ndjson", System.Text.Encoding.UTF8.GetBytes("{\"user_id\": 1,\n" + System.Text.Encoding.UTF8.GetString(SampleFiles.Ndjson())));

        var run = await RunFileAsync("users.ndjson", """{"format":"ndjson"}""");

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.StartsWith($"s3://{Bucket}/users.ndjson: 1 of 4 rows rejected", run.GetProperty("files")[0].GetProperty("message").GetString());
        var reject = Assert.Single((await Api.GetOkAsync($"/api/runs/{run.GetProperty("id").GetGuid()}/rejects")).EnumerateArray());
        Assert.Equal(1, reject.GetProperty("line").GetInt64());
        Assert.StartsWith("malformed JSON", reject.GetProperty("reason").GetString());
        Assert.Equal("{\"user_id\": 1,", reject.GetProperty("raw").GetString());
    }

    [Fact]
    public async Task A_json_key_the_feed_does_not_know_fails_the_file_naming_it_and_hostile_names_stay_data()
    {
        await PutBytesAsync("hostile.ndjson", System.Text.Encoding.UTF8.GetBytes(
            "{\"user_id\":1,\"email\":\"a@example.com\",\"joined_at\":\"2026-11-01T00:00:00Z\"}\n" +
            "{\"user_id\":2,\"joined_at\":\"2026-11-01T00:00:00Z\",\"x\\\"; DROP TABLE heap.users; --\":1}\n"));

        var run = await RunFileAsync("hostile.ndjson", """{"format":"ndjson"}""");

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Equal($"s3://{Bucket}/hostile.ndjson: line 2: the file's columns do not match feed '{Feed}': not in the feed ['x\"; DROP TABLE heap.users; --'] (a feed with newColumns 'ignore' or 'add' accepts them)",
            run.GetProperty("files")[0].GetProperty("message").GetString());
        Assert.Empty(await QueryAsync($"SELECT * FROM {Table}"));
    }

    [Fact]
    public async Task A_gzip_compressed_parquet_file_in_a_tgz_loads()
    {
        using var scratch = new Scratch();
        scratch.Write("part-0001.parquet", await SampleFiles.ParquetAsync(rowGroupSize: 2));
        scratch.Write("_SUCCESS", "");
        await PutBytesAsync("users.tgz", scratch.Run("tar", "czf", "-", "part-0001.parquet", "_SUCCESS"));

        var run = await RunFileAsync("users.tgz", """{"format":"parquet","compression":"tgz","member":"part-*.parquet"}""");

        AssertLoaded(run, 3);
        Assert.Equal(Expected, await UsersAsync());
    }

    [Theory]
    [InlineData("avro", "damaged Avro data after record ")]
    [InlineData("parquet", "it is not a Parquet file, or its footer is missing or damaged")]
    [InlineData("csv-utf8", "line 3: bytes that are not valid UTF-8 at byte offset ")]
    [InlineData("csv-quote", "line 3: a quoted field opens there and is not closed before the end of the file")]
    [InlineData("json", "malformed JSON at line ")]
    public async Task A_corrupt_file_fails_naming_the_object_and_where_it_broke_loads_nothing_and_the_daemon_carries_on(string kind, string reason)
    {
        var many = Enumerable.Range(1, 3_000).Select(i => SampleFiles.Users[0] with { user_id = i }).ToList();
        var (bytes, settings) = kind switch
        {
            "avro" => (Damage(SampleFiles.Avro("deflate", many, syncInterval: 2048)), """{"format":"avro"}"""),
            "parquet" => ((await SampleFiles.ParquetAsync(100, many))[..^8], """{"format":"parquet"}"""),
            "csv-utf8" => (System.Text.Encoding.UTF8.GetBytes(UsersCsv).Select((b, i) => i == 75 ? (byte)0xFF : b).ToArray(), """{"format":"csv"}"""),
            "csv-quote" => (System.Text.Encoding.UTF8.GetBytes(UsersCsv.Replace("hopper@example.com\",", "hopper@example.com,")), """{"format":"csv"}"""),
            _ => (SampleFiles.JsonArray()[..^10], """{"format":"json"}"""),
        };
        await PutBytesAsync($"corrupt.{kind}", bytes);

        var run = await RunFileAsync($"corrupt.{kind}", settings);

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.StartsWith($"s3://{Bucket}/corrupt.{kind}: {reason}", run.GetProperty("files")[0].GetProperty("message").GetString());
        Assert.Empty(await QueryAsync($"SELECT * FROM {Table}"));
        Assert.Empty(await QueryAsync($"SELECT * FROM heapd.load_ledger WHERE feed_id = '{Feed}'"));
        await TestEnvironment.PutAsync(S3, Bucket, "good.csv", UsersCsv);
        AssertLoaded(await RunFileAsync("good.csv", """{"format":"csv"}"""), 3);
    }

    /// <summary>Flips a byte inside the second block of an Avro file (every block ends with the file's sync marker, as the header does).</summary>
    private static byte[] Damage(byte[] avro)
    {
        var marker = avro[^16..];
        var headerEnd = avro.AsSpan().IndexOf(marker) + 16;
        var firstBlockEnd = avro.AsSpan(headerEnd).IndexOf(marker) + headerEnd + 16;
        avro[firstBlockEnd + 40] ^= 0xFF;
        return avro;
    }

    [Fact]
    public async Task A_courier_with_invalid_file_settings_is_refused_with_the_reason()
    {
        await EnsureMotoAsync();
        await EnsureUsersFeedAsync(source: _source);

        var response = await Api.PostAsJsonAsync("/api/couriers", new
        {
            id = "bad-settings",
            credentialId = "moto",
            files = new object[] { new { key = "a.csv", feedId = Feed, settings = new { format = "tsv", delimiter = ";" } } },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("files[0].settings: format 'tsv' is delimited by tab; use format 'dsv' for delimiter ';'", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_pgp_encrypted_gzip_csv_loads_with_a_pgp_credential_whose_secrets_are_write_only()
    {
        using var scratch = new Scratch();
        scratch.Write("users.csv", UsersCsv);
        var encrypted = keys.Gpg.Encrypt(scratch.Run("gzip", "-c", "users.csv"), keys.Current, armor: true, signer: keys.Old);
        await PutBytesAsync("users.csv.gz.pgp", encrypted);
        var privateKey = keys.Gpg.ExportSecretKeys(keys.Current);

        var created = await Api.PostOkAsync("/api/credentials", new { id = Pgp, kind = "pgp", privateKey, passphrase = Gpg.Passphrase });
        var run = await RunFileAsync("users.csv.gz.pgp", """{"format":"csv"}""", Pgp);

        AssertLoaded(run, 3);
        Assert.Equal(Expected, await UsersAsync());
        Assert.Equal(keys.Gpg.EncryptionKeyId(keys.Current), created.GetProperty("keys")[0].GetProperty("keyId").GetString());
        var shown = await Api.GetStringAsync("/api/credentials") + await Api.GetStringAsync($"/api/credentials/{Pgp}");
        Assert.DoesNotContain(Gpg.Passphrase, shown);
        Assert.DoesNotContain("PRIVATE KEY", shown);
        Assert.Contains("\"kind\":\"pgp\"", shown);
        var stored = await QueryAsync($"SELECT settings::text AS settings, encode(secret, 'escape') AS secret FROM heapd.credentials WHERE id = '{Pgp}'");
        Assert.DoesNotContain("PRIVATE KEY", $"{stored[0]["settings"]}{stored[0]["secret"]}");
        Assert.DoesNotContain(Gpg.Passphrase, $"{stored[0]["settings"]}{stored[0]["secret"]}");
    }

    [Fact]
    public async Task A_tampered_pgp_file_fails_its_integrity_check_and_loads_nothing()
    {
        var encrypted = keys.Gpg.Encrypt(System.Text.Encoding.UTF8.GetBytes(UsersCsv), keys.Current, compression: "none");
        encrypted[^30] ^= 0x01; // in the last row, so every row has been read and staged before the check fails
        await PutBytesAsync("tampered.csv.pgp", encrypted);
        await Api.PostOkAsync("/api/credentials", new { id = Pgp, kind = "pgp", privateKey = keys.Gpg.ExportSecretKeys(keys.Current), passphrase = Gpg.Passphrase });

        var run = await RunFileAsync("tampered.csv.pgp", """{"format":"csv"}""", Pgp);

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Equal($"s3://{Bucket}/tampered.csv.pgp: the PGP integrity check (MDC) failed: the file was changed or damaged after it was encrypted",
            run.GetProperty("files")[0].GetProperty("message").GetString());
        Assert.Empty(await QueryAsync($"SELECT * FROM {Table}"));
        Assert.Empty(await QueryAsync($"SELECT * FROM heapd.load_ledger WHERE feed_id = '{Feed}'"));
    }

    [Fact]
    public async Task With_a_signer_key_and_require_signature_a_signed_file_loads_and_an_unsigned_one_fails_before_its_commit()
    {
        var plain = System.Text.Encoding.UTF8.GetBytes(UsersCsv);
        await PutBytesAsync("signed.csv.gpg", keys.Gpg.Encrypt(plain, keys.Current, signer: keys.Old));
        await PutBytesAsync("unsigned.csv.gpg", keys.Gpg.Encrypt(plain, keys.Current));
        var created = await Api.PostOkAsync("/api/credentials", new
        {
            id = "pgp-signed", kind = "pgp", privateKey = keys.Gpg.ExportSecretKeys(keys.Current), passphrase = Gpg.Passphrase,
            signerPublicKey = keys.Gpg.ExportPublicKey(keys.Old), requireSignature = true,
        });
        Assert.True(created.GetProperty("requireSignature").GetBoolean());
        Assert.Equal("old <old@example.com>", created.GetProperty("signers")[0].GetProperty("userIds")[0].GetString());
        Assert.True((await Api.GetOkAsync("/api/credentials/pgp-signed")).GetProperty("requireSignature").GetBoolean());

        var unsigned = await RunFileAsync("unsigned.csv.gpg", """{"format":"csv"}""", "pgp-signed");
        Assert.Equal("failed", unsigned.GetProperty("status").GetString());
        Assert.StartsWith($"s3://{Bucket}/unsigned.csv.gpg: the PGP message is not signed, and its credential requires a signature (requireSignature)",
            unsigned.GetProperty("files")[0].GetProperty("message").GetString());
        Assert.Empty(await QueryAsync($"SELECT * FROM {Table}"));
        Assert.Empty(await QueryAsync($"SELECT * FROM heapd.load_ledger WHERE feed_id = '{Feed}'"));

        AssertLoaded(await RunFileAsync("signed.csv.gpg", """{"format":"csv"}""", "pgp-signed"), 3);
        Assert.Equal(Expected, await UsersAsync());
    }

    [Fact]
    public async Task A_pgp_credential_with_require_signature_but_no_signer_key_or_a_signer_key_that_is_not_public_is_refused()
    {
        var privateKey = keys.Gpg.ExportSecretKeys(keys.Current);

        var noSigner = await Api.PostAsJsonAsync("/api/credentials", new { id = "pgp-a", kind = "pgp", privateKey, passphrase = Gpg.Passphrase, requireSignature = true });
        var secretSigner = await Api.PostAsJsonAsync("/api/credentials", new
            { id = "pgp-b", kind = "pgp", privateKey, passphrase = Gpg.Passphrase, signerPublicKey = privateKey });

        Assert.Equal(HttpStatusCode.BadRequest, noSigner.StatusCode);
        Assert.Contains("requireSignature needs signerPublicKey", await noSigner.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, secretSigner.StatusCode);
        var refusal = await secretSigner.Content.ReadAsStringAsync();
        Assert.Contains("signerPublicKey holds a private key", refusal);
        Assert.DoesNotContain("PRIVATE KEY BLOCK-----\n", refusal);
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.credentials WHERE id IN ('pgp-a', 'pgp-b')"));
    }

    [Fact]
    public async Task Signature_settings_on_an_s3_credential_are_refused_as_the_pgp_kinds()
    {
        var refused = await Api.PostAsJsonAsync("/api/credentials", new
            { id = "s3-signed", kind = "s3", bucket = Bucket, accessKeyId = "a", secretAccessKey = "b", signerPublicKey = "key", requireSignature = true });

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("signerPublicKey, requireSignature are for kind 'pgp'", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/api/credentials/s3-signed")).StatusCode);
    }

    [Fact]
    public async Task A_file_encrypted_to_another_key_fails_naming_its_key_and_the_daemon_carries_on()
    {
        await PutBytesAsync("stranger.csv.gpg", keys.Gpg.Encrypt(System.Text.Encoding.UTF8.GetBytes(UsersCsv), keys.Stranger));
        await Api.PostOkAsync("/api/credentials", new { id = Pgp, kind = "pgp", privateKey = keys.Gpg.ExportSecretKeys(keys.Current), passphrase = Gpg.Passphrase });

        var run = await RunFileAsync("stranger.csv.gpg", """{"format":"csv"}""", Pgp);

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.StartsWith($"s3://{Bucket}/stranger.csv.gpg: file cannot be decrypted using the provided PGP key: it was encrypted to key id {keys.Gpg.EncryptionKeyId(keys.Stranger)}",
            run.GetProperty("files")[0].GetProperty("message").GetString());
        await TestEnvironment.PutAsync(S3, Bucket, "plain.csv", UsersCsv);
        AssertLoaded(await RunFileAsync("plain.csv", """{"format":"csv"}"""), 3);
    }

    [Fact]
    public async Task A_pgp_credential_that_cannot_decrypt_is_refused_and_a_courier_cannot_name_a_missing_one()
    {
        var wrongPassphrase = await Api.PostAsJsonAsync("/api/credentials", new { id = Pgp, kind = "pgp", privateKey = keys.Gpg.ExportSecretKeys(keys.Current), passphrase = "nope" });
        var publicKey = await Api.PostAsJsonAsync("/api/credentials", new { id = Pgp, kind = "pgp", privateKey = keys.Gpg.ExportPublicKey(keys.Current), passphrase = "x" });
        await EnsureMotoAsync();
        await EnsureUsersFeedAsync(source: _source);
        var courier = await Api.PostAsJsonAsync("/api/couriers", new
        {
            id = "needs-key", credentialId = "moto",
            files = new object[] { new { key = "a.csv.pgp", feedId = Feed, pgpCredentialId = "no-such-key" } },
        });

        Assert.Equal(HttpStatusCode.BadRequest, wrongPassphrase.StatusCode);
        Assert.Contains("the passphrase does not unlock key", await wrongPassphrase.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, publicKey.StatusCode);
        Assert.Contains("this is a public key", await publicKey.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, courier.StatusCode);
        Assert.Contains("PGP credential 'no-such-key' does not exist", await courier.Content.ReadAsStringAsync());
        Assert.Empty(await QueryAsync($"SELECT * FROM heapd.credentials WHERE id = '{Pgp}'"));
    }

    [Theory]
    [InlineData("zip", """{"format":"csv","compression":"zip","member":"users_*.csv"}""")]
    [InlineData("tgz", """{"format":"csv","compression":"tgz","member":"exports/users_2026.csv"}""")]
    public async Task A_member_of_an_archive_loads(string kind, string settings)
    {
        using var scratch = new Scratch();
        scratch.Write("exports/users_2026.csv", UsersCsv);
        scratch.Write("exports/readme.txt", "not this one");
        var archive = kind == "zip" ? scratch.Run("zip", "-q", "-r", "-", "exports") : scratch.Run("tar", "czf", "-", "exports");
        await PutBytesAsync($"users.{kind}", archive);

        var run = await RunFileAsync($"users.{kind}", settings);

        AssertLoaded(run, 3);
        Assert.Equal(Expected, await UsersAsync());
    }

    [Fact]
    public async Task A_truncated_gzip_fails_the_file_naming_the_object_and_loads_nothing()
    {
        using var scratch = new Scratch();
        scratch.Write("users.csv", UsersCsv + string.Concat(Enumerable.Range(10, 20_000).Select(i => $"{i},u{i}@example.com,2026-11-01T10:00:00Z,1\n")));
        var gz = scratch.Run("gzip", "-c", "users.csv");
        await PutBytesAsync("users.csv.gz", gz[..(gz.Length * 2 / 3)]);

        var run = await RunFileAsync("users.csv.gz", """{"format":"csv"}""");

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.StartsWith($"s3://{Bucket}/users.csv.gz: the gzip data is truncated or damaged after", run.GetProperty("files")[0].GetProperty("message").GetString());
        Assert.Empty(await QueryAsync($"SELECT * FROM {Table}"));
    }

    [Theory]
    [InlineData(793)] // its fold ends on the file's last line
    [InlineData(790)] // more rows follow its fold
    public async Task A_stray_quote_that_folds_lines_into_one_reject_counts_every_line_it_spans_against_the_threshold(int strayLine)
    {
        // 800 data lines (the header is line 1); a quote opened at the start of a field closes at the next quote, 8
        // lines further down, so 9 lines are one record: 1 rejected record of 792 (0.13%), but 9 of 800 lines (1.13%)
        // over the feed's 1%.
        var lines = Enumerable.Range(1, 800).Select(i => $"{i},u{i}@example.com,2026-11-01T00:00:00Z,1").ToList();
        lines[strayLine - 2] = $"{strayLine - 1},\"u{strayLine - 1}@example.com,2026-11-01T00:00:00Z,1";
        lines[strayLine + 6] = $"{strayLine + 7},\"u{strayLine + 7}@example.com\",2026-11-01T00:00:00Z,1";
        await TestEnvironment.PutAsync(S3, Bucket, "folded.csv", "user_id,email,joined_at,score\n" + string.Join("\n", lines) + "\n");

        var run = await RunFileAsync("folded.csv", """{"format":"csv"}""");

        Assert.Equal("failed", run.GetProperty("status").GetString());
        var message = run.GetProperty("files")[0].GetProperty("message").GetString();
        Assert.StartsWith($"s3://{Bucket}/folded.csv: 1 of 792 rows rejected, spanning 9 of the file's 800 lines (1.13%), above feed '{Feed}' error threshold of 1%; nothing from this file was loaded. " +
            $"First: lines {strayLine}-{strayLine + 8}, read as one record: malformed quoting", message);
        Assert.Empty(await QueryAsync($"SELECT * FROM {Table}"));
        Assert.Empty(await QueryAsync($"SELECT * FROM heapd.load_ledger WHERE feed_id = '{Feed}'"));
        var reject = Assert.Single((await Api.GetOkAsync($"/api/runs/{run.GetProperty("id").GetGuid()}/rejects")).EnumerateArray());
        Assert.Equal(strayLine, reject.GetProperty("line").GetInt64());
        Assert.Equal(strayLine + 8, reject.GetProperty("lineEnd").GetInt64());
        Assert.Equal(9, reject.GetProperty("raw").GetString()!.Split('\n').Length);
    }

    [Fact]
    public async Task A_reject_over_several_lines_under_the_threshold_shows_its_line_range_and_later_lines_keep_their_numbers()
    {
        var lines = Enumerable.Range(1, 2_000).Select(i => $"{i},u{i}@example.com,2026-11-01T00:00:00Z,1").ToList();
        lines[99] = "100,\"u100@example.com,2026-11-01T00:00:00Z,1";
        lines[101] = "102,\"u102@example.com\",2026-11-01T00:00:00Z,1";
        lines[1_499] = "1500,u1500@example.com,not-a-date,1";
        await TestEnvironment.PutAsync(S3, Bucket, "fold-small.csv", "user_id,email,joined_at,score\n" + string.Join("\n", lines) + "\n");

        var run = await RunFileAsync("fold-small.csv", """{"format":"csv"}""");

        Assert.True("succeeded" == run.GetProperty("status").GetString(), run.ToString());
        var file = run.GetProperty("files")[0];
        Assert.Equal(1_996, file.GetProperty("rowsInserted").GetInt64());
        Assert.Equal(2, file.GetProperty("rowsRejected").GetInt64());
        Assert.Equal(1_996L, (await QueryAsync($"SELECT count(*) AS n FROM {Table}"))[0]["n"]);
        var rejects = (await Api.GetOkAsync($"/api/runs/{run.GetProperty("id").GetGuid()}/rejects")).EnumerateArray().ToList();
        Assert.Equal([(101L, 103L), (1_501L, 1_501L)], rejects.Select(r => (r.GetProperty("line").GetInt64(), r.GetProperty("lineEnd").GetInt64())));
        Assert.StartsWith("lines 101-103, read as one record: malformed quoting", rejects[0].GetProperty("reason").GetString());
        Assert.StartsWith("field 'joined_at'", rejects[1].GetProperty("reason").GetString());
        Assert.Equal(
            (await QueryAsync("SELECT count(*) AS n FROM heapd.rejects WHERE object_key = 'fold-small.csv' AND line = 101 AND line_end = 103"))[0]["n"], 1L);
    }

    [Theory]
    [InlineData("empty.csv", false)]
    [InlineData("blank.csv", false)]
    [InlineData("empty.csv.gz", false)]
    [InlineData("empty.csv.pgp", false)]
    [InlineData("empty.ndjson", false)]
    [InlineData("empty.avro", false)]
    [InlineData("empty.parquet", false)]
    [InlineData("empty.csv", true)]
    [InlineData("blank.csv", true)]
    [InlineData("empty.csv.gz", true)]
    [InlineData("empty.csv.pgp", true)]
    [InlineData("empty.ndjson", true)]
    [InlineData("empty.avro", true)]
    [InlineData("empty.parquet", true)]
    public async Task An_empty_object_fails_naming_the_file_unless_its_entry_allows_empty_files(string key, bool allowEmpty)
    {
        using var scratch = new Scratch();
        scratch.Write("empty", "");
        var (bytes, settings) = key switch
        {
            "blank.csv" => ("\n\r\n\n"u8.ToArray(), """{"format":"csv"}"""),
            "empty.csv.gz" => (scratch.Run("gzip", "-c", "empty"), """{"format":"csv"}"""),
            "empty.csv.pgp" => (keys.Gpg.Encrypt([], keys.Current), """{"format":"csv"}"""),
            "empty.ndjson" => ([], """{"format":"ndjson"}"""),
            "empty.avro" => ([], """{"format":"avro"}"""),
            "empty.parquet" => ([], """{"format":"parquet"}"""),
            _ => (Array.Empty<byte>(), """{"format":"csv"}"""),
        };
        Assert.Equal(key is "empty.csv.gz" or "empty.csv.pgp" or "blank.csv", bytes.Length > 0);
        await PutBytesAsync(key, bytes);
        var pgp = key.EndsWith(".pgp") ? Pgp : null;
        if (pgp is not null)
            await EnsureCredentialAsync(pgp, new { id = pgp, kind = "pgp", privateKey = keys.Gpg.ExportSecretKeys(keys.Current), passphrase = Gpg.Passphrase });

        var run = await RunFileAsync(key, settings, pgp, allowEmpty: allowEmpty);

        var file = run.GetProperty("files")[0];
        var message = file.GetProperty("message").GetString()!;
        if (allowEmpty)
        {
            Assert.True("succeeded" == run.GetProperty("status").GetString(), run.ToString());
            Assert.Equal("loaded", file.GetProperty("status").GetString());
            Assert.Equal(0, file.GetProperty("rowsRead").GetInt64());
            Assert.StartsWith($"s3://{Bucket}/{key}: the file is empty", message);
            Assert.Contains("recorded as loaded with 0 rows, as its courier file entry allows (allowEmpty)", message);
            Assert.Single(await QueryAsync($"SELECT * FROM heapd.load_ledger WHERE object_key = '{key}' AND feed_id = '{Feed}'"));
        }
        else
        {
            Assert.Equal("failed", run.GetProperty("status").GetString());
            Assert.Equal("failed", file.GetProperty("status").GetString());
            Assert.StartsWith($"s3://{Bucket}/{key}: the file is empty", message);
            Assert.Contains("set \"allowEmpty\": true on the courier's file entry", message);
            Assert.Empty(await QueryAsync($"SELECT * FROM heapd.load_ledger WHERE object_key = '{key}' AND feed_id = '{Feed}'"));
        }
    }

    [Fact]
    public async Task A_csv_of_only_its_header_and_avro_and_parquet_files_with_their_schema_and_no_rows_load_as_zero_rows()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "header-only.csv", "user_id,email,joined_at,score\n");
        await PutBytesAsync("no-rows.avro", SampleFiles.Avro("snappy", []));
        await PutBytesAsync("no-rows.parquet", await SampleFiles.ParquetAsync(users: []));

        foreach (var (key, format) in new[] { ("header-only.csv", "csv"), ("no-rows.avro", "avro"), ("no-rows.parquet", "parquet") })
        {
            var run = await RunFileAsync(key, $$"""{"format":"{{format}}"}""");
            Assert.True("succeeded" == run.GetProperty("status").GetString(), run.ToString());
            Assert.Equal("loaded", run.GetProperty("files")[0].GetProperty("status").GetString());
            Assert.Equal(0, run.GetProperty("files")[0].GetProperty("rowsRead").GetInt64());
            Assert.DoesNotContain("empty", run.GetProperty("files")[0].GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task AllowEmpty_is_checked_shown_and_kept_with_the_courier_across_a_restart()
    {
        await EnsureMotoAsync();
        await EnsureUsersFeedAsync(source: _source);

        var wrongType = await Api.PostAsJsonAsync("/api/couriers", new
        {
            id = "allow-empty", credentialId = "moto",
            files = new object[] { new { key = "a.csv", feedId = Feed, allowEmpty = "yes" } },
        });
        var created = await Api.PostOkAsync("/api/couriers", new
        {
            id = "allow-empty", credentialId = "moto",
            files = new object[] { new { key = "a.csv", feedId = Feed, allowEmpty = true }, new { key = "b.csv", feedId = Feed } },
        });
        await RestartDaemonAsync();
        var shown = await Api.GetOkAsync("/api/couriers/allow-empty");

        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.Contains("allowEmpty", await wrongType.Content.ReadAsStringAsync());
        Assert.True(created.GetProperty("config").GetProperty("files")[0].GetProperty("allowEmpty").GetBoolean());
        Assert.True(shown.GetProperty("config").GetProperty("files")[0].GetProperty("allowEmpty").GetBoolean());
        Assert.False(shown.GetProperty("config").GetProperty("files")[1].GetProperty("allowEmpty").GetBoolean());
    }

    private async Task EnsureMotoAsync() =>
        await EnsureMotoCredentialAsync();

    /// <summary>A courier of one file with the given settings (JSON) and optional PGP credential, run once.</summary>
    private async Task<JsonElement> RunFileAsync(string key, string settings, string? pgpCredentialId = null, bool allowEmpty = false)
    {
        await EnsureMotoAsync();
        await EnsureUsersFeedAsync(source: _source);
        var courierId = $"c-{Guid.NewGuid():N}"[..20];
        var file = new Dictionary<string, object?> { ["key"] = key, ["feedId"] = Feed, ["settings"] = JsonDocument.Parse(settings).RootElement };
        if (pgpCredentialId is not null) file["pgpCredentialId"] = pgpCredentialId;
        if (allowEmpty) file["allowEmpty"] = true;
        await Api.PostOkAsync("/api/couriers", new { id = courierId, credentialId = "moto", files = new[] { file } });
        return await Api.RunAsync(courierId);
    }

    private static void AssertLoaded(JsonElement run, long rows)
    {
        Assert.True("succeeded" == run.GetProperty("status").GetString(), run.ToString());
        var file = run.GetProperty("files")[0];
        Assert.Equal(rows, file.GetProperty("rowsInserted").GetInt64());
    }

    private async Task<string> UsersAsync() =>
        string.Join(';', (await QueryAsync($"SELECT user_id, email, joined_at, score FROM {Table} ORDER BY user_id"))
            .Select(r => $"{r["user_id"]}|{r["email"]}|{(DateTime)r["joined_at"]!:yyyy-MM-dd'T'HH:mm:ss'Z'}|{r["score"]}"));

    private Task PutBytesAsync(string key, byte[] bytes) =>
        S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = new MemoryStream(bytes) });
}
