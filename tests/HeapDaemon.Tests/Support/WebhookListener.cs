using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeapDaemon.Tests.Support;

/// <summary>A request the listener received, with its exact body bytes; <see cref="Aborted"/> completes if the sender gave up on it.</summary>
public sealed record ReceivedRequest(string Path, int Attempt, IReadOnlyDictionary<string, string> Headers, byte[] Body, Task Aborted);

/// <summary>
/// A real HTTP server (Kestrel) on a loopback port inside the test, to receive webhooks. Each path answers as told:
/// 200 by default, or a status per attempt, or it holds the request without answering until released.
/// </summary>
public sealed class WebhookListener : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<int, CancellationToken, Task<int?>>> _answers = new();
    private readonly ConcurrentDictionary<string, int> _attempts = new();
    private readonly ConcurrentQueue<ReceivedRequest> _received = new();
    private readonly CancellationTokenSource _stopping = new();

    private WebhookListener(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public IReadOnlyList<ReceivedRequest> Received => [.. _received];

    public static async Task<WebhookListener> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var listener = new WebhookListener(builder.Build());
        listener._app.Run(listener.HandleAsync);
        await listener._app.StartAsync();
        listener.BaseUrl = listener._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return listener;
    }

    public string Url(string path) => BaseUrl + path;

    /// <summary>The status for each attempt at this path (1, 2, ...).</summary>
    public void Answer(string path, Func<int, int> status) => _answers[path] = (attempt, _) => Task.FromResult<int?>(status(attempt));

    /// <summary>Holds every request at this path without answering until <paramref name="release"/> completes; then drops the connection.</summary>
    public void Hang(string path, Task release) => _answers[path] = async (_, aborted) =>
    {
        await Task.WhenAny(release, Task.Delay(Timeout.Infinite, aborted));
        return null;
    };

    public async Task<IReadOnlyList<ReceivedRequest>> WaitForAsync(string path, int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var at = Received.Where(r => r.Path == path).ToList();
            if (at.Count >= count) return at;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{path} received {at.Count} request(s), not {count}, in time");
            await Task.Delay(20);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var attempt = _attempts.AddOrUpdate(path, 1, (_, n) => n + 1);
        var aborted = new TaskCompletionSource();
        context.RequestAborted.Register(() => aborted.TrySetResult());
        _received.Enqueue(new ReceivedRequest(path, attempt, context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            body.ToArray(), aborted.Task));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        var status = _answers.TryGetValue(path, out var answer) ? await answer(attempt, linked.Token) : 200;
        if (status is { } code) context.Response.StatusCode = code;
        else context.Abort();
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
