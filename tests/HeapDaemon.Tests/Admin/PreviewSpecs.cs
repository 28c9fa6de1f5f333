using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Amazon.S3.Model;
using HeapDaemon.Tests.Formats;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>POST /api/preview and /api/feeds/infer against moto: what a user sees before making a feed (one daemon for the class).</summary>
public sealed class PreviewSpecs(PgpKeys keys) : ClassDaemonSpecs<PreviewSpecs>, IClassFixture<PgpKeys>
{
    /// <summary>Low enough that a test file can pass it.</summary>
    protected override IReadOnlyDictionary<string, string> DaemonSettings => new Dictionary<string, string> { ["Preview:MaxWrappedParquetMegabytes"] = "1" };

    [Fact]
    public async Task A_gzip_csv_preview_infers_its_settings_and_types_shows_200_rows_and_reads_only_the_start()
    {
        var csv = new StringBuilder("user_id,email,joined_at,score,active,zip\n");
        for (var i = 1; i <= 400_000; i++) csv.Append($"{i},user{i}@example.com,2026-11-{1 + i % 28:00}T10:00:00Z,{i % 1000}.{i % 100:00},{(i % 2 == 0 ? "true" : "false")},0{i % 9999:0000}\n");
        var gzip = Gzip(csv.ToString());
        await PutAsync("exports/users.csv.gz", gzip);

        var preview = await PreviewAsync(new { credentialId = "moto", key = "exports/users.csv.gz" });

        Assert.Equal("""{"format":"csv","header":true,"compression":"gzip"}""", preview.GetProperty("settings").GetRawText());
        Assert.Equal("gzip", preview.GetProperty("unwrapped").GetString());
        Assert.Equal(["user_id:integer", "email:string", "joined_at:datetime", "score:decimal", "active:boolean", "zip:string"],
            preview.GetProperty("columns").EnumerateArray().Select(c => $"{c.GetProperty("name").GetString()}:{c.GetProperty("type").GetString()}"));
        var rows = preview.GetProperty("rows");
        Assert.Equal(200, rows.GetArrayLength());
        Assert.Equal("""["1","user1@example.com","2026-11-02T10:00:00Z","1.01","false","00001"]""", rows[0].GetRawText());
        Assert.StartsWith("user_id,email,joined_at,score,active,zip\n1,user1@example.com,", preview.GetProperty("raw").GetString());
        // The stream is abandoned after 200 rows: a few read buffers of a multi-megabyte object.
        var read = preview.GetProperty("bytesRead").GetInt64();
        Assert.True(read < gzip.Length / 3, $"read {read} of {gzip.Length} bytes");
    }

