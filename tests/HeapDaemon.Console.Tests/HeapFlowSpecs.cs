using Amazon.S3;
using HeapDaemon.Console.Tests.Support;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Microsoft.Playwright;
using Xunit;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HeapDaemon.Console.Tests;

/// <summary>
/// The seed's flow for Heap Connect, from an empty daemon to the identity views, with the console served under a path
/// base (<c>/heapd</c>), as behind a reverse proxy that forwards a path to it.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class HeapFlowSpecs(Browser browser, ITestOutputHelper output) : IAsyncLifetime
{
    private ConsoleDaemon _daemon = null!;
    private IAmazonS3 _s3 = null!;
    private string _bucket = "";

    public async Task InitializeAsync()
    {
        _daemon = await ConsoleDaemon.StartAsync(pathBase: "/heapd");
        _s3 = TestEnvironment.S3Client();
        _bucket = await TestEnvironment.CreateBucketAsync(_s3);
        // A faithful Heap Connect export: manifests and snappy Avro parts, three dumps with a user migration.
        await new HeapExportGenerator(seed: 5, _bucket, prefix: "heap-export/").Generate().UploadAsync(_s3);
    }

    public async Task DisposeAsync()
    {
        output.WriteLine(_daemon.Log.Length > 20_000 ? _daemon.Log[^20_000..] : _daemon.Log);
        await _daemon.DisposeAsync();
        _s3.Dispose();
    }

    [Fact]
    public async Task A_Heap_export_is_found_under_its_prefix_made_a_courier_run_and_its_tables_and_resolved_views_shown_under_a_path_base()
    {
        await using var walk = await Walk.StartAsync(browser, _daemon, output);
        var page = walk.Page;
        await walk.SignInAsync(ConsoleDaemon.AdminToken);
        Assert.StartsWith(_daemon.Url, page.Url);

        await page.GetByRole(AriaRole.Link, new() { Name = "Add courier" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Heap Connect for S3" }).ClickAsync();
        await walk.CreateS3CredentialAsync("heap-bucket", _bucket);
        await Expect(page.GetByText("Connection successful")).ToBeVisibleAsync();
        await walk.StepAsync("heap-credential");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();

        // The prefix first: at the bucket's root there is no manifest, and the page says so in place.
        await page.GetByRole(AriaRole.Button, new() { Name = "Find tables" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("No manifest under");
        await walk.StepAsync("heap-no-manifest");
        await page.GetByLabel("Prefix").FillAsync("heap-export/");
        await page.GetByRole(AriaRole.Button, new() { Name = "Find tables" }).ClickAsync();
        var tables = page.GetByRole(AriaRole.Table);
        foreach (var table in new[] { "users", "sessions", "pageviews", "user_migrations" })
            await Expect(tables.GetByRole(AriaRole.Cell, new() { Name = table, Exact = true })).ToBeVisibleAsync();
        await walk.StepAsync("heap-tables", docs: "heap-tables");
        // Nothing is made before the user asks.
        using (var api = _daemon.Api()) Assert.Equal("[]", (await api.GetStringAsync("api/couriers")).Trim());

        await page.GetByRole(AriaRole.Button, new() { Name = "Create and run" }).ClickAsync();
        await page.WaitForURLAsync(url => url.Contains("/heapd/runs/"));
        await Expect(page.Locator("[data-run-ended=succeeded]")).ToBeVisibleAsync(new() { Timeout = 180_000 });
        await walk.StepAsync("heap-run");

        await page.GetByRole(AriaRole.Link, new() { Name = "Sources" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Heap", Exact = true })).ToBeVisibleAsync();
        await walk.StepAsync("heap-sources");
        await page.GetByRole(AriaRole.Link, new() { Name = "Heap:Users", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Rows" }).Locator("tbody tr").First).ToBeVisibleAsync();
        await walk.StepAsync("heap-users");
        await page.GetByRole(AriaRole.Link, new() { Name = "heap.users_resolved" }).ClickAsync();
        var rows = page.GetByRole(AriaRole.Region, new() { Name = "Rows" });
        await Expect(rows.GetByRole(AriaRole.Columnheader, new() { Name = "merged_user_ids" })).ToBeVisibleAsync();
        await Expect(rows.Locator("tbody tr").First).ToBeVisibleAsync();
        await walk.StepAsync("heap-users-resolved", docs: "identity-view");
        await page.GetByRole(AriaRole.Link, new() { Name = "heap.pageviews_resolved" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Rows" }).GetByRole(AriaRole.Columnheader, new() { Name = "resolved_user_id" })).ToBeVisibleAsync();
        await walk.StepAsync("heap-pageviews-resolved");
    }
}
