namespace HeapDaemon.Actors.Formats;

/// <summary>
/// A temporary file for formats that must seek (Parquet's footer, zip's central directory): memory stays flat, the
/// disk holds the file instead, and the operating system deletes it when it is closed, crash or not.
/// </summary>
public static class TempSpool
{
    /// <returns>The copy, positioned at its start; the caller disposes it, which deletes it.</returns>
    public static async Task<FileStream> CopyAsync(Stream source, CancellationToken ct)
    {
        var path = Path.Combine(Path.GetTempPath(), $"heapd-{Guid.NewGuid():N}.spool");
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16,
            FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            await source.CopyToAsync(file, 1 << 16, ct);
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
