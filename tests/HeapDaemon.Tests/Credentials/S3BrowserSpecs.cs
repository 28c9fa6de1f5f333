using System.Net;
using System.Text.Json;
using Amazon.S3.Model;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Credentials;

/// <summary>One bucket of 5,000 objects for the whole class: filling it is the slow part.</summary>
public sealed class BigBucket : IAsyncLifetime
{
    public const int FlatObjects = 4_990;

    public string Name { get; private set; } = "";

    public async Task InitializeAsync()
    {
        using var s3 = TestEnvironment.S3Client();
        Name = await TestEnvironment.CreateBucketAsync(s3);
        var keys = Enumerable.Range(0, FlatObjects).Select(i => $"big/flat/obj-{i:D5}.csv")
            .Concat(Enumerable.Range(0, 10).Select(i => $"big/2026/11/{i + 1:D2}/users.csv"));
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, ct) =>
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = Name, Key = key, ContentBody = key }, ct));
        await TestEnvironment.PutAsync(s3, Name, "big/readme.txt", "0123456789");
        foreach (var key in OddKeys) await TestEnvironment.PutAsync(s3, Name, key, "x");
    }

    public static readonly string[] OddKeys = ["odd/a+b=c&d.csv", "odd/it's ünïcödé; DROP TABLE x.csv"];

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>The file browser over a bucket with 5,000 objects: one page per request, folders apart from files (one daemon for the class).</summary>
public sealed class S3BrowserSpecs(BigBucket big) : ClassDaemonSpecs<S3BrowserSpecs>, IClassFixture<BigBucket>
{
    private const int FlatObjects = BigBucket.FlatObjects;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await EnsureCredentialAsync("moto", new { id = "moto", kind = "s3", bucket = big.Name, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "test", secretAccessKey = "test" });
    }

    [Fact]
    public async Task A_folder_of_thousands_of_objects_comes_in_pages_of_the_asked_size_linked_by_continuation_tokens()
    {
        var keys = new List<string>();
        var pageSizes = new List<int>();
        string? token = null;
        do
        {
            var page = await Api.GetOkAsync($"/api/credentials/moto/browse?prefix=big/flat/&pageSize=1000{(token is null ? "" : "&continuationToken=" + Uri.EscapeDataString(token))}");
            var objects = page.GetProperty("objects").EnumerateArray().ToList();
            pageSizes.Add(objects.Count);
            keys.AddRange(objects.Select(o => o.GetProperty("key").GetString()!));
            Assert.Empty(page.GetProperty("folders").EnumerateArray());
            token = page.TryGetProperty("nextContinuationToken", out var next) ? next.GetString() : null;
        } while (token is not null);

        Assert.Equal([1000, 1000, 1000, 1000, 990], pageSizes);
        Assert.Equal(FlatObjects, keys.Distinct().Count());
        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
    }

    [Fact]
    public async Task A_page_shows_folders_as_common_prefixes_and_objects_with_size_last_modified_and_etag()
    {
        var page = await Api.GetOkAsync("/api/credentials/moto/browse?prefix=big/");

        Assert.Equal(["big/2026/", "big/flat/"], page.GetProperty("folders").EnumerateArray().Select(f => f.GetProperty("prefix").GetString()));
        Assert.Equal(["2026", "flat"], page.GetProperty("folders").EnumerateArray().Select(f => f.GetProperty("name").GetString()));
        var file = Assert.Single(page.GetProperty("objects").EnumerateArray());
        Assert.Equal("big/readme.txt", file.GetProperty("key").GetString());
        Assert.Equal("readme.txt", file.GetProperty("name").GetString());
        Assert.Equal(10, file.GetProperty("size").GetInt64());
        Assert.InRange(file.GetProperty("lastModified").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Matches("^[0-9a-f]{32}$", file.GetProperty("eTag").GetString());
        Assert.False(page.TryGetProperty("nextContinuationToken", out _));

        var root = await Api.GetOkAsync("/api/credentials/moto/browse");
        Assert.Equal(["big/", "odd/"], root.GetProperty("folders").EnumerateArray().Select(f => f.GetProperty("prefix").GetString()));
    }

    [Fact]
    public async Task A_small_page_size_pages_through_folders_and_files_together()
    {
        var first = await Api.GetOkAsync("/api/credentials/moto/browse?prefix=big/&pageSize=2");
        var second = await Api.GetOkAsync($"/api/credentials/moto/browse?prefix=big/&pageSize=2&continuationToken={Uri.EscapeDataString(first.GetProperty("nextContinuationToken").GetString()!)}");

        Assert.Equal(2, first.GetProperty("folders").GetArrayLength() + first.GetProperty("objects").GetArrayLength());
        Assert.Equal("big/readme.txt", Assert.Single(second.GetProperty("objects").EnumerateArray()).GetProperty("key").GetString());
        Assert.False(second.TryGetProperty("nextContinuationToken", out _));
    }

    [Fact]
    public async Task Keys_with_spaces_quotes_and_unicode_come_back_exactly_and_a_hostile_prefix_is_only_a_prefix()
    {
        var odd = await Api.GetOkAsync("/api/credentials/moto/browse?prefix=" + Uri.EscapeDataString("odd/"));
        var hostile = await Api.GetOkAsync("/api/credentials/moto/browse?prefix=" + Uri.EscapeDataString("'; DROP TABLE heapd.credentials; --/../"));

        Assert.Equal(BigBucket.OddKeys, odd.GetProperty("objects").EnumerateArray().Select(o => o.GetProperty("key").GetString()));
        Assert.Empty(hostile.GetProperty("objects").EnumerateArray());
        Assert.Empty(hostile.GetProperty("folders").EnumerateArray());
        Assert.Single(await QueryAsync("SELECT 1 FROM heapd.credentials WHERE id = 'moto'"));
    }

    [Theory]
    [InlineData("pageSize=0", HttpStatusCode.BadRequest, "pageSize must be 1-1000")]
    [InlineData("pageSize=1001", HttpStatusCode.BadRequest, "pageSize must be 1-1000")]
    [InlineData("pageSize=ten", HttpStatusCode.BadRequest, "pageSize 'ten' is not valid")]
    public async Task Page_sizes_outside_what_S3_serves_are_refused(string query, HttpStatusCode status, string reason)
    {
        var response = await Api.GetAsync($"/api/credentials/moto/browse?{query}");

        Assert.Equal(status, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Browsing_a_bucket_that_does_not_exist_answers_502_with_the_cause_and_code()
    {
        await Api.PostOkAsync("/api/credentials", new { id = "gone", kind = "s3", bucket = "heapd-no-such-bucket", endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "test", secretAccessKey = "test" });

        var response = await Api.GetAsync("/api/credentials/gone/browse");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("noSuchBucket", problem.GetProperty("cause").GetString());
        Assert.Equal("NoSuchBucket", problem.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/api/credentials/nope/browse")).StatusCode);
    }
}
