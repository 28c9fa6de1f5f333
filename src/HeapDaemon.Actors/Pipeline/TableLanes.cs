using HeapDaemon.Actors.Retries;
using HeapDaemon.Actors.Runs;

namespace HeapDaemon.Actors.Pipeline;

/// <summary>One file of a <see cref="TableLoad"/>: its place in the run and its object.</summary>
public sealed record TableLoadFile(int Ordinal, string Key);

/// <summary>
/// The unit of work of a parallel load: one domain table's files of a run, loaded one after another in their order,
/// each upserted on its own or, with <paramref name="Replace"/>, all together replacing the table in one transaction.
/// Plain data (ids, keys and ordinals; the courier's configuration says how to read them), so it can be handed to
/// another node; what it did comes back as a <see cref="TableLoadResult"/>.
/// </summary>
public sealed record TableLoad(Guid RunId, string CourierId, string Bucket, string FeedId, bool Replace, IReadOnlyList<TableLoadFile> Files);

/// <param name="Earlier">The file was loaded by an earlier attempt of the run, which its outcome reports.</param>
public sealed record TableLoadFileResult(int Ordinal, FileOutcome Outcome, bool Earlier = false);

/// <summary>What a <see cref="TableLoad"/> did: each file's outcome, recorded, in the files' order.</summary>
/// <param name="Stop">Why the run stops at this table (a Heap dump stops at a table that fails); null to go on.</param>
public sealed record TableLoadResult(TableLoad Load, IReadOnlyList<TableLoadFileResult> Files, TableStop? Stop = null);

/// <summary>Why a run stops at a table, and whether another attempt may not meet it.</summary>
public sealed record TableStop(string Message, FaultKind Fault);

/// <summary>
/// Loads the tables of a run at the same time: each <see cref="TableLoad"/> is one domain table's files, which load one
/// after another in their order, and up to <see cref="LoadingSettings.Parallelism"/> tables load at once, each on its
/// own connection. Tables start in the order given, so with a parallelism of 1 a run loads exactly as one file after
/// another.
/// </summary>
public static class TableLanes
{
    /// <summary>
    /// Runs <paramref name="load"/> for each table, up to <paramref name="parallelism"/> at once. Once a result
    /// stops the run (<see cref="TableLoadResult.Stop"/>), no further table starts; those in flight end as they would
    /// (a failed file of one table does not roll back another table's load), and tables never started have no result.
    /// </summary>
    /// <remarks>
    /// What a table's load throws (a fault of the daemon or its database, or the cancel) cancels the tables in flight,
    /// which roll back their files, and is thrown once they have.
    /// </remarks>
    /// <returns>Each table's result, by its index; null for tables that did not start.</returns>
    public static async Task<TableLoadResult?[]> RunAsync(IReadOnlyList<TableLoad> tables, int parallelism,
        Func<TableLoad, CancellationToken, Task<TableLoadResult>> load, CancellationToken ct)
    {
        var results = new TableLoadResult?[tables.Count];
        var stopped = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = ct };
        await Parallel.ForEachAsync(Enumerable.Range(0, tables.Count), options, async (i, tableCt) =>
        {
            if (Volatile.Read(ref stopped) != 0) return;
            var result = await load(tables[i], tableCt);
            results[i] = result;
            if (result.Stop is not null) Interlocked.Exchange(ref stopped, 1);
        });
        return results;
    }
}
