using System.Runtime.CompilerServices;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Pgp;

namespace HeapDaemon.Actors.Formats;

/// <summary>The records of one object: S3 body → decrypt → decompress → unarchive → parse, as its settings say.</summary>
public static class FileRecords
{
    /// <summary>
    /// Every record of the file. The enumeration ends only after the checks that need the last byte (PGP integrity,
    /// gzip CRC, no second matching archive member) have passed; otherwise it throws
    /// <see cref="UnreadableFileException"/>, so a caller that commits after the last record never commits a bad file.
    /// </summary>
    /// <exception cref="EmptyFileException">the file has no content, before or after unwrapping (its checks passed).</exception>
    public static async IAsyncEnumerable<SourceRecord> ReadAsync(Stream body, FileSettings settings, PgpKeyring? keyring,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var file = await FileUnwrapper.OpenAsync(body, settings, keyring, ct);
        if (file.IsEmpty)
        {
            await file.FinishAsync(ct);
            throw new EmptyFileException(file.IsWrapped ? $"nothing once unwrapped: {file.Description}" : "0 bytes");
        }
        await foreach (var record in Parse(file.Content, settings, ct)) yield return record;
        await file.FinishAsync(ct);
    }

    /// <summary>The records of already unwrapped content.</summary>
    public static IAsyncEnumerable<SourceRecord> Parse(Stream content, FileSettings settings, CancellationToken ct) => settings.Format switch
    {
        FileFormat.Csv or FileFormat.Tsv or FileFormat.Psv or FileFormat.Dsv => CsvFormat.ReadAsync(content, settings, ct),
        FileFormat.Ndjson => JsonFormat.ReadLinesAsync(content, ct),
        FileFormat.Json => JsonFormat.ReadArrayAsync(content, ct),
        FileFormat.Avro => AvroFormat.ReadAsync(content, ct),
        FileFormat.Parquet => ParquetFormat.ReadAsync(content, ct),
        _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Format, "unknown format"),
    };
}
