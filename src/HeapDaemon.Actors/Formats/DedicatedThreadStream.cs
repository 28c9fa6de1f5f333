using System.Buffers;
using System.IO.Pipelines;

namespace HeapDaemon.Actors.Formats;

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

    /// <returns>false when the reader stopped before the source ended.</returns>
    public bool CopyFrom(Stream source)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            int read;
            while ((read = source.Read(buffer, 0, ChunkSize)) > 0)
                if (!Write(buffer.AsSpan(0, read))) return false;
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
