using System.Diagnostics.Metrics;
using HeapDaemon.Actors.Metrics;
using Prometheus;

namespace HeapDaemon.Operations;

/// <summary>
/// The daemon's <see cref="DaemonMetrics"/> Meter in Prometheus' text format, through prometheus-net's Meter adapter
/// into a registry of this host's own: only the meters this host's factory made are taken, so several daemons in one
/// process (the tests) each show their own figures. prometheus-net 8.2.1 is a stable release, where OpenTelemetry's
/// Prometheus exporter is still a beta here; its adapter shows the Meter's counters with Prometheus' TYPE gauge (the
/// names and values are the counters').
/// </summary>
public sealed class DaemonMetricsExport : IDisposable
{
    private readonly IDisposable _adapter;

    public DaemonMetricsExport(IMeterFactory meters)
    {
        Registry = Metrics.NewCustomRegistry();
        _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = Registry,
            // Without this the adapter writes into the process-wide default registry.
            MetricFactory = null,
            InstrumentFilterPredicate = instrument => ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Meter.Name == DaemonMetrics.MeterName,
            ResolveHistogramBuckets = _ => DaemonMetrics.DurationBuckets,
            // The most the adapter allows: a histogram left without a run for a day starts again from zero (a counter reset to
            // Prometheus). The counts are observable, read at every scrape, so they never go stale.
            MetricsExpireAfter = TimeSpan.FromDays(1),
        });
        // The process and runtime figures prometheus-net shows by default (CPU, memory, GC, threads).
        DotNetStats.Register(Registry);
    }

    public CollectorRegistry Registry { get; }

    public void Dispose() => _adapter.Dispose();
}
