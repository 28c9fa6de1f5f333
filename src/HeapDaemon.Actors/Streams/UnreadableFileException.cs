namespace HeapDaemon.Actors.Streams;

/// <summary>
/// A file that cannot be read as its settings say (wrong PGP key, truncated gzip, damaged Avro block, no Parquet
/// footer, invalid UTF-8...): the message says what and where, without the object's name, which the caller adds.
/// The file fails and nothing of it loads; the daemon carries on.
/// </summary>
public sealed class UnreadableFileException(string message, Exception? inner = null) : Exception(message, inner);
