using Npgsql;

namespace HeapDaemon.Actors.Runs;

/// <summary>
/// A run's lease: a PostgreSQL advisory lock keyed by the run id, held by an open transaction on a connection of its
/// own for as long as the attempt works. Sharding puts a courier on one node at a time; this is the belt under it: while
/// a node that was cut off (or is still rolling back after a hand-over) holds a run, another node waits for it instead of
/// loading the same files at once. The lock goes with the holder's connection, so a node that dies (SIGKILL, power)
/// releases it as soon as PostgreSQL sees the connection close.
/// </summary>
/// <remarks>
/// The transaction takes only the lock (no snapshot is kept between statements under read committed, and no
/// transaction id is assigned), so holding it open does not hold back vacuum.
/// </remarks>
public sealed class RunLeases(NpgsqlDataSource db)
{
    private static readonly TimeSpan PollEvery = TimeSpan.FromSeconds(1);

    /// <summary>Waits until this node holds the run's lease; <paramref name="waiting"/> is called once if another holds it.</summary>
    public async Task<IAsyncDisposable> AcquireAsync(Guid runId, Action waiting, CancellationToken ct)
    {
        var key = BitConverter.ToInt64(runId.ToByteArray(), 0);
        var told = false;
        while (true)
        {
            var connection = await db.OpenConnectionAsync(ct);
            try
            {
                var transaction = await connection.BeginTransactionAsync(ct);
                await using var cmd = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock($1)", connection, transaction);
                cmd.Parameters.AddWithValue(key);
                if ((bool)(await cmd.ExecuteScalarAsync(ct))!) return new Lease(connection, transaction);
                await transaction.DisposeAsync();
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
            await connection.DisposeAsync();
            if (!told) waiting();
            told = true;
            await Task.Delay(PollEvery, ct);
        }
    }

    /// <summary>Ending the transaction releases the lock; the connection goes back to the pool clean. Released once, by whichever asks first.</summary>
    private sealed class Lease(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        private int _released;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 1) return;
            try
            {
                await transaction.DisposeAsync();
            }
            finally
            {
                await connection.DisposeAsync();
            }
        }
    }
}
