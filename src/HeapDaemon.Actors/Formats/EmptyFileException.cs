namespace HeapDaemon.Actors.Formats;

/// <summary>
/// A file with no content: no bytes, nothing once decrypted or decompressed, or (delimited text, NDJSON) only blank
/// lines. That is not a file of 0 rows, which has its header or schema, and it is as likely a failed export as a day
/// without data: the file fails, unless its courier entry says empty files are expected (<c>allowEmpty</c>).
/// </summary>
/// <param name="detail">What was empty, e.g. "0 bytes", without the object's name, which the caller adds.</param>
public sealed class EmptyFileException(string detail) : Exception($"the file is empty ({detail})")
{
    public string Detail { get; } = detail;
}
