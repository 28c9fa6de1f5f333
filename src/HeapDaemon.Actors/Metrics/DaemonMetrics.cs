using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using HeapDaemon.Actors.Runs;

namespace HeapDaemon.Actors.Metrics;

/// <summary>
/// The daemon's figures on one <see cref="Meter"/> named <c>heapd</c>; the host exports them for Prometheus as
/// <c>heapd_&lt;instrument&gt;</c>. Written from run tasks and actors on any thread: totals are updated atomically and
/// read by the observable instruments when the exporter collects.
/// </summary>
public sealed class DaemonMetrics : IDisposable
{
    public const string MeterName = "heapd";

    /// <summary>Run and file durations, from a tenth of a second to an hour.</summary>
    public static readonly double[] DurationBuckets = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly ConcurrentDictionary<string, long> _runs = new(StringComparer.Ordinal), _files = new(StringComparer.Ordinal);
    private long _rowsLoaded, _rowsRejected, _bytesRead;
    private readonly Histogram<double> _runSeconds, _fileSeconds;
    private readonly ConcurrentDictionary<string, int> _queued = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastSuccess = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _stitches = new(StringComparer.Ordinal);
    private readonly Histogram<double> _stitchSeconds;
    /// <summary>The latest result's records and people; -1 until this daemon's first stitch succeeds.</summary>
    private long _stitchRecords = -1, _stitchPeople = -1;

    /// <param name="meters">The host's factory, so each daemon in a process (the tests run several) has meters of its own.</param>
    /// <remarks>
    /// Counts are observable counters over totals kept here, read at each scrape: an exporter that drops a series left
    /// without a measurement for a while (prometheus-net does, after at most a day) never loses a count of a rare event.
    /// </remarks>
    public DaemonMetrics(IMeterFactory? meters = null)
    {
        _ownsMeter = meters is null;
        _meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _meter.CreateObservableCounter("runs_total", () => ByStatus(_runs), description: "Runs finished, by outcome.");
        _meter.CreateObservableCounter("files_total", () => ByStatus(_files), description: "Files finished, by outcome.");
        _meter.CreateObservableCounter("rows_loaded_total", () => Interlocked.Read(ref _rowsLoaded), description: "Rows inserted or updated in domain tables.");
        _meter.CreateObservableCounter("rows_rejected_total", () => Interlocked.Read(ref _rowsRejected), description: "Rows rejected by validation.");
        _meter.CreateObservableCounter("bytes_read_total", () => Interlocked.Read(ref _bytesRead), description: "Bytes read from S3 objects.");
        _runSeconds = _meter.CreateHistogram<double>("run_duration_seconds", description: "Wall time of runs.");
        _fileSeconds = _meter.CreateHistogram<double>("file_duration_seconds",
            description: "Wall time of one file: download, parse, validate, stage and merge.");
        _meter.CreateObservableGauge("run_queue_length",
            () => _queued.Select(q => new Measurement<int>(q.Value, new KeyValuePair<string, object?>("courier", q.Key))),
            description: "Runs waiting for their courier's run in progress to end, per courier.");
        _meter.CreateObservableGauge("courier_last_success_timestamp_seconds",
            () => _lastSuccess.Select(s => new Measurement<double>(s.Value.ToUnixTimeMilliseconds() / 1000d, new KeyValuePair<string, object?>("courier", s.Key))),
            description: "When each courier's last successful run ended, in Unix seconds.");
        _meter.CreateObservableCounter("stitch_runs_total", () => ByStatus(_stitches), description: "Stitches finished, by outcome.");
        _stitchSeconds = _meter.CreateHistogram<double>("stitch_duration_seconds",
            description: "Wall time of stitches, by what ran (full or incremental): read, match, write.");
        _meter.CreateObservableGauge("stitch_records", () => Known(ref _stitchRecords),
            description: "Profile records in the result of the latest stitch this daemon ran.");
        _meter.CreateObservableGauge("stitch_people", () => Known(ref _stitchPeople),
            description: "People (Amperity IDs) in the result of the latest stitch this daemon ran.");
    }

    public void FileFinished(FileOutcome outcome, TimeSpan duration)
    {
        _files.AddOrUpdate(Label(outcome.Status), 1, (_, n) => n + 1);
        Interlocked.Add(ref _rowsLoaded, outcome.RowsInserted + outcome.RowsUpdated);
        Interlocked.Add(ref _rowsRejected, outcome.RowsRejected);
        Interlocked.Add(ref _bytesRead, outcome.BytesRead);
        _fileSeconds.Record(duration.TotalSeconds);
    }

    public void RunFinished(string courierId, RunStatus status, TimeSpan duration, DateTimeOffset at)
    {
        _runs.AddOrUpdate(Label(status), 1, (_, n) => n + 1);
        _runSeconds.Record(duration.TotalSeconds);
        if (status == RunStatus.Succeeded) CourierSucceeded(courierId, at);
    }

    /// <summary>A courier's last success, from a run now or, at start, from <c>heapd.runs</c>; an earlier time never replaces a later one.</summary>
    public void CourierSucceeded(string courierId, DateTimeOffset at) =>
        _lastSuccess.AddOrUpdate(courierId, at, (_, known) => at > known ? at : known);

    /// <summary>How many runs wait in a courier's queue.</summary>
    public void QueueLength(string courierId, int queued) => _queued[courierId] = queued;

    /// <summary>A deleted courier reports nothing more.</summary>
    public void CourierGone(string courierId)
    {
        _queued.TryRemove(courierId, out _);
        _lastSuccess.TryRemove(courierId, out _);
    }

    /// <param name="ran"><c>full</c> or <c>incremental</c>, what ran (an incremental stitch may have run full).</param>
    /// <param name="records">The result's records and people, for a stitch that succeeded.</param>
    public void StitchFinished(RunStatus status, string ran, TimeSpan duration, long? records, long? people)
    {
        _stitches.AddOrUpdate(Label(status), 1, (_, n) => n + 1);
        _stitchSeconds.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("kind", ran));
        if (records is { } r) Interlocked.Exchange(ref _stitchRecords, r);
        if (people is { } p) Interlocked.Exchange(ref _stitchPeople, p);
    }

    private static IEnumerable<Measurement<long>> Known(ref long value) =>
        Interlocked.Read(ref value) is >= 0 and var known ? [new Measurement<long>(known)] : [];

    private static IEnumerable<Measurement<long>> ByStatus(ConcurrentDictionary<string, long> counts) =>
        counts.Select(c => new Measurement<long>(c.Value, new KeyValuePair<string, object?>("status", c.Key)));

    private static string Label<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
