using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Storage;
using HeapDaemon.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Operations;

/// <summary>
/// Can the buckets the couriers use be listed with their credentials? A customer's endpoint that is down is the
/// customer's outage, not the daemon's: it degrades readiness (and says which credential and why), never makes the
/// daemon unready, since every other courier still loads. Each credential's connection test costs an S3 request, so
/// the answer is kept for <see cref="HealthSettings.S3CheckInterval"/> however often the probe asks.
/// </summary>
public sealed class S3EndpointsCheck(
    IRequiredActor<CourierRegistryActor> couriers, CredentialCatalog credentials, S3ConnectionTest test, IOptions<HealthSettings> settings, TimeProvider clock)
    : IHealthCheck
{
    private readonly SemaphoreSlim _one = new(1, 1);
    private (DateTimeOffset At, HealthCheckResult Result)? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        await _one.WaitAsync(ct);
        try
        {
            if (_last is { } last && clock.GetUtcNow() - last.At < settings.Value.S3CheckInterval) return last.Result;
            var result = await TestAsync(ct);
            _last = (clock.GetUtcNow(), result);
            return result;
        }
        finally
        {
            _one.Release();
        }
    }

    private async Task<HealthCheckResult> TestAsync(CancellationToken ct)
    {
        var registry = await couriers.GetAsync(ct);
        var ids = await registry.Ask<CourierIds>(ListCouriers.Instance, TimeSpan.FromSeconds(10), ct);
        var used = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var id in ids.Ids)
            if (await registry.Ask<object>(new GetCourier(id), TimeSpan.FromSeconds(10), ct) is CourierView view) used.Add(view.Config.CredentialId);
        var failures = new List<string>();
        foreach (var id in used)
        {
            if (await credentials.GetAccessAsync(id, ct) is not { } access) continue;
            var outcome = await test.RunAsync(access, null, ct);
            if (!outcome.Ok) failures.Add($"credential '{id}': {outcome.Message}");
        }
        return failures.Count == 0
            ? HealthCheckResult.Healthy($"{used.Count} credential(s) in use by couriers reach their buckets")
            : HealthCheckResult.Degraded($"{failures.Count} of {used.Count} credential(s) in use cannot list their bucket; their couriers' runs will fail: " +
                                         string.Join("; ", failures));
    }
}
