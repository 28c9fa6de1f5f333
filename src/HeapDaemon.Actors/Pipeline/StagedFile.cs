using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Loading;
using Npgsql;

namespace HeapDaemon.Actors.Pipeline;

/// <summary>
/// One file's load in progress: the feed as the file's columns resolve it (schema drift), the staging transaction
/// begun once those columns are known, and the rejects written as batches pass.
/// </summary>
internal sealed class StagedFile(NpgsqlDataSource db, FeedCatalog feeds, FileLoadJob job, CancellationToken ct) : IAsyncDisposable
{
    private readonly RejectWriter _rejects = new(db, job.RunId, job.Key);

    public FeedDefinition Feed { get; private set; } = job.Feed;

    public DomainTableLoad? Load { get; private set; }

    /// <param name="header">The file's column names; null when the file has no header row.</param>
    /// <exception cref="SchemaMismatchException">the columns do not fit the feed.</exception>
    public async Task<RowValidator> BeginAsync(IReadOnlyList<string>? header)
    {
        if (header is not null && Feed.NewColumns == NewColumnPolicy.Add && RowValidator.UnknownColumns(Feed, header) is { Count: > 0 } added)
            Feed = await feeds.AddFieldsAsync(Feed.Id, added, ct);
        var validator = header is null ? RowValidator.ByPosition(Feed) : RowValidator.ForHeader(Feed, header);
        Load = await DomainTableLoad.BeginAsync(db, Feed, ct);
        return validator;
    }

    public async Task<BatchCounts> WriteAsync(IEnumerable<ValidatedRow> batch)
    {
        var accepted = new List<AcceptedRow>();
        var rejected = new List<RejectedRow>();
        foreach (var row in batch)
        {
            if (row is AcceptedRow a) accepted.Add(a);
            else rejected.Add((RejectedRow)row);
        }
        await Load!.WriteAsync(accepted, ct);
        await _rejects.WriteAsync(rejected, ct);
        return new BatchCounts(accepted.Count, rejected.Count, rejected.FirstOrDefault());
    }

    public async ValueTask DisposeAsync()
    {
        if (Load is not null) await Load.DisposeAsync();
        await _rejects.DisposeAsync();
    }
}

internal sealed record BatchCounts(long Accepted, long Rejected, RejectedRow? FirstReject);
