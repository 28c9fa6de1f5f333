using System.Net.Sockets;
using HeapDaemon.Actors.Streams;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace HeapDaemon.Actors.Pgp;

/// <summary>
/// Decrypts an OpenPGP message (binary or armored; compressed with ZIP, ZLIB or BZIP2 or not; signed or not) as a
/// stream, and enforces its integrity check and, when the credential names signer keys, its signatures
/// (<see cref="PgpSignatureCheck"/>).
/// </summary>
/// <remarks>
/// BouncyCastle's streams are synchronous and the MDC can only be verified after the last byte, so decryption runs
/// on a <see cref="DedicatedThreadStream"/>: readers get the plaintext as an async stream whose end comes only after
/// <c>Verify()</c> succeeded, and the signatures were checked. A tampered file, or one whose signature fails, ends in an
/// error instead: its transaction rolls back, nothing loads.
/// </remarks>
public static class PgpDecryption
{
    /// <param name="armored">Whether the message is ASCII-armored; BouncyCastle would find out by seeking, which S3 streams cannot.</param>
    public static Stream Open(Stream encrypted, bool armored, PgpKeyring keyring, CancellationToken ct) =>
        DedicatedThreadStream.Start(sink =>
        {
            // BouncyCastle's CipherStream reads its input one cipher block (16 bytes) at a time; unbuffered, each of
            // those reads went down to the S3 stream (a linked token and a stall timer per read).
            var buffered = new BufferedStream(encrypted, InputBufferSize);
            Decrypt(armored ? new ArmoredInputStream(buffered) : buffered, keyring, sink);
        }, Translate, ct);

    private const int InputBufferSize = 1 << 16;

    /// <summary>An armored message starts with its armor header line, perhaps after blank lines.</summary>
    public static bool IsArmored(ReadOnlySpan<byte> head) => head.TrimStart(" \t\r\n"u8).StartsWith("-----BEGIN PGP MESSAGE-----"u8);

    /// <summary>
    /// An armored message, or a binary one that starts with a session key packet (public-key or passphrase
    /// encrypted) of a known version. The version byte matters: 0xC3 alone is also how UTF-8 text starting
    /// with 'é' begins.
    /// </summary>
    public static bool LooksEncrypted(ReadOnlySpan<byte> head)
    {
        if (IsArmored(head)) return true;
        if (head.Length < 3) return false;
        int tag, lengthBytes;
        if ((head[0] & 0xC0) == 0xC0) // new packet format: one length byte below 192, or two from 192 to 223
        {
            tag = head[0] & 0x3F;
            lengthBytes = head[1] < 192 ? 1 : head[1] < 224 ? 2 : 0;
        }
        else if ((head[0] & 0xC0) == 0x80) // old packet format: the length's size is in the tag byte
        {
            tag = (head[0] >> 2) & 0x0F;
            lengthBytes = (head[0] & 0x03) switch { 0 => 1, 1 => 2, 2 => 4, _ => 0 };
        }
        else
        {
            return false;
        }
        if (tag is not (1 or 3) || lengthBytes == 0 || head.Length <= 1 + lengthBytes) return false;
        var version = head[1 + lengthBytes];
        return tag == 1 ? version is 3 or 6 : version is 4 or 5 or 6;
    }

    private static void Decrypt(Stream encrypted, PgpKeyring keyring, PipeSink sink)
    {
        var (data, key) = FindEncryptedData(encrypted, keyring);
        if (!data.IsIntegrityProtected())
            throw new UnreadableFileException("the PGP message has no integrity check (MDC), so tampering could not be detected; it is refused");
        using var clear = data.GetDataStream(key);
        var signatures = keyring.Signers.Count > 0 ? new PgpSignatureCheck(keyring) : null;
        var (literal, factory) = FindLiteralData(new PgpObjectFactory(clear), signatures);
        using (var content = literal.GetInputStream())
            if (!sink.CopyFrom(content, signatures is null ? null : signatures.Update)) return; // the reader stopped early (a preview, a cancelled run)
        // One-pass signatures' packets follow the data.
        var trailing = signatures is { ExpectsTrailingSignatures: true } ? factory.NextPgpObject() as PgpSignatureList : null;
        // The MDC packet comes last; the check covers every byte up to the end.
        clear.CopyTo(Stream.Null);
        if (!data.Verify())
            throw new UnreadableFileException("the PGP integrity check (MDC) failed: the file was changed or damaged after it was encrypted");
        signatures?.Finish(trailing);
    }

