using System.Net;
using HeapDaemon.Actors.Endpoints;
using HeapDaemon.Actors.Notifications;
using HeapDaemon.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace HeapDaemon.Tests.Endpoints;

/// <summary>
/// Webhook deliveries go through the endpoint policy where the socket connects, as S3 requests do: the webhooks client
/// of the daemon's own registration, real DNS ("localhost"), and a listener standing for the daemon's PostgreSQL.
/// </summary>
public sealed class WebhookGuardSpecs
{
    [Fact]
    public async Task A_delivery_to_a_name_that_resolves_to_the_database_is_refused_before_it_connects_and_not_retried()
    {
        await using var database = new HttpStub(IPAddress.Loopback);
        await using var services = Services(new EndpointPolicy([("127.0.0.1", database.Port)], []));

        var ended = await services.GetRequiredService<WebhookSender>().SendAsync(Delivery($"http://localhost:{database.Port}/hook"), CancellationToken.None);

        Assert.Equal(0, database.Connections);
        Assert.False(ended.Delivered);
        Assert.Equal(1, ended.Attempts);
        Assert.Equal($"endpoint localhost:{database.Port} resolves to 127.0.0.1, the daemon's own PostgreSQL (127.0.0.1:{database.Port}), " +
                     "which is blocked; list 'localhost' in Security:AllowedEndpointHosts if the daemon should reach it", ended.Error);
    }

    [Fact]
    public async Task The_same_delivery_reaches_the_listener_when_it_is_not_the_database_and_a_404_is_not_retried_either()
    {
        await using var listener = new HttpStub(IPAddress.Loopback);
        await using var services = Services(new EndpointPolicy([("127.0.0.1", 1)], []));

        var ended = await services.GetRequiredService<WebhookSender>().SendAsync(Delivery($"http://localhost:{listener.Port}/hook"), CancellationToken.None);

        Assert.Equal(1, listener.Connections);
        Assert.False(ended.Delivered);
        Assert.Equal(1, ended.Attempts);
        Assert.Equal("answered 404 Not Found", ended.Error);
    }

    [Fact]
    public async Task A_host_listed_in_allowed_endpoint_hosts_is_reached_even_where_the_database_listens()
    {
        await using var database = new HttpStub(IPAddress.Loopback);
        await using var services = Services(new EndpointPolicy([("127.0.0.1", database.Port)], ["localhost"]));

        await services.GetRequiredService<WebhookSender>().SendAsync(Delivery($"http://localhost:{database.Port}/hook"), CancellationToken.None);

        Assert.Equal(1, database.Connections);
    }

    /// <summary>The daemon's webhook registration, with retries quick enough that a retried refusal would show in the attempts.</summary>
    private static ServiceProvider Services(EndpointPolicy policy)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(policy);
        services.AddSingleton(new NotificationSettings
        {
            MaxAttempts = 3, RetryBaseDelay = TimeSpan.FromMilliseconds(10), RetryMaxDelay = TimeSpan.FromMilliseconds(50),
            AttemptTimeout = TimeSpan.FromMinutes(1),
        });
        services.AddWebhookDelivery();
        return services.BuildServiceProvider();
    }

    private static WebhookDelivery Delivery(string url) =>
        new(new WebhookTarget("guarded", url, "a-secret-of-its-own-0123"), Guid.NewGuid(), NotificationEvent.RunFailed, "{}"u8.ToArray());
}
