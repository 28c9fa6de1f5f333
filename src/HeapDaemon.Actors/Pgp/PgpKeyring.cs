using System.Text;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace HeapDaemon.Actors.Pgp;

/// <summary>What the API shows of a key: public facts only.</summary>
public sealed record PgpKeyInfo(string KeyId, string Fingerprint, string Algorithm, int Bits, DateTimeOffset CreatedAt, IReadOnlyList<string> UserIds);

/// <summary>A PGP key, keyring or passphrase that cannot be used, with a reason that names no secret.</summary>
public sealed class PgpKeyException(string message) : Exception(message);

/// <summary>
/// The secret keys of a PGP credential, unlocked by its passphrase: one key, or a keyring holding old and new keys
/// while a sender rotates. Only keys that can decrypt (encryption subkeys, or a primary key that encrypts) count.
/// With them, the public keys of the senders whose signatures a file must carry (<see cref="Signers"/>).
/// </summary>
public sealed class PgpKeyring
{
    // Unlocked once, in Parse: the passphrase's key derivation (iterated S2K, tens of MB of SHA-1 in BouncyCastle)
    // costs about a quarter of a CPU second per key, which a file should not pay again.
    private readonly List<PgpPrivateKey> _keys;

    /// <summary>Every key of the signers' keyrings (primary and subkeys), by the key id a signature names.</summary>
    private readonly Dictionary<long, PgpPublicKey> _signerKeys;

    private PgpKeyring(List<PgpPrivateKey> keys, IReadOnlyList<PgpKeyInfo> info, Dictionary<long, PgpPublicKey> signerKeys,
        IReadOnlyList<PgpKeyInfo> signers, bool requireSignature)
    {
        _keys = keys;
        Keys = info;
        _signerKeys = signerKeys;
        Signers = signers;
        RequireSignature = requireSignature;
    }

    public IReadOnlyList<PgpKeyInfo> Keys { get; }

    /// <summary>The signers' primary keys; signatures by any key of theirs (a signing subkey too) are verified.</summary>
    public IReadOnlyList<PgpKeyInfo> Signers { get; }

    /// <summary>A file must carry a signature that verifies by one of the <see cref="Signers"/>; unsigned ones fail.</summary>
    public bool RequireSignature { get; }

    /// <summary>The signer key a signature names; null when it is none of the signers'.</summary>
    public PgpPublicKey? FindSigner(long keyId) => _signerKeys.GetValueOrDefault(keyId);

    /// <summary>Reads armored secret keys (one block or several), and checks that the passphrase unlocks each encryption key.</summary>
    /// <param name="signerPublicKey">Armored public keys (one block or several) whose signatures files are checked against.</param>
    /// <param name="requireSignature">Files must be signed by one of them.</param>
    /// <exception cref="PgpKeyException">not a private key, no encryption key, the passphrase does not unlock it, or the signer keys are not public keys.</exception>
    public static PgpKeyring Parse(string privateKey, string passphrase, string? signerPublicKey = null, bool requireSignature = false)
    {
        if (privateKey.Contains("BEGIN PGP PUBLIC KEY BLOCK", StringComparison.Ordinal) && !privateKey.Contains("BEGIN PGP PRIVATE KEY BLOCK", StringComparison.Ordinal))
            throw new PgpKeyException("this is a public key; a PGP credential needs the private key (-----BEGIN PGP PRIVATE KEY BLOCK-----)");
        var rings = new List<PgpSecretKeyRing>();
        foreach (var block in Blocks(privateKey))
        {
            try
            {
                using var decoder = PgpUtilities.GetDecoderStream(new MemoryStream(block));
                rings.AddRange(new PgpSecretKeyRingBundle(decoder).GetKeyRings());
            }
            catch (Exception e) when (e is IOException or PgpException or ArgumentException)
            {
                throw new PgpKeyException("privateKey is not an OpenPGP private key or keyring (armored or binary)");
            }
        }
        var usable = rings
            .SelectMany(r => r.GetSecretKeys().Select(k => (Key: k, Primary: r.GetPublicKey())))
            .Where(k => CanDecrypt(k.Key.PublicKey) && !k.Key.IsPrivateKeyEmpty)
            .ToList();
        var keys = usable.Select(k => k.Key).ToList();
        if (keys.Count == 0) throw new PgpKeyException("the keyring has no private key that can decrypt (no encryption key or subkey)");

        var chars = passphrase.ToCharArray();
        var unlocked = new List<PgpPrivateKey>();
        foreach (var key in keys)
        {
            try
            {
                unlocked.Add(key.ExtractPrivateKey(chars));
            }
            catch (PgpException)
            {
                throw new PgpKeyException($"the passphrase does not unlock key {KeyId(key.KeyId)}");
            }
        }
        var (signerKeys, signers) = ParseSigners(signerPublicKey);
        if (requireSignature && signers.Count == 0)
            throw new PgpKeyException("requireSignature needs signerPublicKey: the public key(s) whose signatures files must carry");
        return new PgpKeyring(unlocked, usable.Select(k => Describe(k.Key, k.Primary)).ToList(), signerKeys, signers, requireSignature);
    }