    private static (PgpPublicKeyEncryptedData Data, PgpPrivateKey Key) FindEncryptedData(Stream encrypted, PgpKeyring keyring)
    {
        var factory = new PgpObjectFactory(encrypted);
        var item = factory.NextPgpObject();
        while (item is PgpMarker) item = factory.NextPgpObject();
        if (item is not PgpEncryptedDataList list)
            throw new UnreadableFileException("it is not a PGP-encrypted message (no encrypted data packet), but its settings name a PGP credential");

        var candidates = list.GetEncryptedDataObjects().OfType<PgpPublicKeyEncryptedData>().ToList();
        foreach (var candidate in candidates.Where(c => c.KeyId != 0))
            if (keyring.Find(candidate.KeyId) is { } key) return (candidate, key);
        // A hidden recipient (key id 0): only trying each key tells.
        foreach (var candidate in candidates.Where(c => c.KeyId == 0))
            foreach (var key in keyring.All())
                if (TryOpen(candidate, key)) return (candidate, key);

        var recipients = candidates.Select(c => c.KeyId == 0 ? "a hidden recipient" : PgpKeyring.KeyId(c.KeyId)).ToList();
        throw new UnreadableFileException(
            "file cannot be decrypted using the provided PGP key: it was encrypted to " +
            (recipients.Count == 0 ? "no public key (a passphrase only)" : $"key id {string.Join(", ", recipients)}") +
            $", and the credential holds {string.Join(", ", keyring.Keys.Select(k => k.KeyId))}");
    }

    private static bool TryOpen(PgpPublicKeyEncryptedData data, PgpPrivateKey key)
    {
        try
        {
            // The session key's checksum fails for the wrong key; this reads no data.
            _ = data.GetSymmetricAlgorithm(key);
            return true;
        }
        catch (PgpException)
        {
            return false;
        }
    }

    /// <summary>
    /// Past compression and signature headers to the literal data, handing the signatures to <paramref name="signatures"/>
    /// (without signer keys, signatures are passed over: nothing to verify them with).
    /// </summary>
    /// <returns>The literal data, and the factory it came from, which reads what follows it.</returns>
    private static (PgpLiteralData Literal, PgpObjectFactory Factory) FindLiteralData(PgpObjectFactory factory, PgpSignatureCheck? signatures)
    {
        while (true)
        {
            switch (factory.NextPgpObject())
            {
                case PgpLiteralData literal:
                    return (literal, factory);
                case PgpCompressedData compressed:
                    factory = new PgpObjectFactory(compressed.GetDataStream());
                    break;
                case PgpOnePassSignatureList announced:
                    signatures?.Announced(announced);
                    break;
                case PgpSignatureList leading:
                    signatures?.Leading(leading);
                    break;
                case PgpMarker:
                    break;
                case null:
                    throw new UnreadableFileException("the PGP message holds no data (no literal data packet)");
                case var other:
                    throw new UnreadableFileException($"the PGP message holds {other.GetType().Name} where data was expected");
            }
        }
    }

    private static Exception Translate(Exception e) => e switch
    {
        UnreadableFileException or OperationCanceledException => e,
        PgpDataValidationException => new UnreadableFileException("the PGP data is damaged (a checksum does not match)", e),
        // Tampered compressed data can fail in the inflater before the MDC is reached; it is damage all the same.
        InvalidDataException => new UnreadableFileException("the PGP data is damaged (its compressed content does not inflate)", e),
        // A network fault reading S3 is not damage to the file: it keeps its own type and message.
        PgpException or IOException when e is not HttpIOException && e.InnerException is not (SocketException or HttpIOException) =>
            new UnreadableFileException($"the PGP data is truncated or damaged ({e.Message})", e),
        _ => e,
    };
}
