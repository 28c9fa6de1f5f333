using HeapDaemon.Console.Tests.Support;
using Microsoft.Playwright;
using Xunit;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HeapDaemon.Console.Tests;

/// <summary>An admin resolves a failed run from its page (rejects read, the run retried, the bad file skipped) pauses a schedule from Sources, sees an active feed's migration before saving it, and cannot delete a feed in use.</summary>
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
}
