using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Amazon.S3;
using HeapDaemon.Console.Tests.Support;
using HeapDaemon.Tests.Support;
using Microsoft.Playwright;
using Xunit;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HeapDaemon.Console.Tests;

/// <summary>What an admin set up through the API: a credential, an active feed, a scheduled courier, and a run with a failed file.</summary>
public sealed class ShopSetup : IAsyncLifetime
{
    public ConsoleDaemon Daemon { get; private set; } = null!;

    public Guid RunId { get; private set; }

    public async Task InitializeAsync()
    {
        Daemon = await ConsoleDaemon.StartAsync();
        using var s3 = TestEnvironment.S3Client();
        var bucket = await TestEnvironment.CreateBucketAsync(s3);
        await TestEnvironment.PutAsync(s3, bucket, "good.csv", "id,name\n1,ada\n2,grace\n");
        await TestEnvironment.PutAsync(s3, bucket, "bad.csv", "id,name\n3,alan\nthree,barbara\n");
        using var api = Daemon.Api();
        await PostAsync(api, "api/credentials", new { id = "partner", kind = "s3", bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "test", secretAccessKey = "test" });
        await PostAsync(api, "api/feeds", new { source = "shop", name = "people", fields = new object[] { new { name = "id", type = "integer", primaryKey = true }, new { name = "name", type = "string" } } });
        await PostAsync(api, "api/feeds/shop-people/activate", new { });
        await PostAsync(api, "api/couriers", new
        {
            id = "people", credentialId = "partner", files = new[] { new { key = "good.csv", feedId = "shop-people" }, new { key = "bad.csv", feedId = "shop-people" } },
            schedule = new { cron = "0 6 * * *" },
        });
        RunId = (await PostAsync(api, "api/couriers/people/runs", new { })).GetProperty("runId").GetGuid();
        await WaitForRunAsync(api, RunId);
    }

    /// <summary>The run once it has ended, whatever its outcome.</summary>
    public static async Task<JsonElement> WaitForRunAsync(HttpClient api, Guid runId)
    {
        for (var deadline = DateTime.UtcNow.AddMinutes(2); ; await Task.Delay(200))
        {
            var run = JsonDocument.Parse(await api.GetStringAsync($"api/runs/{runId}")).RootElement.GetProperty("run");
            if (run.GetProperty("status").GetString() is "failed" or "succeeded" or "cancelled") return run;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {runId} did not end: {run}");
        }
    }

    public async Task DisposeAsync() => await Daemon.DisposeAsync();

    public static async Task<JsonElement> PostAsync(HttpClient api, string path, object body)
    {
        var response = await api.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement;
    }
}

