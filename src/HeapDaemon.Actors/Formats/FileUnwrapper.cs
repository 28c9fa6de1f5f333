using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using HeapDaemon.Actors.Pgp;
using HeapDaemon.Actors.Streams;
using ICSharpCode.SharpZipLib;
using ICSharpCode.SharpZipLib.GZip;

namespace HeapDaemon.Actors.Formats;

/// <summary>
/// A file's content once decrypted, decompressed and taken out of its archive, and the checks that can only run
/// after its last byte. Disposing releases every layer (and deletes any spooled copy).
/// </summary>
public sealed class UnwrappedFile(Stream content, IReadOnlyList<Stream> layers, Func<CancellationToken, Task>? afterLast, string description,
    Compression compression) : IAsyncDisposable
{
    public Stream Content { get; } = content;

    /// <summary>What the file turned out to be compressed with (gzip found by its bytes, for instance).</summary>
    public Compression Compression { get; } = compression;

    /// <summary>Whether the file was decrypted, decompressed or unarchived, so reading it whole again is costly.</summary>
    public bool IsWrapped => Description != FileUnwrapper.Plain;

    /// <summary>How the file was unwrapped, e.g. "PGP, gzip, tar member 'data/users.csv'".</summary>
    public string Description { get; } = description;

    /// <summary>The object has no bytes, or its content has none once unwrapped (gzip of nothing, PGP of nothing, an empty member).</summary>
    public bool IsEmpty { get; init; }

    /// <summary>
    /// Reads what the parser left of every layer, so the PGP integrity check and gzip's CRC cover every byte, and
    /// checks that no second archive member matches. Call it before committing what was read.
    /// </summary>
    /// <exception cref="UnreadableFileException">a check failed.</exception>
    public async Task FinishAsync(CancellationToken ct)
    {
        await Content.CopyToAsync(Stream.Null, ct);
        if (afterLast is not null) await afterLast(ct);
        foreach (var layer in layers) await layer.CopyToAsync(Stream.Null, ct);
    }

    public async ValueTask DisposeAsync()
    {
        await Content.DisposeAsync();
        foreach (var layer in layers) await layer.DisposeAsync();
    }
}

/// <summary>
/// Removes what wraps a file's rows, in Amperity's order: decrypt (PGP), decompress (gzip, found by its magic bytes
/// whatever the settings, unless they say none), unarchive (zip, tar, tgz, as the settings say). Streams all the way,
/// except zip, whose directory is at its end: it is spooled to a temporary file.
/// </summary>
public static class FileUnwrapper
{
    private const int MagicLength = 512;

    public const string Plain = "plain";