    [Fact]
    public async Task Settings_in_the_request_override_what_was_inferred()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "data.txt", "a;b\n1;2\n3;4\n");

        var preview = await PreviewAsync(new { credentialId = "moto", key = "data.txt", settings = new { header = false } });

        Assert.Equal("""{"format":"dsv","delimiter":";","header":false,"compression":"none"}""", preview.GetProperty("settings").GetRawText());
        Assert.Equal(["column_1", "column_2"], preview.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.Equal(3, preview.GetProperty("rows").GetArrayLength());
    }

    [Fact]
    public async Task A_pgp_encrypted_ndjson_file_previews_with_its_pgp_credential()
    {
        await PutAsync("users.ndjson.pgp", keys.Gpg.Encrypt(SampleFiles.Ndjson(), keys.Current, armor: true, compression: "zlib"));
        await EnsureCredentialAsync("pgp-key", new { id = "pgp-key", kind = "pgp", privateKey = keys.Gpg.ExportSecretKeys(keys.Current), passphrase = Gpg.Passphrase });

        var preview = await PreviewAsync(new { credentialId = "moto", key = "users.ndjson.pgp", pgpCredentialId = "pgp-key" });

        Assert.Equal("PGP", preview.GetProperty("unwrapped").GetString());
        Assert.Equal("ndjson", preview.GetProperty("settings").GetProperty("format").GetString());
        Assert.Equal(["user_id:integer", "email:string", "joined_at:datetime", "score:decimal"],
            preview.GetProperty("columns").EnumerateArray().Select(c => $"{c.GetProperty("name").GetString()}:{c.GetProperty("type").GetString()}"));
        Assert.Equal("""["3","alan@example.com","2026-11-03T10:00:00Z",null]""", preview.GetProperty("rows")[2].GetRawText());
    }

    [Fact]
    public async Task Plain_parquet_previews_by_ranged_reads_of_its_footer_and_first_row_group()
    {
        var users = Enumerable.Range(1, 300_000).Select(i => SampleFiles.Users[i % 3] with { user_id = i, email = $"{Guid.NewGuid()}@example.com" }).ToList();
        var parquet = await SampleFiles.ParquetAsync(rowGroupSize: 50_000, users);
        await PutAsync("users.parquet", parquet);

        var preview = await PreviewAsync(new { credentialId = "moto", key = "users.parquet" });

        Assert.Equal("""{"format":"parquet","compression":"none"}""", preview.GetProperty("settings").GetRawText());
        Assert.Equal(["user_id:integer", "email:string", "joined_at:datetime", "score:decimal"],
            preview.GetProperty("columns").EnumerateArray().Select(c => $"{c.GetProperty("name").GetString()}:{c.GetProperty("type").GetString()}"));
        Assert.Equal(200, preview.GetProperty("rows").GetArrayLength());
        Assert.StartsWith("PAR1", preview.GetProperty("raw").GetString());
        var read = preview.GetProperty("bytesRead").GetInt64();
        Assert.True(read < parquet.Length / 2, $"read {read} of {parquet.Length} bytes");
    }

    [Fact]
    public async Task A_plain_parquet_file_cut_short_or_damaged_previews_as_422_saying_where()
    {
        var users = Enumerable.Range(1, 30).Select(i => SampleFiles.Users[0] with { user_id = i }).ToList();
        var whole = await SampleFiles.ParquetAsync(rowGroupSize: 10, users);
        var damaged = whole.ToArray();
        await using (var reader = await Parquet.ParquetReader.CreateAsync(new MemoryStream(whole)))
        {
            var email = reader.Metadata!.RowGroups[0].Columns[1].MetaData!;
            damaged.AsSpan((int)email.DataPageOffset, 8).Fill(0xFF); // the page header of the first row group's email column
        }
        await PutAsync("cut.parquet", whole[..^12]);
        await PutAsync("damaged.parquet", damaged);

        var cut = await Api.PostAsJsonAsync("/api/preview", new { credentialId = "moto", key = "cut.parquet" });
        var broken = await Api.PostAsJsonAsync("/api/preview", new { credentialId = "moto", key = "damaged.parquet" });

        Assert.Equal(422, (int)cut.StatusCode);
        Assert.Contains($"s3://{Bucket}/cut.parquet: it is not a Parquet file, or its footer is missing or damaged", await cut.Content.ReadAsStringAsync());
        Assert.Equal(422, (int)broken.StatusCode);
        Assert.Contains($"s3://{Bucket}/damaged.parquet: damaged Parquet data in row group 1 of 3, after record 0 (column 'email': ",
            await broken.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_pgp_encrypted_parquet_file_over_the_limit_is_refused_with_that_reason()
    {
        var users = Enumerable.Range(1, 60_000).Select(i => SampleFiles.Users[0] with { user_id = i, email = $"{Guid.NewGuid()}@example.com" }).ToList();
        var encrypted = keys.Gpg.Encrypt(await SampleFiles.ParquetAsync(10_000, users), keys.Current, compression: "none");
        Assert.True(encrypted.Length > 1 << 20, $"the test file must pass the 1 MB limit, it has {encrypted.Length} bytes");
        await PutAsync("users.parquet.pgp", encrypted);
        await EnsureCredentialAsync("pgp-key", new { id = "pgp-key", kind = "pgp", privateKey = keys.Gpg.ExportSecretKeys(keys.Current), passphrase = Gpg.Passphrase });

        var response = await Api.PostAsJsonAsync("/api/preview", new { credentialId = "moto", key = "users.parquet.pgp", pgpCredentialId = "pgp-key" });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains($"s3://{Bucket}/users.parquet.pgp: a Parquet file that is PGP-encrypted (PGP) must be read whole to be previewed, and only files under 1 MB are",
            await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_zip_is_previewed_from_its_only_member_and_one_over_the_limit_is_refused_without_reading_it_all()
    {
        using var scratch = new Scratch();
        scratch.Write("users.csv", "id,name\n1,ada\n");
        await PutAsync("small.zip", scratch.Run("zip", "-q", "-", "users.csv"));
        scratch.Write("big.csv", string.Concat(Enumerable.Range(0, 80_000).Select(_ => Guid.NewGuid() + "\n")));
        var big = scratch.Run("zip", "-q", "-", "big.csv");
        Assert.True(big.Length > 1 << 20, $"the test zip must pass the 1 MB limit, it has {big.Length} bytes");
        await PutAsync("big.zip", big);

        var small = await PreviewAsync(new { credentialId = "moto", key = "small.zip" });
        var refused = await Api.PostAsJsonAsync("/api/preview", new { credentialId = "moto", key = "big.zip" });

        Assert.Equal("""{"format":"csv","header":true,"compression":"zip"}""", small.GetProperty("settings").GetRawText());
        Assert.Equal("zip member 'users.csv'", small.GetProperty("unwrapped").GetString());
        Assert.Equal(422, (int)refused.StatusCode);
        Assert.Contains($"s3://{Bucket}/big.zip: it must be read whole before it can be read at all, and it is over the 1 MB allowed here",
            await refused.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("missing.csv", null, 404, "no such object (NoSuchKey)")]
    [InlineData("stranger.csv.gpg", "pgp-key", 422, "file cannot be decrypted using the provided PGP key")]
    [InlineData("stranger.csv.gpg", null, 422, "it is PGP-encrypted; set the file's pgpCredentialId")]
    public async Task A_preview_that_cannot_be_made_says_why_naming_the_object(string key, string? pgp, int status, string reason)
    {
        await PutAsync("stranger.csv.gpg", keys.Gpg.Encrypt(Encoding.UTF8.GetBytes("a,b\n1,2\n"), keys.Stranger));
        await EnsureCredentialAsync("pgp-key", new { id = "pgp-key", kind = "pgp", privateKey = keys.Gpg.ExportSecretKeys(keys.Current), passphrase = Gpg.Passphrase });

        var response = await Api.PostAsJsonAsync("/api/preview", new { credentialId = "moto", key, pgpCredentialId = pgp });

        Assert.Equal(status, (int)response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains($"s3://{Bucket}/{key}", text);
        Assert.Contains(reason, text);
    }

    [Fact]
    public async Task A_draft_feed_from_a_sample_file_can_be_saved_activated_and_loaded()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "orders.csv", """
            Order ID,Customer Email,Placed At,Total,Gift
            1001,ada@example.com,2026-11-01 10:00:00,12.50,no
            1002,grace@example.com,2026-11-02 11:30:00,7.25,yes

            """);

        var draft = await Api.PostOkAsync("/api/feeds/infer", new { credentialId = "moto", key = "orders.csv", source = "shop", name = "orders" });

        var feed = draft.GetProperty("feed");
        Assert.Equal(["Order ID:integer:order_id:True", "Customer Email:string:customer_email:False", "Placed At:datetime:placed_at:False", "Total:decimal:total:False", "Gift:boolean:gift:False"],
            feed.GetProperty("fields").EnumerateArray().Select(f =>
                $"{f.GetProperty("name").GetString()}:{f.GetProperty("type").GetString()}:{f.GetProperty("column").GetString()}:{f.TryGetProperty("primaryKey", out var pk) && pk.GetBoolean()}"));
        Assert.Contains(draft.GetProperty("notes").EnumerateArray(), n => n.GetString()!.StartsWith("primary key 'Order ID' was guessed"));
        Assert.Empty(draft.GetProperty("problems").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/api/feeds/shop-orders")).StatusCode);

        await Api.PostOkAsync("/api/feeds", JsonSerializer.Deserialize<JsonElement>(feed.GetRawText()));
        await Api.PostOkAsync("/api/feeds/shop-orders/activate");
        await Api.PostOkAsync("/api/couriers", new { id = "orders", credentialId = "moto", files = new[] { new { key = "orders.csv", feedId = "shop-orders", settings = draft.GetProperty("settings") } } });
        var run = await Api.RunAsync("orders");

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal(["1001|12.50|False", "1002|7.25|True"],
            (await QueryAsync("SELECT order_id, total, gift FROM shop.orders ORDER BY 1")).Select(r => $"{r["order_id"]}|{r["total"]}|{r["gift"]}"));
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await EnsureMotoCredentialAsync();
    }

    private async Task<JsonElement> PreviewAsync(object request) => await Api.PostOkAsync("/api/preview", request);

    private Task PutAsync(string key, byte[] bytes) =>
        S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = new MemoryStream(bytes) });

    private static byte[] Gzip(string text)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(Encoding.UTF8.GetBytes(text));
        return output.ToArray();
    }
}
