// A person watching a run in the console, for scripts/bench.sh --with-run-page: Debian's headless Chromium, signed in
// with the token in HEAPD_WATCHER_TOKEN, opens the page it is told on stdin and keeps it open.
//   dotnet HeapDaemon.RunPageWatcher.dll <console url>
//   stdin:  "open runs/<id>" (answers "opened <ms>" once the live view has connected), "close" (answers "closed")
using System.Diagnostics;
using Microsoft.Playwright;

if (args.Length != 1 || Environment.GetEnvironmentVariable("HEAPD_WATCHER_TOKEN") is not { Length: > 0 } token)
{
    Console.Error.WriteLine("usage: HEAPD_WATCHER_TOKEN=<token> HeapDaemon.RunPageWatcher <console url>");
    return 2;
}
var executable = Environment.GetEnvironmentVariable("HEAPD_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";
using var playwright = await Playwright.CreateAsync();
await using var browser = await playwright.Chromium.LaunchAsync(new()
{
    ExecutablePath = executable,
    Headless = true,
    Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
var context = await browser.NewContextAsync(new() { BaseURL = args[0].TrimEnd('/') + "/" });
var page = await context.NewPageAsync();
await page.GotoAsync("signin");
await page.GetByLabel("Token").FillAsync(token);
await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
await page.WaitForURLAsync(url => !url.Contains("/signin"));
Console.WriteLine("ready");

while (Console.ReadLine() is { } line)
{
    if (line.StartsWith("open ", StringComparison.Ordinal))
    {
        var clock = Stopwatch.StartNew();
        await page.GotoAsync(line[5..]);
        // The live view is connected once Blazor's script has started its circuit (a run already ended has no live view).
        await page.WaitForFunctionAsync("() => document.querySelector('[data-run-ended]') !== null || (window.Blazor !== undefined && document.querySelector('.card.progress, .badge.running, .badge.queued') !== null)",
            null, new() { Timeout = 60_000 });
        Console.WriteLine($"opened {clock.ElapsedMilliseconds}");
    }
    else if (line == "close")
    {
        await page.GotoAsync("about:blank");
        Console.WriteLine("closed");
    }
}
return 0;