/// <summary>A viewer reads everything and changes nothing: no control to change anything is shown, and a forged post is refused.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ViewerSpecs(Browser browser, ShopSetup setup, ITestOutputHelper output) : IClassFixture<ShopSetup>
{
    private ConsoleDaemon Daemon => setup.Daemon;
    private Guid RunId => setup.RunId;

    [Fact]
    public async Task A_viewer_reads_every_page_sees_no_change_control_and_every_forged_change_is_refused_with_403()
    {
        await using var walk = await Walk.StartAsync(browser, Daemon, output);
        var page = walk.Page;
        await walk.SignInAsync(ConsoleDaemon.ViewerToken);
        await Expect(page.GetByText("Signed in as viewer")).ToBeVisibleAsync();

        var pages = new (string Path, string Name, string Shows)[]
        {
            ("", "viewer-sources", "people"),
            ("couriers/people", "viewer-courier", "0 6 * * *"),
            ($"runs/{RunId}", "viewer-run", "bad.csv"),
            ("runs", "viewer-runs", "people"),
            ("feeds/shop-people", "viewer-feed", "Fields of feed shop-people"),
            ("tables/Shop%3APeople", "viewer-table", "grace"),
            ("credentials", "viewer-credentials", "partner"),
            ("customers", "viewer-customers", "Stitch has not made a customer 360 yet"),
            ("stitch", "viewer-stitch", "Match threshold"),
        };
        foreach (var (path, name, shows) in pages)
        {
            var response = await page.GotoAsync(path);
            Assert.Equal(200, response!.Status);
            await Expect(page.Locator("main")).ToContainTextAsync(shows);
            // The only form that posts is signing out; no button, input or link that would change anything.
            await Expect(page.Locator("form[method=post]:not([action$='signout'])")).ToHaveCountAsync(0);
            await Expect(page.Locator("main input, main select, main textarea").Locator("visible=true")).ToHaveCountAsync(path switch { "runs" => 2, "customers" => 1, _ => 0 });
            foreach (var control in new[] { "Add courier", "Run", "Delete", "Retry", "Skip file", "Cancel run", "Activate", "Pause schedule", "Test", "Edit", "Stitch now", "Full rebuild", "Save settings" })
                await Expect(page.GetByRole(AriaRole.Button, new() { Name = control, Exact = true }).Or(page.GetByRole(AriaRole.Link, new() { Name = control, Exact = true }))).ToHaveCountAsync(0);
            await walk.StepAsync(name);
        }

        // Pages that only change things are refused outright.
        foreach (var path in new[] { "couriers/new", "couriers/new/files/credential", "couriers/people/run", "couriers/people/edit", "notifications", "couriers/new/heap/tables?credential=partner" })
            Assert.Equal(403, (await page.GotoAsync(path))!.Status);
        await Expect(page.GetByText("You are signed in as a viewer")).ToBeVisibleAsync();
        await walk.StepAsync("viewer-refused");

        // Forged posts, with the session's own valid antiforgery token: every one refused before any page handles it.
        await page.GotoAsync("");
        var antiforgery = await page.Locator("form[action$='signout'] input[name='__RequestVerificationToken']").GetAttributeAsync("value");
        var forged = new (string Path, Dictionary<string, string> Fields)[]
        {
            ("couriers/people", new() { ["_handler"] = "delete" }),
            ("couriers/people", new() { ["_handler"] = "pause", ["Active"] = "false" }),
            ("couriers/people/run", new() { ["_handler"] = "run", ["Form.From"] = "2026-11-26" }),
            ("couriers/people/edit", new() { ["_handler"] = "courier", ["Form.CredentialId"] = "partner", ["Form.Files[0].Value"] = "stolen.csv", ["Form.Files[0].FeedId"] = "shop-people" }),
            ("credentials", new() { ["_handler"] = "delete-partner" }),
            ("credentials", new() { ["_handler"] = "create", ["Credential.Id"] = "stolen", ["Credential.Bucket"] = "x", ["Credential.AuthMode"] = "default" }),
            ("feeds/shop-people", new() { ["_handler"] = "feed", ["Form.Action"] = "save", ["Form.Fields[0].Name"] = "id" }),
            ($"runs/{RunId}", new() { ["_handler"] = "retry" }),
            ("stitch", new() { ["_handler"] = "rebuild" }),
            ("notifications", new() { ["_handler"] = "add", ["Hook.Url"] = "http://127.0.0.1:9/stolen", ["Hook.Events"] = "runFailed" }),
            ("stitch", new() { ["_handler"] = "settings", ["Settings.MatchThreshold"] = "0.5", ["Settings.MaxClusterSize"] = "10", ["Settings.DebounceSeconds"] = "0" }),
            ($"runs/{RunId}", new() { ["_handler"] = "skip-1", ["Ordinal"] = "1" }),
        };
        foreach (var (path, fields) in forged)
        {
            var form = page.APIRequest.CreateFormData();
            form.Set("__RequestVerificationToken", antiforgery!);
            foreach (var (key, value) in fields) form.Set(key, value);
            var answer = await page.APIRequest.PostAsync(path, new() { Form = form, MaxRedirects = 0 });
            Assert.True(answer.Status == 403, $"POST {path} {string.Join("&", fields.Select(f => $"{f.Key}={f.Value}"))} answered {answer.Status}");
        }

        // And the API holds the viewer's token to the same roles.
        using var viewerApi = new HttpClient { BaseAddress = new Uri(Daemon.Url) };
        viewerApi.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ConsoleDaemon.ViewerToken);
        Assert.Equal(HttpStatusCode.OK, (await viewerApi.GetAsync("api/couriers/people")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewerApi.PostAsJsonAsync("api/couriers/people/runs", new { })).StatusCode);

        // Nothing changed.
        using var api = Daemon.Api();
        var courier = JsonDocument.Parse(await api.GetStringAsync("api/couriers/people")).RootElement;
        Assert.True(courier.GetProperty("config").GetProperty("schedule").GetProperty("active").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("api/credentials/partner")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("api/credentials/stolen")).StatusCode);
        Assert.Equal(1, JsonDocument.Parse(await api.GetStringAsync("api/runs")).RootElement.GetProperty("runs").GetArrayLength());
        Assert.Equal(0, JsonDocument.Parse(await api.GetStringAsync("api/stitch/runs")).RootElement.GetArrayLength());
        Assert.Equal(0, JsonDocument.Parse(await api.GetStringAsync("api/notifications")).RootElement.GetArrayLength());
        Assert.Equal(0.9, JsonDocument.Parse(await api.GetStringAsync("api/stitch/settings")).RootElement.GetProperty("matchThreshold").GetDouble());
    }

    [Fact]
    public async Task The_keyboard_alone_reaches_the_content_and_a_narrow_screen_reads_without_scrolling_sideways()
    {
        await using (var walk = await Walk.StartAsync(browser, Daemon, output))
        {
            var page = walk.Page;
            await walk.SignInAsync(ConsoleDaemon.ViewerToken);
            await page.Keyboard.PressAsync("Tab");
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Skip to content" })).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator("main")).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Tab");
            Assert.True(await page.EvaluateAsync<bool>("() => document.activeElement.closest('main') !== null"), "the first Tab after the skip link stays in the content");
            // Every control on the page is reached by Tab, and each shows where the focus is.
            for (var i = 0; i < 40 && await page.EvaluateAsync<bool>("() => document.activeElement !== document.body"); i++)
            {
                var outline = await page.EvaluateAsync<string>("() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.boxShadow; }");
                Assert.False(outline.StartsWith("none") && outline.EndsWith("none"), $"no visible focus on {await page.EvaluateAsync<string>("() => document.activeElement.outerHTML")}");
                await page.Keyboard.PressAsync("Tab");
            }
        }

        await using (var narrow = await Walk.StartAsync(browser, Daemon, output, width: 390, height: 844))
        {
            var page = narrow.Page;
            await narrow.SignInAsync(ConsoleDaemon.ViewerToken);
            foreach (var (path, name) in new[] { ("", "narrow-sources"), ($"runs/{RunId}", "narrow-run"), ("tables/Shop%3APeople", "narrow-table"), ("runs", "narrow-runs") })
            {
                await page.GotoAsync(path);
                await narrow.StepAsync(name, docs: name == "narrow-sources" ? "narrow" : null);
                // Wide tables scroll inside their own box; the page itself never scrolls sideways.
                var overflowing = await page.EvaluateAsync<string[]>("""
                    () => [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap, pre'))
                        .slice(0, 5).map(e => e.outerHTML.slice(0, 120))
                    """);
                Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"),
                    $"{path}: the page is {await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth")} px wide on a 390 px screen; " +
                    string.Join(" | ", overflowing));
            }
        }
    }
}