    /// <param name="openArchives">In compression 'auto', open a zip or tar found by its bytes rather than fail
    /// asking for the setting: a preview finds out what a file is, a load does what its settings say.</param>
    /// <param name="maxSpoolBytes">The most a zip may be spooled; a preview sets it, a load does not.</param>
    public static async Task<UnwrappedFile> OpenAsync(Stream body, FileSettings settings, PgpKeyring? keyring, CancellationToken ct,
        bool openArchives = false, long? maxSpoolBytes = null)
    {
        var layers = new List<Stream>();
        var steps = new List<string>();
        try
        {
            var peek = new PeekStream(body);
            Stream stream = peek;
            var magic = await peek.PeekAsync(MagicLength, ct);
            // Content with no bytes, at any layer, is empty whatever the settings say it is wrapped in.
            UnwrappedFile Empty() =>
                new(stream, layers, null, Describe(steps), steps.Contains("gzip") ? Compression.Gzip : Compression.None) { IsEmpty = true };
            if (magic.IsEmpty) return Empty();
            if (keyring is not null)
            {
                if (!PgpDecryption.LooksEncrypted(magic.Span))
                    throw new UnreadableFileException("it is not a PGP-encrypted message, but its settings name a PGP credential");
                stream = PgpDecryption.Open(stream, PgpDecryption.IsArmored(magic.Span), keyring, ct);
                layers.Insert(0, stream);
                steps.Add("PGP");
                peek = new PeekStream(stream);
                stream = peek;
                magic = await peek.PeekAsync(MagicLength, ct);
                if (magic.IsEmpty) return Empty();
            }
            else if (PgpDecryption.LooksEncrypted(magic.Span))
                throw new UnreadableFileException("it is PGP-encrypted; set the file's pgpCredentialId to a PGP credential that holds its key");

            if (settings.Compression != Compression.None && IsGzip(magic.Span))
            {
                stream = Gunzip(stream, ct);
                layers.Insert(0, stream);
                steps.Add("gzip");
                peek = new PeekStream(stream);
                stream = peek;
                magic = await peek.PeekAsync(MagicLength, ct);
                if (magic.IsEmpty) return Empty();
            }
            else if (settings.Compression is Compression.Gzip or Compression.Tgz)
            {
                throw new UnreadableFileException($"it is not gzip-compressed (no gzip magic bytes), but its compression is '{Name(settings.Compression)}'");
            }

            var gzipped = steps.Contains("gzip");
            switch (settings.Compression)
            {
                case Compression.Zip:
                case Compression.Auto when openArchives && IsZip(magic.Span):
                    return await OpenZipAsync(stream, settings.Member, layers, steps, maxSpoolBytes, ct);
                case Compression.Tar or Compression.Tgz:
                case Compression.Auto when openArchives && IsTar(magic.Span):
                    return await OpenTarAsync(stream, settings.Member, layers, steps, gzipped ? Compression.Tgz : Compression.Tar, ct);
                case Compression.Auto when IsZip(magic.Span):
                    throw new UnreadableFileException("it is a zip archive; set compression 'zip' (and member, if it holds several files)");
                case Compression.Auto when IsTar(magic.Span):
                    throw new UnreadableFileException($"it is a tar archive; set compression '{(steps.Contains("gzip") ? "tgz" : "tar")}' (and member, if it holds several files)");
            }
            return new UnwrappedFile(stream, layers, null, Describe(steps), gzipped ? Compression.Gzip : Compression.None);
        }
        catch
        {
            foreach (var layer in layers) await layer.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// SharpZipLib rather than GZipStream: GZipStream ends quietly at a truncated file, so half a file would load;
    /// SharpZipLib checks each member's CRC and length and throws. It reads synchronously, so it runs on a
    /// <see cref="DedicatedThreadStream"/>. Concatenated gzip members are read one after another.
    /// </summary>
    private static Stream Gunzip(Stream compressed, CancellationToken ct)
    {
        var counted = new CountingStream(compressed);
        return DedicatedThreadStream.Start(sink =>
        {
            using var gzip = new GZipInputStream(counted) { IsStreamOwner = false };
            sink.CopyFrom(gzip);
        }, e => e is SharpZipBaseException or EndOfStreamException
            ? new UnreadableFileException($"the gzip data is truncated or damaged after {counted.BytesRead} compressed bytes ({e.Message})", e)
            : e, ct);
    }

    private static async Task<UnwrappedFile> OpenZipAsync(Stream stream, string? member, List<Stream> layers, List<string> steps,
        long? maxSpoolBytes, CancellationToken ct)
    {
        var spool = await TempSpool.CopyAsync(stream, ct, maxSpoolBytes);
        layers.Insert(0, spool);
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(spool, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new UnreadableFileException($"it is not a zip archive, or the archive is damaged ({e.Message})", e);
        }
        var files = archive.Entries.Where(e => !e.FullName.EndsWith('/')).ToList();
        var name = Choose(files.Select(f => f.FullName).ToList(), member);
        var entry = files.First(f => f.FullName == name);
        steps.Add($"zip member '{entry.FullName}'");
        try
        {
            return new UnwrappedFile(await entry.OpenAsync(ct), layers, null, Describe(steps), Compression.Zip) { IsEmpty = entry.Length == 0 };
        }
        catch (InvalidDataException e)
        {
            throw new UnreadableFileException($"zip member '{entry.FullName}' cannot be read ({e.Message})", e);
        }
    }

    /// <summary>
    /// A tar streams: the first member that matches is read as it passes; whether another member also matches is
    /// known only at the end, so <see cref="UnwrappedFile.FinishAsync"/> scans the rest and fails the file then,
    /// before anything commits.
    /// </summary>
    private static async Task<UnwrappedFile> OpenTarAsync(Stream stream, string? member, List<Stream> layers, List<string> steps,
        Compression compression, CancellationToken ct)
    {
        var reader = new TarReader(stream, leaveOpen: true);
        var seen = new List<string>();
        TarEntry? chosen = null;
        try
        {
            while (chosen is null && await reader.GetNextEntryAsync(copyData: false, ct) is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
                seen.Add(entry.Name);
                if (member is null || Matches(member, entry.Name)) chosen = entry;
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new UnreadableFileException($"it is not a tar archive, or the archive is damaged ({e.Message})", e);
        }
        if (chosen is null)
        {
            throw new UnreadableFileException(member is null
                ? "the tar archive holds no file"
                : $"no member of the tar archive matches '{member}'; it holds {List(seen)}");
        }
        steps.Add($"tar member '{chosen.Name}'");
        var first = chosen.Name;
        async Task CheckRestAsync(CancellationToken token)
        {
            try
            {
                while (await reader.GetNextEntryAsync(copyData: false, token) is { } entry)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
                    if (member is null) throw new UnreadableFileException($"the tar archive holds several files ({List([first, entry.Name])}...); set member to choose one");
                    if (Matches(member, entry.Name)) throw new UnreadableFileException($"several members of the tar archive match '{member}': {List([first, entry.Name])}");
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
            {
                throw new UnreadableFileException($"the tar archive is damaged after member '{first}' ({e.Message})", e);
            }
        }
        return new UnwrappedFile(new TruncationCheckingStream(chosen.DataStream!, chosen.Length, first), [stream, .. layers], CheckRestAsync,
            Describe(steps), compression) { IsEmpty = chosen.Length == 0 };
    }

    /// <summary>The one file a member setting (or its absence) picks.</summary>
    private static string Choose(IReadOnlyList<string> files, string? member)
    {
        var matching = member is null ? files : files.Where(f => Matches(member, f)).ToList();
        return matching.Count switch
        {
            1 => matching[0],
            0 when member is null => throw new UnreadableFileException("the archive holds no file"),
            0 => throw new UnreadableFileException($"no member of the archive matches '{member}'; it holds {List(files)}"),
            _ when member is null => throw new UnreadableFileException($"the archive holds several files ({List(files)}); set member to choose one"),
            _ => throw new UnreadableFileException($"several members of the archive match '{member}': {List(matching)}"),
        };
    }

    /// <summary>
    /// <c>*</c> matches any characters but '/', <c>?</c> one; a pattern without '/' is matched against the member's
    /// file name, so "users_*.csv" finds "export/users_1.csv".
    /// </summary>
    public static bool Matches(string pattern, string name)
    {
        var target = pattern.Contains('/') ? name : name[(name.LastIndexOf('/') + 1)..];
        var regex = "^" + Regex.Escape(pattern).Replace(@"\*", "[^/]*").Replace(@"\?", "[^/]") + "$";
        return Regex.IsMatch(target, regex, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }

    private static bool IsGzip(ReadOnlySpan<byte> magic) => magic is [0x1F, 0x8B, ..];

    private static bool IsZip(ReadOnlySpan<byte> magic) => magic is [(byte)'P', (byte)'K', 3, 4, ..] or [(byte)'P', (byte)'K', 5, 6, ..];

    private static bool IsTar(ReadOnlySpan<byte> magic) => magic.Length >= 262 && magic[257..262].SequenceEqual("ustar"u8);


    private static string Name(Compression compression) => compression.ToString().ToLowerInvariant();

    private static string Describe(List<string> steps) => steps.Count == 0 ? Plain : string.Join(", ", steps);

    private static string List(IEnumerable<string> names)
    {
        var all = names.ToList();
        return all.Count == 0 ? "no files" : string.Join(", ", all.Take(10).Select(n => $"'{n}'")) + (all.Count > 10 ? $" and {all.Count - 10} more" : "");
    }

    /// <summary>A tar member's data ends early when the archive is cut short; TarReader then just ends, so the length is checked here.</summary>
    private sealed class TruncationCheckingStream(Stream inner, long length, string name) : ForwardOnlyStream
    {
        private long _read;

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer), buffer.Length);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken), buffer.Length);

        private int Count(int read, int asked)
        {
            _read += read;
            if (read == 0 && asked > 0 && _read < length)
                throw new UnreadableFileException($"tar member '{name}' is truncated: {_read} of {length} bytes");
            return read;
        }
    }
}
