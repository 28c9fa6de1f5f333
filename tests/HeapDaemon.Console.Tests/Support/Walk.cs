using System.Runtime.CompilerServices;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Xunit;
using Xunit.Abstractions;

namespace HeapDaemon.Console.Tests.Support;

/// <summary>
/// A person's walk through the console in one browser tab: each step is checked by axe-core (no serious or critical
/// violation) and saved as a screenshot with the test results. With HEAPD_CONSOLE_DOCS set, the steps named for the
/// README are also saved there (docs/console).
/// </summary>
public sealed class Walk : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly string _folder;
    private readonly ITestOutputHelper _output;
    private int _step;

    private Walk(IBrowserContext context, IPage page, string folder, ITestOutputHelper output)
    {
        _context = context;
        Page = page;
        _folder = folder;
        _output = output;
    }

    public IPage Page { get; }

    public static async Task<Walk> StartAsync(Browser browser, ConsoleDaemon daemon, ITestOutputHelper output, int width = 1280, int height = 800,
        [CallerFilePath] string file = "", [CallerMemberName] string test = "")
    {
        var context = await browser.Chromium.NewContextAsync(new()
        {
            BaseURL = daemon.Url,
            ViewportSize = new() { Width = width, Height = height },
            Locale = "en-US",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        var results = Environment.GetEnvironmentVariable("HEAPD_TEST_RESULTS") is { Length: > 0 } r ? r : Path.Combine(AppContext.BaseDirectory, "TestResults");
        var folder = Path.Combine(results, "screenshots", $"{Path.GetFileNameWithoutExtension(file)}.{test}");
        Directory.CreateDirectory(folder);
        return new Walk(context, page, folder, output);
    }

    /// <summary>Signs in on the sign-in page, as a person would: the token typed, the button pressed.</summary>
    public async Task SignInAsync(string token)
    {
        await Page.GotoAsync("signin");
        await Page.GetByLabel("Token").FillAsync(token);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Page.WaitForURLAsync(url => !url.Contains("/signin"));
    }

    /// <summary>On a page with the new S3 credential form: an access-key credential on moto, saved and tested.</summary>
    public async Task CreateS3CredentialAsync(string id, string bucket)
    {
        await Page.Locator("#cred-id").FillAsync(id);
        await Page.Locator("#cred-bucket").FillAsync(bucket);
        await Page.Locator("#cred-endpoint").FillAsync(HeapDaemon.Tests.Support.TestEnvironment.S3Endpoint);
        await Page.GetByLabel("Access keys").CheckAsync();
        await Page.Locator("#cred-key").FillAsync("test");
        await Page.Locator("#cred-secret").FillAsync("test");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save and test" }).ClickAsync();
    }

    /// <summary>Checks the page as it stands with axe-core and saves its screenshot.</summary>
    /// <param name="docs">The README's name for this screenshot, e.g. <c>sources</c>.</param>
    public async Task StepAsync(string name, string? docs = null)
    {
        await Page.WaitForLoadStateAsync(LoadState.Load);
        var file = $"{++_step:00}-{name}.png";
        await Page.ScreenshotAsync(new() { Path = Path.Combine(_folder, file), FullPage = true });
        if (docs is not null && Environment.GetEnvironmentVariable("HEAPD_CONSOLE_DOCS") is { Length: > 0 } readme)
        {
            Directory.CreateDirectory(readme);
            await Page.ScreenshotAsync(new() { Path = Path.Combine(readme, $"{docs}.png") });
        }
        var axe = await Page.RunAxe();
        var serious = axe.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        _output.WriteLine($"{file}: {Page.Url}; axe: {axe.Violations.Length} violation(s), {serious.Count} serious or critical");
        foreach (var violation in axe.Violations)
            _output.WriteLine($"  {violation.Impact} {violation.Id}: {violation.Help} ({string.Join(", ", violation.Nodes.Take(3).Select(n => string.Join(" ", n.Target?.ToString() ?? "")))})");
        Assert.True(serious.Count == 0,
            $"axe-core found serious or critical violations on {Page.Url} ({name}): " +
            string.Join("; ", serious.Select(v => $"{v.Id}: {v.Help} at {string.Join(", ", v.Nodes.Take(3).Select(n => n.Html))}")));
    }

    public async ValueTask DisposeAsync() => await _context.CloseAsync();
}
