using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Formats.Inference;
using HeapDaemon.Actors.Pgp;
using HeapDaemon.Actors.Storage;
using HeapDaemon.Actors.Streams;

namespace HeapDaemon.Actors.Preview;

/// <summary>Settings a user sets in a preview, over what was inferred; unset ones keep the inferred value.</summary>
public sealed record FileSettingsOverrides(
    FileFormat? Format = null,
    string? Delimiter = null,
    string? Quote = null,
    string? Escape = null,
    bool? Header = null,
    string? Encoding = null,
    Compression? Compression = null,
    string? Member = null)
{
    public FileSettings ApplyTo(FileSettings inferred)
    {
        // A different format makes the inferred text settings meaningless.
        var baseline = Format is { } f && f != inferred.Format
            ? new FileSettings(f, Compression: inferred.Compression, Member: inferred.Member)
            : inferred;
        return baseline with
        {
            Delimiter = Delimiter ?? baseline.Delimiter,
            Quote = Quote ?? baseline.Quote,
            Escape = Escape ?? baseline.Escape,
            Header = Header ?? baseline.Header,
            Encoding = Encoding ?? baseline.Encoding,
            Compression = Compression ?? baseline.Compression,
            Member = Member ?? baseline.Member,
        };
    }
}

public sealed record PreviewRequest(string CredentialId, string Key, string? PgpCredentialId = null, FileSettingsOverrides? Settings = null);

public sealed record PreviewColumn(string Name, FieldType Type, int? Precision = null, int? Scale = null);

public sealed record PreviewProblem(long Line, string Problem);

/// <param name="Unwrapped">How the object was opened: "plain", or e.g. "PGP, gzip, tar member 'users.csv'".</param>
/// <param name="Rows">Up to <see cref="FilePreviewer.MaxRows"/> rows, as text, in the order of <paramref name="Columns"/>.</param>
/// <param name="Raw">The first bytes of the content (after decryption and decompression) as text.</param>
/// <param name="BytesRead">Bytes downloaded from S3 for this preview.</param>
public sealed record FilePreview(
    string Object,
    long? Size,
    string Unwrapped,
    FileSettings Settings,
    IReadOnlyList<PreviewColumn> Columns,
    IReadOnlyList<string?[]> Rows,
    IReadOnlyList<PreviewProblem> Problems,
    string Raw,
    long BytesRead);

public sealed class PreviewSettings
{
    /// <summary>
    /// Amperity's limit: a PGP-encrypted (or compressed) Parquet file is read whole before its footer can be. A
    /// zip archive, whose directory is at its end, is held to it too.
    /// </summary>
    public long MaxWrappedParquetMegabytes { get; init; } = 500;
}

/// <summary>Why there is no preview, with the HTTP status that says so.</summary>
public sealed class PreviewException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>
/// A look at one object: what it is (inferred settings, overridable), its columns with inferred types, its first
/// rows, and its first bytes. It reads only what it shows: the stream is abandoned (and the GET aborted) once the
/// rows are in, so previewing a 2 GB file costs a few megabytes; plain Parquet is read by ranged GETs.
/// </summary>
public sealed class FilePreviewer(CredentialCatalog credentials, PgpKeyCatalog pgp, S3ClientFactory s3Factory, PreviewSettings limits)
{
    public const int MaxRows = 200;

    private const int SniffBytes = 64 * 1024;
    private const int RawBytes = 8 * 1024;

