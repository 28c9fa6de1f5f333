using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Loading;
using Npgsql;

namespace HeapDaemon.Actors.Pipeline;

/// <summary>
/// One feed's load in progress: the feed as the files' columns resolve it (schema drift), and the staging
/// transaction, begun when the first file's columns are known. Files are staged one after another into it.
/// </summary>
/// <remarks>
/// The validation and COPY stages run concurrently, and a failed stream does not wait for a COPY still in flight;
/// the load's one connection is therefore used under a gate, and disposal waits for it, so a rollback never meets
/// a connection still busy with a COPY.
/// </remarks>
/// <param name="begun">How long the load's transaction took to begin (a phase of <c>file_phase_seconds</c>).</param>
internal sealed class StagedLoad(NpgsqlDataSource db, FeedCatalog feeds, FeedDefinition feed, LoadOptions options, Action<TimeSpan> begun, CancellationToken ct)
    : IAsyncDisposable
{
    private readonly SemaphoreSlim _connection = new(1, 1);
    private string? _currentFile;

    public FeedDefinition Feed { get; private set; } = feed;

    public DomainTableLoad? Load { get; private set; }

    /// <summary>
    /// The columns of a file (or a new set of them within it, as JSON objects may have) are known: add the new ones
    /// to the feed when it says so, begin the load or widen it, and give the validator for the columns.
    /// </summary>
    /// <param name="columns">The file's column names; null when the file has no header row.</param>
    /// <exception cref="SchemaMismatchException">the columns do not fit the feed.</exception>
    public async Task<RowValidator> BeginFileAsync(string sourceFile, IReadOnlyList<string>? columns, Func<FeedDefinition, RowValidator> validatorFor)
    {
        await _connection.WaitAsync(ct);
        try
        {
            return await BeginFileUnderGateAsync(sourceFile, columns, validatorFor);
        }
        finally
        {
            _connection.Release();
        }
    }

    /// <summary>Encodes rows for COPY with the load's current columns; it does not use the connection.</summary>
    public CopyBatch Encode(IReadOnlyList<AcceptedRow> rows) => Load!.Encode(rows);

    public async Task WriteAsync(IReadOnlyList<CopyBatch> batch)
    {
        await _connection.WaitAsync(ct);
        try
        {
            await Load!.WriteAsync(batch, ct);
        }
        finally
        {
            _connection.Release();
        }
    }

    private async Task<RowValidator> BeginFileUnderGateAsync(string sourceFile, IReadOnlyList<string>? columns, Func<FeedDefinition, RowValidator> validatorFor)
    {
        var added = columns is not null && Feed.NewColumns == NewColumnPolicy.Add ? RowValidator.UnknownColumns(Feed, columns) : [];
        if (Load is null)
        {
            // Before the load's transaction: the domain table is locked only for the moment of the ALTER.
            if (added.Count > 0) Feed = await feeds.AddFieldsAsync(Feed.Id, added, ct);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            Load = await DomainTableLoad.BeginAsync(db, Feed, options, ct);
            begun(System.Diagnostics.Stopwatch.GetElapsedTime(started));
        }
        else if (added.Count > 0)
        {
            Feed = await Load.WidenAsync((connection, transaction) => FeedCatalog.AddFieldsAsync(connection, transaction, Feed.Id, added, ct), ct);
        }
        var validator = validatorFor(Feed);
        if (_currentFile != sourceFile)
        {
            await Load.StartFileAsync(sourceFile, ct);
            _currentFile = sourceFile;
        }
        return validator;
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.WaitAsync();
        try
        {
            if (Load is not null) await Load.DisposeAsync();
        }
        finally
        {
            _connection.Release();
            _connection.Dispose();
        }
    }
}
