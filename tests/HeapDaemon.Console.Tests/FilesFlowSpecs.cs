using System.Globalization;
using Amazon.S3;
using Amazon.S3.Model;
using HeapDaemon.Console.Tests.Support;
using HeapDaemon.Tests.Support;
using Microsoft.Playwright;
using Xunit;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HeapDaemon.Console.Tests;

/// <summary>The seed's flow for files, from an empty daemon to the rows of the domain table, by pointer and keyboard in a real browser.</summary>
[Collection(BrowserCollection.Name)]
public sealed class FilesFlowSpecs(Browser browser, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Key = "exports/users_2026-11-26.csv.gz.gpg";
    private ConsoleDaemon _daemon = null!;
    private IAmazonS3 _s3 = null!;
    private string _bucket = "";
    private readonly Gpg _gpg = new();
    private string _uid = "";

    public async Task InitializeAsync()
    {
        _daemon = await ConsoleDaemon.StartAsync();
        _s3 = TestEnvironment.S3Client();
        _bucket = await TestEnvironment.CreateBucketAsync(_s3);
        _uid = _gpg.GenerateKey("sender");
        // A gzip CSV, then encrypted: as a partner sends it (gpg's own compression off, the file is compressed already).
        var encrypted = _gpg.Encrypt(Files.Gzip(Files.UsersCsv), _uid, compression: "none");
        await _s3.PutObjectAsync(new PutObjectRequest { BucketName = _bucket, Key = Key, InputStream = new MemoryStream(encrypted) });
        await TestEnvironment.PutAsync(_s3, _bucket, "readme.txt", "not a feed");
    }

    public async Task DisposeAsync()
    {
        output.WriteLine(_daemon.Log.Length > 20_000 ? _daemon.Log[^20_000..] : _daemon.Log);
        await _daemon.DisposeAsync();
        _s3.Dispose();
        _gpg.Dispose();
    }

    [Fact]
    public async Task A_PGP_encrypted_gzip_CSV_is_browsed_reviewed_made_a_feed_activated_run_for_a_calendar_day_and_its_rows_shown()
    {
        await using var walk = await Walk.StartAsync(browser, _daemon, output);
        var page = walk.Page;
        await walk.SignInAsync(ConsoleDaemon.AdminToken);
        await Expect(page.GetByText("No source yet")).ToBeVisibleAsync();
        await walk.StepAsync("sources-empty");

        await page.GetByRole(AriaRole.Link, new() { Name = "Add courier" }).ClickAsync();
        await walk.StepAsync("add-courier", docs: "add-courier");
        await page.GetByRole(AriaRole.Link, new() { Name = "Files from S3" }).ClickAsync();

        // Credential: made here, tested at once.
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Credential", Exact = true })).ToBeVisibleAsync();
        await walk.CreateS3CredentialAsync("partner", _bucket);
        await Expect(page.GetByText("Connection successful")).ToBeVisibleAsync();
        await walk.StepAsync("credential-tested", docs: "credential");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();

        // File: a PGP credential added on the way, then the bucket browsed to the file.
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "File", Exact = true })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Add a PGP credential" }).ClickAsync();
        await page.Locator("#pgp-id").FillAsync("sender");
        await page.Locator("#pgp-key").FillAsync(_gpg.ExportSecretKeys(_uid));
        await page.Locator("#pgp-pass").FillAsync(Gpg.Passphrase);
        await walk.StepAsync("pgp-credential");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save PGP credential" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "File", Exact = true })).ToBeVisibleAsync();
        await page.GetByLabel("PGP credential").SelectOptionAsync("sender");
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this PGP credential" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "readme.txt", Exact = true })).ToBeVisibleAsync();
        await walk.StepAsync("browse-root", docs: "file");
        await page.GetByRole(AriaRole.Link, new() { Name = "exports/" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "users_2026-11-26.csv.gz.gpg", Exact = true })).ToBeVisibleAsync();
        await walk.StepAsync("browse-folder");
        await page.GetByRole(AriaRole.Link, new() { Name = "Select users_2026-11-26.csv.gz.gpg" }).ClickAsync();

        // Review: decrypted and decompressed, as a table and as raw text; a changed setting previews again.
        var preview = page.GetByRole(AriaRole.Region, new() { Name = "The file's first rows" });
        await Expect(preview.GetByRole(AriaRole.Columnheader, new() { Name = "email" })).ToBeVisibleAsync();
        await Expect(preview.GetByText("grace@example.com")).ToBeVisibleAsync();
        await walk.StepAsync("review-table", docs: "review");
        await page.GetByRole(AriaRole.Button, new() { Name = "Raw" }).ClickAsync();
        await Expect(page.Locator("pre.raw")).ToContainTextAsync("user_id,email,first_name");
        await walk.StepAsync("review-raw");
        await page.GetByRole(AriaRole.Button, new() { Name = "Table" }).ClickAsync();
        await page.GetByLabel("Header row").SelectOptionAsync("false");
        await page.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();
        // Without a header the names are data: the first row holds them.
        await Expect(preview.Locator("tbody tr").First).ToContainTextAsync("user_id");
        await Expect(page.GetByLabel("Header row")).ToHaveValueAsync("false");
        await walk.StepAsync("review-no-header");
        await page.GetByLabel("Header row").SelectOptionAsync("true");
        await page.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();
        await Expect(preview.GetByRole(AriaRole.Columnheader, new() { Name = "email" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Continue with these settings" }).ClickAsync();

        // Feed: a new one, named from the file.
        await Expect(page.GetByLabel("Feed name")).ToHaveValueAsync("users");
        await page.GetByLabel("Source", new() { Exact = true }).FillAsync("partner");
        await walk.StepAsync("feed", docs: "feed");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save and continue" }).ClickAsync();

        // Feed editor: a type and a tag changed, then Activate (which saves them first).
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Feed editor: partner-users" })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Semantic tags of email, separated by commas")).ToHaveValueAsync("email");
        await page.GetByLabel("Type of score").SelectOptionAsync("float");
        await page.GetByLabel("Semantic tags of plan, separated by commas").FillAsync("customer-tier");
        await walk.StepAsync("feed-editor", docs: "feed-editor");
        await page.GetByRole(AriaRole.Button, new() { Name = "Activate" }).ClickAsync();

        // Run: a day picked from the calendar.
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Run courier users" })).ToBeVisibleAsync();
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        await page.Locator($"a[aria-label^='{day.ToString("dddd d MMMM yyyy", CultureInfo.InvariantCulture)}']").ClickAsync();
        await Expect(page.GetByLabel("Day", new() { Exact = true })).ToHaveValueAsync(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        await walk.StepAsync("run", docs: "run");
        await page.GetByRole(AriaRole.Button, new() { Name = "Run", Exact = true }).ClickAsync();

        // The run's page follows it live, and shows the outcome.
        await page.WaitForURLAsync(url => url.Contains("/runs/"));
        await Expect(page.Locator("[data-run-ended=succeeded]")).ToBeVisibleAsync(new() { Timeout = 120_000 });
        var file = page.GetByRole(AriaRole.Row).Filter(new() { HasText = Key });
        await Expect(file.Locator(".badge.loaded")).ToBeVisibleAsync();
        await Expect(file).ToContainTextAsync("3 rows read, 3 inserted");
        await walk.StepAsync("run-finished", docs: "run-page");

        // Sources, then the domain table with its rows, the edited type and tag.
        await page.GetByRole(AriaRole.Link, new() { Name = "Sources" }).ClickAsync();
        await walk.StepAsync("sources", docs: "sources");
        await page.GetByRole(AriaRole.Link, new() { Name = "Partner:Users" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Rows" }).GetByText("ada@example.com")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "score" }).First).ToContainTextAsync("Float");
        await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "customer-tier" }).First).ToContainTextAsync("plan");
        await walk.StepAsync("domain-table", docs: "domain-table");

        await page.GetByRole(AriaRole.Link, new() { Name = "Runs", Exact = true }).ClickAsync();
        await page.GetByLabel("Status").SelectOptionAsync("succeeded");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "users", Exact = true })).ToBeVisibleAsync();
        await walk.StepAsync("runs", docs: "runs");
    }
}