    /// <exception cref="PreviewException">the credential, the object or the file is not what the preview needs.</exception>
    public async Task<FilePreview> PreviewAsync(PreviewRequest request, CancellationToken ct)
    {
        var access = await credentials.GetAccessAsync(request.CredentialId, ct)
                     ?? throw new PreviewException(404, $"no S3 credential '{request.CredentialId}'");
        PgpKeyring? keyring = null;
        if (request.PgpCredentialId is { } pgpId)
        {
            try
            {
                keyring = await pgp.GetKeyringAsync(pgpId, ct) ?? throw new PreviewException(404, $"no PGP credential '{pgpId}'");
            }
            catch (Exception e) when (e is PgpKeyException or CryptographicException)
            {
                throw new PreviewException(422, $"PGP credential '{pgpId}' cannot be used: {e.Message}");
            }
        }
        var bucket = access.Credential.Bucket;
        var source = $"s3://{bucket}/{request.Key}";
        using var s3 = s3Factory.Create(access);
        GetObjectResponse response;
        try
        {
            response = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = request.Key }, ct);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            throw new PreviewException(e is AmazonS3Exception { StatusCode: System.Net.HttpStatusCode.NotFound } ? 404 : 502, S3Errors.Describe(e, bucket, request.Key));
        }

        try
        {
            using (response)
            {
                return await ReadAsync(s3, response, source, keyring, request.Settings ?? new FileSettingsOverrides(), limits.MaxWrappedParquetMegabytes << 20, ct);
            }
        }
        catch (UnreadableFileException e)
        {
            throw new PreviewException(422, $"{source}: {e.Message}");
        }
        catch (SchemaMismatchException e)
        {
            throw new PreviewException(422, $"{source}: {e.Message}");
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            throw new PreviewException(502, S3Errors.Describe(e, response.BucketName, response.Key));
        }
    }

    private static async Task<FilePreview> ReadAsync(IAmazonS3 s3, GetObjectResponse response, string source, PgpKeyring? keyring,
        FileSettingsOverrides overrides, long maxWrappedParquetBytes, CancellationToken ct)
    {
        var body = new CountingStream(response.ResponseStream);
        long? size = response.ContentLength >= 0 ? response.ContentLength : null;
        var opening = new FileSettings(Compression: overrides.Compression ?? Compression.Auto, Member: overrides.Member);
        // A zip's directory is at its end, so it is spooled whole: within the same limit as a wrapped Parquet file.
        await using var file = await FileUnwrapper.OpenAsync(body, opening, keyring, ct, openArchives: true, maxSpoolBytes: maxWrappedParquetBytes);
        var content = new PeekStream(file.Content);
        var head = await content.PeekAsync(SniffBytes, ct);
        var settings = overrides.ApplyTo(FormatSniffer.Sniff(head.Span, file.Compression, overrides.Member));
        if (settings.Validate() is { Count: > 0 } errors) throw new PreviewException(400, $"{source}: {string.Join("; ", errors)}");
        var raw = RawText(head.Span[..Math.Min(head.Length, RawBytes)], settings);

        if (settings.Format == FileFormat.Parquet && !file.IsWrapped && size is { } length)
        {
            // Plain Parquet: the footer and the start of each column by ranged GETs instead of the whole object.
            var ranged = new S3RangeStream(s3, response.BucketName, response.Key, response.ETag, length, ct);
            var parquet = await CollectAsync(ParquetFormat.ReadSeekableAsync(ranged, ct), settings, ct);
            return Build(source, size, file.Description, settings, parquet, raw, body.BytesRead + ranged.BytesFetched);
        }
        if (settings.Format == FileFormat.Parquet && size > maxWrappedParquetBytes)
        {
            throw new PreviewException(413, $"{source}: a Parquet file that is {(keyring is null ? "compressed" : "PGP-encrypted")} ({file.Description}) " +
                                            $"must be read whole to be previewed, and only files under {maxWrappedParquetBytes >> 20} MB are; " +
                                            $"this one is {size.Value / (1024.0 * 1024):0.#} MB");
        }
        var records = await CollectAsync(FileRecords.Parse(content, settings, ct), settings, ct);
        return Build(source, size, file.Description, settings, records, raw, body.BytesRead);
    }

    /// <summary>The first records: the header (when the file has one) and up to <see cref="MaxRows"/> more; then the reading stops.</summary>
    private static async Task<List<SourceRecord>> CollectAsync(IAsyncEnumerable<SourceRecord> records, FileSettings settings, CancellationToken ct)
    {
        var wanted = MaxRows + (settings.IsDelimited && settings.HasHeader ? 1 : 0);
        var list = new List<SourceRecord>();
        await foreach (var record in records.WithCancellation(ct))
        {
            list.Add(record);
            if (list.Count == wanted) break;
        }
        return list;
    }

    private static FilePreview Build(string source, long? size, string unwrapped, FileSettings settings, List<SourceRecord> records, string raw, long bytesRead)
    {
        var table = Table(records, settings);
        var columns = table.Names.Select((name, i) =>
        {
            var type = ColumnTypes.Infer(table.Rows.Select(r => r.Values[i]));
            return new PreviewColumn(name, type.Type, type.Precision, type.Scale);
        }).ToList();
        var rows = table.Rows.Select(r => r.Values.Select(Show).ToArray()).ToList();
        var problems = records.Where(r => r.Problem is not null).Select(r => new PreviewProblem(r.Line, r.Problem!)).ToList();
        return new FilePreview(source, size, unwrapped, settings, columns, rows, problems, raw, bytesRead);
    }

    /// <summary>Column names and each record's values in their order: from the header, the schema, or the JSON keys met.</summary>
    public static (List<string> Names, List<(long Line, object?[] Values)> Rows) Table(IReadOnlyList<SourceRecord> records, FileSettings settings)
    {
        var good = records.Where(r => r.Problem is null).ToList();
        if (settings.IsDelimited)
        {
            var header = settings.HasHeader && good.Count > 0 ? good[0].Fields.Select(f => f as string ?? "").ToList() : null;
            var data = header is null ? good : good.Skip(1).ToList();
            var width = Math.Max(header?.Count ?? 0, data.Count == 0 ? 0 : data.Max(r => r.Fields.Length));
            var names = Enumerable.Range(0, width).Select(i => header is not null && i < header.Count ? header[i] : $"column_{i + 1}").ToList();
            return (names, data.Select(r => (r.Line, Enumerable.Range(0, width).Select(i => i < r.Fields.Length ? r.Fields[i] : null).ToArray())).ToList());
        }
        var all = new List<string>();
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in good.SelectMany(r => r.Names ?? []))
            if (known.Add(name)) all.Add(name);
        var rows = good.Select(r =>
        {
            var values = new object?[all.Count];
            for (var i = 0; i < r.Fields.Length && i < (r.Names?.Length ?? 0); i++) values[all.IndexOf(r.Names![i])] = r.Fields[i];
            return (r.Line, values);
        }).ToList();
        return (all, rows);
    }

    private static string? Show(object? value) => value switch
    {
        null => null,
        string s => s,
        DateTime t => FieldConverter.Canonical(DateTime.SpecifyKind(t, DateTimeKind.Utc)),
        DateOnly d => FieldConverter.Canonical(d),
        bool b => b ? "true" : "false",
        byte[] bytes => Convert.ToBase64String(bytes),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>The first bytes as text: decoded as the file's text would be, binary formats with their control bytes shown as '.'.</summary>
    private static string RawText(ReadOnlySpan<byte> head, FileSettings settings)
    {
        string text;
        if (head is [0xFF, 0xFE, ..]) text = Encoding.Unicode.GetString(head[2..]);
        else if (head is [0xFE, 0xFF, ..]) text = Encoding.BigEndianUnicode.GetString(head[2..]);
        else text = Encoding.UTF8.GetString(head);
        return settings.Format is FileFormat.Avro or FileFormat.Parquet
            ? new string(text.Select(c => char.IsControl(c) && c is not ('\n' or '\t') || c == '\uFFFD' ? '.' : c).ToArray())
            : text.TrimEnd('\uFFFD');
    }
}
