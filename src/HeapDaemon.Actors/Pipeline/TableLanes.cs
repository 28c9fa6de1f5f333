namespace HeapDaemon.Actors.Pipeline;

/// <summary>
/// Loads the tables of a run at the same time: each lane is one domain table's work (its files, which load one after
/// another in their order), and up to <see cref="LoadingSettings.Parallelism"/> lanes run at once, each load on its own
/// connection. Lanes start in the order given, so with a parallelism of 1 a run loads exactly as one file after another.
/// </summary>
public static class TableLanes
{
    /// <summary>
    /// Runs <paramref name="load"/> for each lane, up to <paramref name="parallelism"/> at once. Once a lane's result
    /// <paramref name="stops"/> the run, no further lane starts; those in flight end as they would (a failed file of one
    /// table does not roll back another table's load), and lanes never started have no result.
    /// </summary>
    /// <remarks>
    /// What a lane throws (a fault of the daemon or its database, or the cancel) cancels the lanes in flight, which roll
    /// back their files, and is thrown once they have.
    /// </remarks>
    /// <returns>Each lane's result, by the lane's index; default for lanes that did not start.</returns>
    public static async Task<TResult?[]> RunAsync<TLane, TResult>(IReadOnlyList<TLane> lanes, int parallelism,
        Func<TLane, CancellationToken, Task<TResult>> load, Func<TResult, bool> stops, CancellationToken ct)
    {
        var results = new TResult?[lanes.Count];
        var stopped = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = ct };
        await Parallel.ForEachAsync(Enumerable.Range(0, lanes.Count), options, async (i, laneCt) =>
        {
            if (Volatile.Read(ref stopped) != 0) return;
            var result = await load(lanes[i], laneCt);
            results[i] = result;
            if (stops(result)) Interlocked.Exchange(ref stopped, 1);
        });
        return results;
    }
}
