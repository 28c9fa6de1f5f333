using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Loading;

namespace HeapDaemon.Actors.Pipeline;

/// <summary>A batch of one file's records, checked.</summary>
/// <param name="Accepted">The good rows, encoded for COPY: one part per set of columns (a JSON file may add some mid-batch).</param>
/// <param name="Lines">The physical lines the batch's records span (a header is not counted): the error threshold's measure.</param>
internal sealed record ValidatedBatch(IReadOnlyList<CopyBatch> Accepted, IReadOnlyList<RejectedRow> Rejected, long Lines);

/// <summary>
/// Checks one file's records against its feed, a batch at a time. A text file's first record is its header when it
/// has one; records of typed formats carry their names, and a validator is built for each new set of names. When
/// the columns become known the load begins (or widens, for schema drift), which is why this stage is asynchronous.
/// </summary>
internal sealed class FileValidation(StagedLoad load, FileLoadJob job)
{
    private RowValidator? _validator;
    private string[]? _names;
    private bool _anyRecord;

    /// <summary>Checks a batch and encodes its good rows, while the batch before is written.</summary>
    public async Task<ValidatedBatch> ValidateAsync(IEnumerable<SourceRecord> batch)
    {
        var accepted = new List<AcceptedRow>();
        var encoded = new List<CopyBatch>();
        var rejected = new List<RejectedRow>();
        long lines = 0;
        foreach (var record in batch)
        {
            _anyRecord = true;
            // A record the parser could not read (malformed JSON) is a reject, not a header, whatever comes first.
            if (record.Problem is not null && record.Names is null)
            {
                rejected.Add(RejectedRow.Of(record, record.Raw ?? "", record.Problem));
                lines += record.LineEnd - record.Line + 1;
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
            lines += record.LineEnd - record.Line + 1;
            switch (_validator!.Validate(record))
            {
                case AcceptedRow row: accepted.Add(row); break;
                case RejectedRow reject: rejected.Add(reject); break;
            }
        }
        Encode();
        return new ValidatedBatch(encoded, rejected, lines);

        void Encode()
        {
            if (accepted.Count == 0) return;
            encoded.Add(load.Encode(accepted));
            accepted.Clear();
        }
    }

    /// <summary>
    /// After the last record. A file of no rows still begins its load, so it commits (with its ledger row) like any
    /// other; but a text file without a single record, not even a header, is empty.
    /// </summary>
    /// <exception cref="EmptyFileException">a delimited or NDJSON file holds only blank lines.</exception>
    public async Task FinishAsync()
    {
        if (!_anyRecord && (job.Settings.IsDelimited || job.Settings.Format == FileFormat.Ndjson))
            throw new EmptyFileException("it holds only blank lines");
        await BeginIfNotBegunAsync();
    }

    /// <summary>An empty file that its courier entry allows: loaded as 0 rows, so its load (and ledger row) commit all the same.</summary>
    public Task BeginIfNotBegunAsync() =>
        _validator is null ? load.BeginFileAsync(job.SourceFile, null, RowValidator.ByPosition) : Task.CompletedTask;

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
