using System.Text;
using System.Text.Json;
using HeapDaemon.Console.Tests.Support;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Npgsql;
using Microsoft.Playwright;
using Xunit;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HeapDaemon.Console.Tests;

/// <summary>An admin cancels a run in flight from its page; resolves a failed run from its page (rejects read, the run retried, the bad file skipped); pauses a schedule from Sources, sees an active feed's migration before saving it, and cannot delete a feed in use.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AdminRunSpecs(Browser browser, ShopSetup setup, ITestOutputHelper output) : IClassFixture<ShopSetup>
{
    [Fact]
    public async Task A_failed_run_shows_its_rejects_a_retry_fails_again_skipping_its_bad_file_resolves_it_the_schedule_pauses_from_the_actions_menu_a_feed_edit_shows_its_migration_first_and_a_feed_in_use_is_not_deleted()
    {
        await using var walk = await Walk.StartAsync(browser, setup.Daemon, output);
        var page = walk.Page;
        await walk.SignInAsync(ConsoleDaemon.AdminToken);

        await page.GotoAsync($"runs/{setup.RunId}");
        var rejects = page.GetByRole(AriaRole.Region, new() { Name = "Rejected rows" });
        await Expect(rejects.GetByRole(AriaRole.Row).Filter(new() { HasText = "three,barbara" })).ToContainTextAsync("'three' is not an Integer");
        var bad = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "bad.csv" }).First;
        await Expect(bad.Locator(".badge.failed")).ToBeVisibleAsync();
        await walk.StepAsync("failed-run", docs: "failed-run");
        // A retry asks the same again: the bad file fails again, and is then skipped, which resolves the run.
        await page.GetByRole(AriaRole.Button, new() { Name = "Retry" }).ClickAsync();
        await page.WaitForURLAsync(url => url.Contains("/runs/") && !url.Contains(setup.RunId.ToString()));
        await Expect(page.Locator("[data-run-ended=failed]")).ToBeVisibleAsync(new() { Timeout = 120_000 });
        await Expect(page.GetByText("by a retry")).ToBeVisibleAsync();
        await walk.StepAsync("retried");
        await page.GetByRole(AriaRole.Button, new() { Name = "Skip file 1" }).ClickAsync();
        await Expect(page.GetByText("File 1 is skipped")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "bad.csv" }).First.Locator(".badge.skipped")).ToBeVisibleAsync();
        await Expect(page.Locator("dl.facts .badge.succeeded")).ToBeVisibleAsync();
        await walk.StepAsync("file-skipped");

        await page.GetByRole(AriaRole.Link, new() { Name = "Sources" }).ClickAsync();
        await page.GetByText("Actions for people").ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Pause schedule" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "paused (0 6 * * *, UTC)" })).ToBeVisibleAsync();
        await walk.StepAsync("schedule-paused");

        // Editing an active feed shows what saving does to its table before anything is saved.
        await page.GotoAsync("feeds/shop-people");
        await page.GetByLabel("Incoming name of new field").FillAsync("email");
        await page.GetByRole(AriaRole.Button, new() { Name = "Review changes" }).ClickAsync();
        var migration = page.GetByRole(AriaRole.Region, new() { Name = "What saving does to shop.people" });
        await Expect(migration).ToContainTextAsync("Add column email (text) for field email.");
        await walk.StepAsync("migration-shown", docs: "migration");
        using (var api = setup.Daemon.Api())
            Assert.DoesNotContain("\"email\"", await api.GetStringAsync("api/feeds/shop-people"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        await Expect(page.GetByText("Saved. shop.people has been migrated.")).ToBeVisibleAsync();
        using (var api = setup.Daemon.Api())
            Assert.Contains("\"email\"", await api.GetStringAsync("api/feeds/shop-people"));

        // A feed a courier loads into is not deleted: the page says why, in place.
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete feed shop-people" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Feed 'shop-people' is used by");
        await walk.StepAsync("feed-delete-refused");
    }

    [Fact]
    public async Task A_run_in_flight_is_cancelled_from_its_page_the_page_follows_it_to_cancelled_and_the_domain_table_is_unchanged()
    {
        // The second courier reads its file through a connection that stalls mid-object: its run stays in flight
        // (the stall outlasts the test: S3:ReadStallTimeout is a minute) until it is cancelled.
        using var s3 = TestEnvironment.S3Client();
        var bucket = await TestEnvironment.CreateBucketAsync(s3);
        await TestEnvironment.PutAsync(s3, bucket, "orders-first.csv", "id,item\n1,old\n2,old\n");
        var big = new StringBuilder("id,item\n");
        for (var i = 1; i <= 40_000; i++) big.Append(i).Append(",new item ").Append(i).Append('\n');
        await TestEnvironment.PutAsync(s3, bucket, "orders-big.csv", big.ToString());
        await using var proxy = new FaultyProxy(TestEnvironment.S3Endpoint, _ => new Fault.StallAfter(128 * 1024));
        Guid runId;
        using (var api = setup.Daemon.Api())
        {
            await ShopSetup.PostAsync(api, "api/credentials", new { id = "orders-direct", kind = "s3", bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "test", secretAccessKey = "test" });
            await ShopSetup.PostAsync(api, "api/credentials", new { id = "orders-stalling", kind = "s3", bucket, endpointUrl = proxy.Endpoint, accessKeyId = "test", secretAccessKey = "test" });
            await ShopSetup.PostAsync(api, "api/feeds", new { source = "shop", name = "orders", fields = new object[] { new { name = "id", type = "integer", primaryKey = true }, new { name = "item", type = "string" } } });
            await ShopSetup.PostAsync(api, "api/feeds/shop-orders/activate", new { });
            await ShopSetup.PostAsync(api, "api/couriers", new { id = "orders-first", credentialId = "orders-direct", files = new[] { new { key = "orders-first.csv", feedId = "shop-orders" } } });
            await ShopSetup.PostAsync(api, "api/couriers", new { id = "orders", credentialId = "orders-stalling", files = new[] { new { key = "orders-big.csv", feedId = "shop-orders" } } });
            var first = (await ShopSetup.PostAsync(api, "api/couriers/orders-first/runs", new { })).GetProperty("runId").GetGuid();
            await ShopSetup.WaitForRunAsync(api, first);
            runId = (await ShopSetup.PostAsync(api, "api/couriers/orders/runs", new { })).GetProperty("runId").GetGuid();
        }

        await using var walk = await Walk.StartAsync(browser, setup.Daemon, output);
        var page = walk.Page;
        await walk.SignInAsync(ConsoleDaemon.AdminToken);
        await page.GotoAsync($"runs/{runId}");
        // The live view shows the file being read, without the page being loaded again.
        var progress = page.Locator(".card.progress");
        await Expect(progress).ToContainTextAsync("orders-big.csv", new() { Timeout = 120_000 });
        await Expect(page.Locator("dl.facts .badge.running")).ToBeVisibleAsync();
        await walk.StepAsync("run-in-flight");

        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" }).ClickAsync();
        await Expect(page.GetByText("Cancelling: the run ends as cancelled")).ToBeVisibleAsync();
        // The live view follows the run until it ends and shows it ended, as cancelled; the test does not reload.
        await Expect(page.Locator("[data-run-ended=cancelled]")).ToBeVisibleAsync(new() { Timeout = 120_000 });
        await Expect(page.Locator("dl.facts .badge.cancelled")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" })).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Retry" })).ToBeVisibleAsync();
        await walk.StepAsync("run-cancelled", docs: "run-cancelled");

        // Nothing of the cancelled file was committed: the table holds what the first courier loaded, and only that.
        await using (var db = new NpgsqlConnection(setup.Daemon.ConnectionString))
        {
            await db.OpenAsync();
            await using var read = new NpgsqlCommand("SELECT string_agg(id || ':' || item, ',' ORDER BY id) FROM shop.orders", db);
            Assert.Equal("1:old,2:old", await read.ExecuteScalarAsync());
        }
        await page.GotoAsync("tables/Shop%3AOrders");
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Rows" }).GetByRole(AriaRole.Row)).ToHaveCountAsync(3);
        await Expect(page.GetByText("new item")).ToHaveCountAsync(0);
        await walk.StepAsync("table-unchanged");
    }

    [Fact]
    public async Task A_couriers_file_entries_and_credential_are_edited_from_its_edit_page_and_what_the_service_refuses_is_said_in_place()
    {
        using (var api = setup.Daemon.Api())
        {
            var partner = JsonDocument.Parse(await api.GetStringAsync("api/credentials/partner")).RootElement;
            await ShopSetup.PostAsync(api, "api/credentials", new { id = "partner-eu", kind = "s3", bucket = partner.GetProperty("bucket").GetString(), endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "test", secretAccessKey = "test" });
            await ShopSetup.PostAsync(api, "api/couriers", new { id = "edited", credentialId = "partner", files = new[] { new { key = "good.csv", feedId = "shop-people" } } });
        }
        await using var walk = await Walk.StartAsync(browser, setup.Daemon, output);
        var page = walk.Page;
        await walk.SignInAsync(ConsoleDaemon.AdminToken);
        await page.GotoAsync("couriers/edited");
        await page.GetByRole(AriaRole.Link, new() { Name = "Edit", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Edit courier edited" })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Key or pattern of file 1")).ToHaveValueAsync("good.csv");

        // A folder is not one object: the service's rule, said in place, with what was typed kept.
        await page.GetByLabel("S3 credential").SelectOptionAsync("partner-eu");
        await page.GetByLabel("Key or pattern of file 1").FillAsync("exports/");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save courier" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("File 1: key must name one object");
        await Expect(page.GetByLabel("Key or pattern of file 1")).ToHaveValueAsync("exports/");
        await walk.StepAsync("courier-edit-refused");

        await page.GetByLabel("Key or pattern of file 1").FillAsync("exports/people.csv");
        await page.GetByText("File settings of file 1").ClickAsync();
        await page.Locator("#file-0-delimiter").FillAsync(";");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save courier" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("File 1, settings: format 'csv' is delimited by ','");
        await page.GetByText("File settings of file 1").ClickAsync();
        await page.Locator("#file-0-format").SelectOptionAsync("dsv");
        await page.Locator("#file-1-kind").SelectOptionAsync("pattern");
        await page.Locator("#file-1-value").FillAsync("'daily/'yyyy-MM-dd'.csv'");
        await page.Locator("#file-1-feed").SelectOptionAsync("shop-people");
        await page.Locator("#file-1-optional").CheckAsync();
        await walk.StepAsync("courier-edit", docs: "courier-edit");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save courier" }).ClickAsync();
        await Expect(page.GetByText("Saved: courier edited reads 2 files with credential partner-eu")).ToBeVisibleAsync();
        using (var api = setup.Daemon.Api())
        {
            var config = JsonDocument.Parse(await api.GetStringAsync("api/couriers/edited")).RootElement.GetProperty("config");
            Assert.Equal("partner-eu", config.GetProperty("credentialId").GetString());
            var files = config.GetProperty("files");
            Assert.Equal(2, files.GetArrayLength());
            Assert.Equal("exports/people.csv", files[0].GetProperty("key").GetString());
            Assert.Equal(";", files[0].GetProperty("settings").GetProperty("delimiter").GetString());
            Assert.Equal("dsv", files[0].GetProperty("settings").GetProperty("format").GetString());
            Assert.Equal("'daily/'yyyy-MM-dd'.csv'", files[1].GetProperty("pattern").GetString());
            Assert.True(files[1].GetProperty("optional").GetBoolean());
        }

        // Removing the first file leaves the pattern.
        await page.GetByLabel("Remove file 1").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save courier" }).ClickAsync();
        await Expect(page.GetByText("Saved: courier edited reads 1 file with credential partner-eu")).ToBeVisibleAsync();
        await Expect(page.Locator("#file-0-value")).ToHaveValueAsync("'daily/'yyyy-MM-dd'.csv'");
        await walk.StepAsync("courier-edited");
    }

    [Fact]
    public async Task An_admin_stitches_from_the_Stitch_page_finds_a_customer_by_email_sees_their_records_across_sources_and_saves_a_setting()
    {
        using (var api = setup.Daemon.Api())
        {
            var bucket = JsonDocument.Parse(await api.GetStringAsync("api/credentials/partner")).RootElement.GetProperty("bucket").GetString()!;
            using var s3 = TestEnvironment.S3Client();
            await TestEnvironment.PutAsync(s3, bucket, "contacts.csv",
                "contact_id,first_name,last_name,email\nc1,Ada,Lovelace,ada@example.com\nc2,Grace,Hopper,grace@example.com\n");
            await TestEnvironment.PutAsync(s3, bucket, "members.csv", "member_id,first_name,last_name,email\nm1,Ada,Lovelace,ada@example.com\n");
            foreach (var (source, name, key, file) in new[] { ("crm", "contacts", "contact_id", "contacts.csv"), ("loyalty", "members", "member_id", "members.csv") })
            {
                // first_name, last_name and email get their profile tags suggested by name, as a user would accept them.
                await ShopSetup.PostAsync(api, "api/feeds", new
                {
                    source, name,
                    fields = new object[] { new { name = key, type = "string", primaryKey = true }, new { name = "first_name", type = "string" }, new { name = "last_name", type = "string" }, new { name = "email", type = "string" } },
                });
                await ShopSetup.PostAsync(api, $"api/feeds/{source}-{name}/activate", new { });
                await ShopSetup.PostAsync(api, "api/couriers", new { id = $"{source}-{name}", credentialId = "partner", files = new[] { new { key = file, feedId = $"{source}-{name}" } } });
                var run = await ShopSetup.WaitForRunAsync(api, (await ShopSetup.PostAsync(api, $"api/couriers/{source}-{name}/runs", new { })).GetProperty("runId").GetGuid());
                Assert.Equal("succeeded", run.GetProperty("status").GetString());
            }
        }
        await using var walk = await Walk.StartAsync(browser, setup.Daemon, output);
        var page = walk.Page;
        await walk.SignInAsync(ConsoleDaemon.AdminToken);
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Console" }).GetByRole(AriaRole.Link, new() { Name = "Stitch" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Full rebuild" }).ClickAsync();
        await Expect(page.GetByText("A full rebuild is queued")).ToBeVisibleAsync();
        var runs = page.GetByRole(AriaRole.Region, new() { Name = "Stitch runs" });
        for (var deadline = DateTime.UtcNow.AddMinutes(2); await runs.Locator(".badge.succeeded").CountAsync() == 0; await page.ReloadAsync())
        {
            Assert.True(await runs.Locator(".badge.failed").CountAsync() == 0, await runs.InnerTextAsync());
            Assert.True(DateTime.UtcNow < deadline, $"no stitch succeeded within 2 minutes: {await runs.InnerTextAsync()}");
            await Task.Delay(500);
        }
        await walk.StepAsync("stitch", docs: "stitch");

        // A setting the service refuses is said in place; one it takes is saved.
        await page.GetByLabel("Match threshold").FillAsync("1.5");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("1.5 is not valid: expected a probability above 0 and below 1");
        await page.GetByLabel("Match threshold").FillAsync("0.8");
        await page.GetByLabel("Source priority").FillAsync("crm");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Expect(page.GetByText("Saved: the next stitch uses these settings.")).ToBeVisibleAsync();
        using (var api = setup.Daemon.Api())
        {
            var settings = JsonDocument.Parse(await api.GetStringAsync("api/stitch/settings")).RootElement;
            Assert.Equal(0.8, settings.GetProperty("matchThreshold").GetDouble());
            Assert.Equal("crm", settings.GetProperty("sourcePriority")[0].GetString());
        }

        await page.GetByRole(AriaRole.Navigation, new() { Name = "Console" }).GetByRole(AriaRole.Link, new() { Name = "Customers" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Customers" })).ToContainTextAsync("grace@example.com");
        await page.GetByLabel("Email or name").FillAsync("ADA@");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        var found = page.GetByRole(AriaRole.Region, new() { Name = "Customers" });
        // Two records of Ada, in two sources: one person when Stitch linked them, two otherwise (a set this small gives
        // its model little to learn from); either way, only Ada.
        await Expect(found).ToContainTextAsync("ada@example.com");
        await Expect(found).Not.ToContainTextAsync("grace");
        await walk.StepAsync("customers", docs: "customers");

        var people = await found.GetByRole(AriaRole.Row).CountAsync() - 1;
        Assert.InRange(people, 1, 2);
        await found.GetByRole(AriaRole.Link).First.ClickAsync();
        var records = page.GetByRole(AriaRole.Region, new() { Name = "Records of this customer" });
        await Expect(records).ToContainTextAsync(people == 1 ? "c1" : "ada@example.com");
        if (people == 1) await Expect(records).ToContainTextAsync("m1");
        await Expect(page.Locator("dl.facts")).ToContainTextAsync("ada@example.com");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Why they were linked" })).ToBeVisibleAsync();
        await walk.StepAsync("customer", docs: "customer");
    }

    [Fact]
    public async Task An_admin_adds_a_webhook_from_the_Notifications_page_sees_its_secret_once_and_removes_it()
    {
        await using var walk = await Walk.StartAsync(browser, setup.Daemon, output);
        var page = walk.Page;
        await walk.SignInAsync(ConsoleDaemon.AdminToken);
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Console" }).GetByRole(AriaRole.Link, new() { Name = "Notifications" }).ClickAsync();
        await Expect(page.GetByText("No webhook")).ToBeVisibleAsync();

        // A URL with a password in it is refused in place, with the service's words; what was typed stays.
        await page.GetByLabel("URL").FillAsync("http://ops:hunter2@127.0.0.1:9/hooks/ops");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add webhook" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Url must not carry a user name or password");
        await page.GetByLabel("URL").FillAsync("http://127.0.0.1:9/hooks/ops");
        await page.GetByLabel("Id").FillAsync("ops");
        await page.GetByLabel("courierStopped").UncheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add webhook" }).ClickAsync();
        await Expect(page.GetByText("Webhook ops added.")).ToBeVisibleAsync();
        var secret = await page.Locator(".note code").InnerTextAsync();
        Assert.StartsWith("whsec_", secret);
        var webhooks = page.GetByRole(AriaRole.Region, new() { Name = "Webhooks" });
        await Expect(webhooks).ToContainTextAsync("http://127.0.0.1:9/hooks/ops");
        await Expect(webhooks).Not.ToContainTextAsync("courierStopped");
        await walk.StepAsync("notifications", docs: "notifications");
        // The secret is shown once: read again, the page does not have it.
        await page.ReloadAsync();
        await Expect(page.GetByText(secret)).ToHaveCountAsync(0);

        await page.GetByRole(AriaRole.Button, new() { Name = "Remove webhook ops" }).ClickAsync();
        await Expect(page.GetByText("Webhook ops is removed")).ToBeVisibleAsync();
        using var api = setup.Daemon.Api();
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await api.GetAsync("api/notifications/ops")).StatusCode);
    }

    [Fact]
    public async Task A_Heap_dump_that_blocks_the_dumps_after_it_is_skipped_from_its_failed_runs_page()
    {
        using var s3 = TestEnvironment.S3Client();
        var bucket = await TestEnvironment.CreateBucketAsync(s3);
        var export = new HeapExportGenerator(37, bucket).Generate();
        var blocked = export.DumpIds[1];
        var broken = export.ObjectsOf(blocked).First(o => o.Key.Contains("/pageviews/part-00001"));
        await export.UploadAsync(s3, export.Objects.Where(o => o != broken));
        await s3.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = bucket, Key = broken.Key, ContentBody = "not avro at all" });
        Guid runId;
        using (var api = setup.Daemon.Api())
        {
            await ShopSetup.PostAsync(api, "api/credentials", new { id = "heap-export", kind = "s3", bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "test", secretAccessKey = "test" });
            await ShopSetup.PostAsync(api, "api/couriers", new { id = "heap-skip", credentialId = "heap-export", kind = "heap", source = "web" });
            runId = (await ShopSetup.PostAsync(api, "api/couriers/heap-skip/runs", new { })).GetProperty("runId").GetGuid();
            Assert.Equal("failed", (await ShopSetup.WaitForRunAsync(api, runId)).GetProperty("status").GetString());
        }

        await using var walk = await Walk.StartAsync(browser, setup.Daemon, output);
        var page = walk.Page;
        await walk.SignInAsync(ConsoleDaemon.AdminToken);
        await page.GotoAsync($"runs/{runId}");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Skip dump {blocked}" }).ClickAsync();
        await Expect(page.GetByText($"Dump {blocked} is skipped")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = $"Skip dump {blocked}" })).ToHaveCountAsync(0);
        await walk.StepAsync("dump-skipped");
        using (var api = setup.Daemon.Api())
        {
            var dumps = JsonDocument.Parse(await api.GetStringAsync("api/couriers/heap-skip")).RootElement.GetProperty("heapDumps");
            Assert.Equal(0, dumps.GetProperty("blocking").GetArrayLength());
            Assert.Equal(blocked, dumps.GetProperty("skipped")[0].GetProperty("dumpId").GetInt64());
        }
    }
}
