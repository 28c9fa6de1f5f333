namespace HeapDaemon.Actors.Streams;

/// <summary>
/// A temporary file for formats that must seek (Parquet's footer, zip's central directory): memory stays flat, the
/// disk holds the file instead, and the operating system deletes it when it is closed, crash or not.
/// </summary>
public static class TempSpool
{
    /// <param name="maxBytes">Stop and fail past this many bytes (a preview must not download a whole big file).</param>
    /// <returns>The copy, positioned at its start; the caller disposes it, which deletes it.</returns>
    public static async Task<FileStream> CopyAsync(Stream source, CancellationToken ct, long? maxBytes = null)
    {
        var path = Path.Combine(Path.GetTempPath(), $"heapd-{Guid.NewGuid():N}.spool");
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16,
            FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            var buffer = new byte[1 << 16];
            int read;
            while ((read = await source.ReadAsync(buffer, ct)) > 0)
            {
                if (file.Length + read > maxBytes)
                    throw new UnreadableFileException($"it must be read whole before it can be read at all, and it is over the {maxBytes >> 20} MB allowed here");
                await file.WriteAsync(buffer.AsMemory(0, read), ct);
            }
            file.Position = 0;
            return file;
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
    }
}