    private static (Dictionary<long, PgpPublicKey> Keys, List<PgpKeyInfo> Primaries) ParseSigners(string? armored)
    {
        var keys = new Dictionary<long, PgpPublicKey>();
        var primaries = new List<PgpKeyInfo>();
        if (armored is null) return (keys, primaries);
        if (armored.Contains("PRIVATE KEY BLOCK", StringComparison.Ordinal))
            throw new PgpKeyException("signerPublicKey holds a private key; give the sender's public key (-----BEGIN PGP PUBLIC KEY BLOCK-----)");
        foreach (var block in Blocks(armored, PublicBlock, "signerPublicKey"))
        {
            try
            {
                using var decoder = PgpUtilities.GetDecoderStream(new MemoryStream(block));
                foreach (var ring in new PgpPublicKeyRingBundle(decoder).GetKeyRings())
                {
                    var primary = ring.GetPublicKey();
                    primaries.Add(Describe(primary, primary));
                    foreach (var key in ring.GetPublicKeys()) keys[key.KeyId] = key;
                }
            }
            catch (Exception e) when (e is IOException or PgpException or ArgumentException)
            {
                throw new PgpKeyException("signerPublicKey is not an OpenPGP public key (armored)");
            }
        }
        if (primaries.Count == 0) throw new PgpKeyException("signerPublicKey holds no public key");
        return (keys, primaries);
    }

    /// <summary>The unlocked key with this id; null when the keyring does not hold it.</summary>
    public PgpPrivateKey? Find(long keyId) => _keys.FirstOrDefault(k => k.KeyId == keyId);

    /// <summary>Every unlocked key, for messages whose recipient is hidden (key id 0).</summary>
    public IEnumerable<PgpPrivateKey> All() => _keys;

    public static string KeyId(long id) => id.ToString("X16");

    /// <summary>
    /// An RSA primary key's algorithm can encrypt even when its flags say it only signs; the flags in its
    /// self-signatures (or a subkey's binding signature) decide, and a key without flags goes by its algorithm.
    /// </summary>
    private static bool CanDecrypt(PgpPublicKey key)
    {
        if (!key.IsEncryptionKey) return false;
        var flags = 0;
        foreach (var signature in key.GetSignatures())
            if (signature.HasSubpackets && signature.GetHashedSubPackets() is { } packets) flags |= packets.GetKeyFlags();
        return flags == 0 || (flags & (PgpKeyFlags.CanEncryptCommunications | PgpKeyFlags.CanEncryptStorage)) != 0;
    }

    private const string PrivateBlock = "-----BEGIN PGP PRIVATE KEY BLOCK-----";
    private const string PublicBlock = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

    /// <summary>A pasted keyring may be several armored blocks one after another (old key, new key).</summary>
    private static IEnumerable<byte[]> Blocks(string text, string begin = PrivateBlock, string field = "privateKey")
    {
        var starts = new List<int>();
        for (var i = text.IndexOf(begin, StringComparison.Ordinal); i >= 0; i = text.IndexOf(begin, i + 1, StringComparison.Ordinal)) starts.Add(i);
        if (starts.Count == 0)
            throw new PgpKeyException($"{field} must be an armored {(begin == PrivateBlock ? "private" : "public")} key ({begin} ... )");
        for (var i = 0; i < starts.Count; i++)
            yield return Encoding.ASCII.GetBytes(text[starts[i]..(i + 1 < starts.Count ? starts[i + 1] : text.Length)]);
    }

    /// <summary>Subkeys carry no user ids of their own; theirs are the primary key's.</summary>
    private static PgpKeyInfo Describe(PgpSecretKey key, PgpPublicKey primary) => Describe(key.PublicKey, primary);

    private static PgpKeyInfo Describe(PgpPublicKey pub, PgpPublicKey primary) =>
        new(KeyId(pub.KeyId), Convert.ToHexString(pub.GetFingerprint()), pub.Algorithm.ToString(), pub.BitStrength,
            new DateTimeOffset(pub.CreationTime, TimeSpan.Zero), primary.GetUserIds().ToList());
}
