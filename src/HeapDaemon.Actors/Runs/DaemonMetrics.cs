using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace HeapDaemon.Actors.Runs;

/// <summary>
/// The daemon's counters and durations, rendered in Prometheus' text format for <c>/metrics</c>. Written from run
/// tasks on any thread, so every figure is updated atomically.
/// </summary>
public sealed class DaemonMetrics
{
    private readonly ConcurrentDictionary<string, long> _runs = new();
    private readonly ConcurrentDictionary<string, long> _files = new();
    private readonly Histogram _runSeconds = new();
    private readonly Histogram _fileSeconds = new();
    private long _rowsLoaded, _rowsRejected, _bytesRead;

    public void FileFinished(FileOutcome outcome, TimeSpan duration)
    {
        _files.AddOrUpdate(Label(outcome.Status), 1, (_, n) => n + 1);
        Interlocked.Add(ref _rowsLoaded, outcome.RowsInserted + outcome.RowsUpdated);
        Interlocked.Add(ref _rowsRejected, outcome.RowsRejected);
        Interlocked.Add(ref _bytesRead, outcome.BytesRead);
        _fileSeconds.Observe(duration.TotalSeconds);
    }

    public void RunFinished(RunStatus status, TimeSpan duration)
    {
        _runs.AddOrUpdate(Label(status), 1, (_, n) => n + 1);
        _runSeconds.Observe(duration.TotalSeconds);
    }

    public string Render()
    {
        var text = new StringBuilder();
        Counter(text, "heapd_runs_total", "Runs finished, by outcome.", _runs.Select(kv => ($"status=\"{kv.Key}\"", kv.Value)));
        Counter(text, "heapd_files_total", "Files finished, by outcome.", _files.Select(kv => ($"status=\"{kv.Key}\"", kv.Value)));
        Counter(text, "heapd_rows_loaded_total", "Rows inserted or updated in domain tables.", [("", Interlocked.Read(ref _rowsLoaded))]);
        Counter(text, "heapd_rows_rejected_total", "Rows rejected by validation.", [("", Interlocked.Read(ref _rowsRejected))]);
        Counter(text, "heapd_bytes_read_total", "Bytes read from S3 objects.", [("", Interlocked.Read(ref _bytesRead))]);
        _runSeconds.Render(text, "heapd_run_duration_seconds", "Wall time of runs.");
        _fileSeconds.Render(text, "heapd_file_duration_seconds", "Wall time of one file: download, parse, validate, stage and merge.");
        return text.ToString();
    }

    private static string Label<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    private static void Counter(StringBuilder text, string name, string help, IEnumerable<(string Labels, long Value)> values)
    {
        text.Append($"# HELP {name} {help}\n# TYPE {name} counter\n");
        foreach (var (labels, value) in values.OrderBy(v => v.Labels, StringComparer.Ordinal))
            text.Append(labels.Length == 0 ? $"{name} {value}\n" : $"{name}{{{labels}}} {value}\n");
    }

    private sealed class Histogram
    {
        private static readonly double[] Bounds = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];
        private readonly long[] _buckets = new long[Bounds.Length];
        private long _count, _sumMicroseconds;

        public void Observe(double seconds)
        {
            for (var i = 0; i < Bounds.Length; i++)
                if (seconds <= Bounds[i]) Interlocked.Increment(ref _buckets[i]);
            Interlocked.Increment(ref _count);
            Interlocked.Add(ref _sumMicroseconds, (long)(seconds * 1_000_000));
        }

        public void Render(StringBuilder text, string name, string help)
        {
            text.Append($"# HELP {name} {help}\n# TYPE {name} histogram\n");
            for (var i = 0; i < Bounds.Length; i++)
                text.Append($"{name}_bucket{{le=\"{Bounds[i].ToString(CultureInfo.InvariantCulture)}\"}} {Interlocked.Read(ref _buckets[i])}\n");
            var count = Interlocked.Read(ref _count);
            text.Append($"{name}_bucket{{le=\"+Inf\"}} {count}\n");
            text.Append($"{name}_sum {(Interlocked.Read(ref _sumMicroseconds) / 1_000_000d).ToString(CultureInfo.InvariantCulture)}\n");
            text.Append($"{name}_count {count}\n");
        }
    }
}
