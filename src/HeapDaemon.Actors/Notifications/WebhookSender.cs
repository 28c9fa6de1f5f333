using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using HeapDaemon.Actors.Endpoints;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;

namespace HeapDaemon.Actors.Notifications;

/// <summary>One event for one webhook, its body serialized once, so every attempt sends the same bytes.</summary>
public sealed record WebhookDelivery(WebhookTarget Target, Guid EventId, NotificationEvent Event, byte[] Body);

/// <summary>
/// Sends a delivery through the <c>webhooks</c> client of <see cref="IHttpClientFactory"/>, whose resilience pipeline
/// retries it (exponential backoff with jitter, a timeout per attempt) and whose <see cref="SigningHandler"/> signs each
/// attempt anew.
/// </summary>
public sealed class WebhookSender(IHttpClientFactory clients)
{
    public const string ClientName = "webhooks";

    public const string SignatureHeader = "X-HeapDaemon-Signature";
    public const string TimestampHeader = "X-HeapDaemon-Timestamp";
    public const string EventHeader = "X-HeapDaemon-Event";
    public const string DeliveryHeader = "X-HeapDaemon-Delivery";

    private static readonly HttpRequestOptionsKey<string> Secret = new("heapd.webhook-secret");
    private static readonly HttpRequestOptionsKey<StrongBox<int>> Attempts = new("heapd.webhook-attempts");

    /// <returns>How it ended: delivered (a 2xx answer) or not, after how many attempts, and the last failure.</returns>
    public async Task<WebhookDeliveryRecord> SendAsync(WebhookDelivery delivery, CancellationToken ct)
    {
        var attempts = new StrongBox<int>();
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Target.Url)
        {
            Content = new ByteArrayContent(delivery.Body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json", "utf-8") } },
        };
        request.Headers.Add(EventHeader, WebhookCatalog.Name(delivery.Event));
        request.Headers.Add(DeliveryHeader, delivery.EventId.ToString());
        request.Options.Set(Secret, delivery.Target.Secret);
        request.Options.Set(Attempts, attempts);
        string? error;
        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (response.IsSuccessStatusCode) return Ended(true, null);
            error = $"answered {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is HttpRequestException or TimeoutRejectedException or OperationCanceledException)
        {
            error = e switch
            {
                HttpRequestException { InnerException: EndpointBlockedException blocked } => blocked.Message,
                TimeoutRejectedException => "did not answer in time",
                _ => e.Message,
            };
        }
        return Ended(false, error);

        WebhookDeliveryRecord Ended(bool delivered, string? why) =>
            new(delivery.EventId, delivery.Event, delivered, attempts.Value, why, DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// <c>X-HeapDaemon-Timestamp</c> (Unix seconds, now) and <c>X-HeapDaemon-Signature: sha256=&lt;hex&gt;</c>, the
    /// HMAC-SHA256 with the webhook's secret of the timestamp, a dot and the body's exact bytes. Inside the retry, so
    /// every attempt carries a fresh timestamp that a receiver can hold against replays.
    /// </summary>
    public sealed class SigningHandler : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (request.Options.TryGetValue(Attempts, out var attempts)) attempts.Value++;
            if (request.Options.TryGetValue(Secret, out var secret))
            {
                var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
                var body = await request.Content!.ReadAsByteArrayAsync(ct);
                request.Headers.Remove(TimestampHeader);
                request.Headers.Remove(SignatureHeader);
                request.Headers.Add(TimestampHeader, timestamp);
                request.Headers.Add(SignatureHeader, "sha256=" + Sign(secret, timestamp, body));
            }
            return await base.SendAsync(request, ct);
        }
    }

    /// <summary>The signature's hex digest, as a receiver computes it to compare.</summary>
    public static string Sign(string secret, string timestamp, ReadOnlySpan<byte> body)
    {
        var signed = new byte[timestamp.Length + 1 + body.Length];
        Encoding.ASCII.GetBytes(timestamp, signed);
        signed[timestamp.Length] = (byte)'.';
        body.CopyTo(signed.AsSpan(timestamp.Length + 1));
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }
}

public static class WebhookDeliveryRegistration
{
    /// <summary>
    /// The <c>webhooks</c> HTTP client: the platform's resilience pipeline retries what may pass (connection failures,
    /// timeouts, 408, 429 and 5xx answers) with exponential backoff and jitter, each attempt under a timeout; a blocked
    /// address is not retried. The client itself has no overall timeout: the pipeline bounds the whole. Every connection
    /// goes through the endpoint policy (<see cref="GuardedHttpClientFactory.NewHandler"/>), with no proxy and no redirect.
    /// </summary>
    /// <remarks>Takes <see cref="NotificationSettings"/> and <see cref="EndpointPolicy"/> from the container.</remarks>
    public static IServiceCollection AddWebhookDelivery(this IServiceCollection services)
    {
        services.AddSingleton<WebhookCatalog>();
        services.AddSingleton<WebhookSender>();
        services.AddTransient<WebhookSender.SigningHandler>();
        var client = services.AddHttpClient(WebhookSender.ClientName, http =>
            {
                http.Timeout = Timeout.InfiniteTimeSpan;
                http.DefaultRequestHeaders.UserAgent.ParseAdd("HeapDaemon-Webhook/1");
            })
            .ConfigurePrimaryHttpMessageHandler(provider => GuardedHttpClientFactory.NewHandler(provider.GetRequiredService<EndpointPolicy>()));
        client.AddResilienceHandler("webhook-delivery", (pipeline, context) =>
        {
            var settings = context.ServiceProvider.GetRequiredService<NotificationSettings>();
            pipeline
                .AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = settings.MaxAttempts - 1,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = settings.RetryBaseDelay,
                    MaxDelay = settings.RetryMaxDelay,
                    // A receiver's Retry-After is not followed: the schedule stays the documented one.
                    ShouldRetryAfterHeader = false,
                    ShouldHandle = args => ValueTask.FromResult(
                        args.Outcome.Exception is not HttpRequestException { InnerException: EndpointBlockedException } &&
                        HttpClientResiliencePredicates.IsTransient(args.Outcome)),
                })
                .AddTimeout(settings.AttemptTimeout);
        });
        // Added after the retry, so it runs inside it: once per attempt.
        client.AddHttpMessageHandler<WebhookSender.SigningHandler>();
        return services;
    }
}
