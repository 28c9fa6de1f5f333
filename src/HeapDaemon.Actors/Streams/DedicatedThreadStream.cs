using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace HeapDaemon.Actors.Streams;

/// <summary>Where a synchronous producer writes its output; <see cref="Write"/> blocks while the reader has no room.</summary>
public sealed class PipeSink(PipeWriter writer, CancellationToken ct)
{
    private const int ChunkSize = 64 * 1024;

    /// <returns>false when the reader has stopped reading, so the producer can stop too.</returns>
    public bool Write(ReadOnlySpan<byte> bytes)
    {
        ct.ThrowIfCancellationRequested();
        writer.Write(bytes);
        // Blocks this dedicated thread, never a shared one, until the reader has room: the backpressure.
        return !writer.FlushAsync(ct).AsTask().GetAwaiter().GetResult().IsCompleted;
    }

    /// <param name="observe">Sees each chunk before the reader does (a signature computed over the data).</param>
    /// <returns>false when the reader stopped before the source ended.</returns>
    public bool CopyFrom(Stream source, Action<byte[], int, int>? observe = null)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            int read;
            while ((read = source.Read(buffer, 0, ChunkSize)) > 0)
            {
                observe?.Invoke(buffer, 0, read);
                if (!Write(buffer.AsSpan(0, read))) return false;
            }
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>
/// Runs a synchronous stream transform (BouncyCastle's PGP, SharpZipLib's gzip) on a dedicated thread and hands its
/// output to async readers through a <see cref="Pipe"/>.
/// </summary>
/// <remarks>
/// Those libraries only read synchronously, and a synchronous read of a network stream blocks its thread for as long
/// as S3 takes. A long-running task gets a thread of its own, so neither the thread pool nor Akka's dispatchers are
/// blocked, and the readers downstream stay async. The pipe's pause threshold bounds what is buffered (1 MiB): when
/// the readers fall behind, the producer's thread waits and stops reading its input. The pipe completes only after
/// the producer returns, so a check that runs after the last byte (PGP's MDC, gzip's CRC) decides whether the reader
/// sees a clean end or the error. (Akka's StreamConverters.FromInputStream on the blocking-IO dispatcher would also
/// keep the reads off the default dispatcher, but the parsers want a Stream, not a Source of ByteStrings, and the
/// end of the stream must wait for those checks; a pipe gives both without a second conversion.)
/// </remarks>
public static class DedicatedThreadStream
{
    /// <param name="produce">Writes everything to the sink, or throws; translate turns what it throws into what the reader sees.</param>
    public static Stream Start(Action<PipeSink> produce, Func<Exception, Exception> translate, CancellationToken ct)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false));
        _ = Task.Factory.StartNew(() =>
        {
            try
            {
                produce(new PipeSink(pipe.Writer, ct));
                pipe.Writer.Complete();
            }
            catch (Exception e)
            {
                pipe.Writer.Complete(translate(e));
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return pipe.Reader.AsStream();
    }
}

/// <summary>
/// Runs a synchronous enumeration (Apache.Avro's reader) on a dedicated thread and hands its items to async
/// consumers through a bounded channel, for the same reasons as <see cref="DedicatedThreadStream"/>. Items cross in
/// chunks: a hand-over per item cost more than decoding it.
/// </summary>
public static class DedicatedThreadEnumerable
{
    private const int ChunkSize = 256;

    /// <param name="capacity">Items buffered ahead of the consumer (rounded up to whole chunks); the producer's thread waits beyond it.</param>
    public static async IAsyncEnumerable<T> Run<T>(Func<CancellationToken, IEnumerable<T>> produce, int capacity,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        var channel = Channel.CreateBounded<List<T>>(new BoundedChannelOptions((capacity + ChunkSize - 1) / ChunkSize) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var producer = Task.Factory.StartNew(() =>
        {
            var chunk = new List<T>(ChunkSize);
            try
            {
                foreach (var item in produce(stop.Token))
                {
                    chunk.Add(item);
                    if (chunk.Count < ChunkSize) continue;
                    if (!Hand(chunk)) return;
                    chunk = new List<T>(ChunkSize);
                }
                if (chunk.Count > 0 && !Hand(chunk)) return;
                channel.Writer.Complete();
            }
            catch (Exception e)
            {
                // What was read before the failure still reaches the consumer, ahead of the failure.
                try
                {
                    if (chunk.Count > 0) Hand(chunk);
                }
                catch (OperationCanceledException)
                {
                }
                channel.Writer.Complete(e);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await foreach (var chunk in channel.Reader.ReadAllAsync(ct))
                foreach (var item in chunk) yield return item;
        }
        finally
        {
            // A consumer that stops early (a preview, a failed file) stops the producer too.
            stop.Cancel();
            await producer.ConfigureAwait(false);
        }

        // Blocks this dedicated thread while the consumer is behind: the backpressure.
        bool Hand(List<T> chunk)
        {
            while (!channel.Writer.TryWrite(chunk))
                if (!channel.Writer.WaitToWriteAsync(stop.Token).AsTask().GetAwaiter().GetResult()) return false;
            return true;
        }
    }
}
