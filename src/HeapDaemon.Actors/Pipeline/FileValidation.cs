using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Loading;

namespace HeapDaemon.Actors.Pipeline;

/// <summary>A batch of one file's records, checked.</summary>
/// <param name="Accepted">The good rows, encoded for COPY: one part per set of columns (a JSON file may add some mid-batch).</param>
internal sealed record ValidatedBatch(IReadOnlyList<CopyBatch> Accepted, IReadOnlyList<RejectedRow> Rejected);

/// <summary>
/// Checks one file's records against its feed, a batch at a time. A text file's first record is its header when it
/// has one; records of typed formats carry their names, and a validator is built for each new set of names. When
/// the columns become known the load begins (or widens, for schema drift), which is why this stage is asynchronous.
/// </summary>
internal sealed class FileValidation(StagedLoad load, FileLoadJob job)
{
    private RowValidator? _validator;
    private string[]? _names;

    /// <summary>Checks a batch and encodes its good rows, while the batch before is written.</summary>
    public async Task<ValidatedBatch> ValidateAsync(IEnumerable<SourceRecord> batch)
    {
        var accepted = new List<AcceptedRow>();
        var encoded = new List<CopyBatch>();
        var rejected = new List<RejectedRow>();
        foreach (var record in batch)
        {
            // A record the parser could not read (malformed JSON) is a reject, not a header, whatever comes first.
            if (record.Problem is not null && record.Names is null)
            {
                rejected.Add(new RejectedRow(record.Line, record.Raw ?? "", record.Problem));
                continue;
            }
            if (record.Names is { } names)
            {
                if (!ReferenceEquals(names, _names))
                {
                    Encode(); // with the columns its rows were checked against, before new ones are added
                    _validator = await ForNamesAsync(names, record.Line);
                    _names = names;
                }
            }
            else if (_validator is null)
            {
                if (!job.Settings.IsDelimited || job.Settings.HasHeader)
                {
                    var header = Array.ConvertAll(record.Fields, f => f as string ?? "");
                    _validator = await load.BeginFileAsync(job.SourceFile, header, feed => RowValidator.ForHeader(feed, header));
                    continue;
                }
                _validator = await load.BeginFileAsync(job.SourceFile, null, RowValidator.ByPosition);
            }
            switch (_validator!.Validate(record))
            {
                case AcceptedRow row: accepted.Add(row); break;
                case RejectedRow reject: rejected.Add(reject); break;
            }
        }
        Encode();
        return new ValidatedBatch(encoded, rejected);

        void Encode()
        {
            if (accepted.Count == 0) return;
            encoded.Add(load.Encode(accepted));
            accepted.Clear();
        }
    }

    /// <summary>An empty file still begins its load, so it commits (with its ledger row) like any other.</summary>
    public async Task EnsureBegunAsync()
    {
        if (_validator is null) await load.BeginFileAsync(job.SourceFile, null, RowValidator.ByPosition);
    }

    /// <summary>
    /// An Avro or Parquet schema must have every feed field, as a header must; a JSON object may leave fields out
    /// (they are null), since JSON omits what it does not have.
    /// </summary>
    private async Task<RowValidator> ForNamesAsync(string[] names, long line)
    {
        var json = job.Settings.Format is FileFormat.Json or FileFormat.Ndjson;
        try
        {
            return await load.BeginFileAsync(job.SourceFile, names, feed => RowValidator.ForNames(feed, names, allowMissing: json || job.MissingColumnsAreNull));
        }
        catch (SchemaMismatchException e) when (json)
        {
            throw new SchemaMismatchException($"{(job.Settings.Format == FileFormat.Ndjson ? "line" : "record")} {line}: {e.Message}");
        }
    }
}
