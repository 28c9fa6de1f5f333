using System.Security.Cryptography;
using System.Text;

namespace HeapDaemon.Actors.Credentials;

/// <summary>
/// Authenticated encryption (AES-256-GCM) of secrets at rest, with a master key from configuration. The owner's id
/// is bound in as associated data, so a ciphertext copied onto another credential's row does not decrypt.
/// Layout: version (1 byte) | nonce (12) | tag (16) | ciphertext.
/// To rotate the master key, configure the new one as the master key and the old one among the previous keys:
/// secrets still sealed under an old key decrypt, and <see cref="CredentialCatalog.ResealAsync"/> seals them anew.
/// </summary>
public sealed class SecretProtector
{
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;
    private readonly byte[][] _previousKeys;

    public SecretProtector(string base64MasterKey, IEnumerable<string>? base64PreviousKeys = null)
    {
        _key = Decode(base64MasterKey, "Secrets:MasterKey");
        _previousKeys = (base64PreviousKeys ?? []).Select(k => Decode(k, "Secrets:PreviousMasterKeys")).ToArray();
    }

    private static byte[] Decode(string base64, string setting)
    {
        byte[] key;
        try { key = Convert.FromBase64String(base64); }
        catch (FormatException) { throw new InvalidOperationException($"{setting} is not valid base64"); }
        if (key.Length != 32) throw new InvalidOperationException($"{setting} must be 32 bytes (base64), got {key.Length}");
        return key;
    }

    public byte[] Protect(string secret, string owner)
    {
        var plain = Encoding.UTF8.GetBytes(secret);
        var output = new byte[1 + NonceSize + TagSize + plain.Length];
        output[0] = Version;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plain, output.AsSpan(1 + NonceSize + TagSize), output.AsSpan(1 + NonceSize, TagSize), Encoding.UTF8.GetBytes(owner));
        return output;
    }

    public string Unprotect(byte[] sealedSecret, string owner) => Unprotect(sealedSecret, owner, out _);

    /// <param name="underPreviousKey">true when it was sealed under a previous master key and wants sealing anew.</param>
    public string Unprotect(byte[] sealedSecret, string owner, out bool underPreviousKey)
    {
        if (sealedSecret.Length < 1 + NonceSize + TagSize || sealedSecret[0] != Version)
            throw new CryptographicException($"the stored secret of '{owner}' is not in a format this daemon can read");
        var plain = new byte[sealedSecret.Length - 1 - NonceSize - TagSize];
        underPreviousKey = false;
        foreach (var key in _previousKeys.Prepend(_key))
        {
            using var aes = new AesGcm(key, TagSize);
            try
            {
                aes.Decrypt(sealedSecret.AsSpan(1, NonceSize), sealedSecret.AsSpan(1 + NonceSize + TagSize),
                    sealedSecret.AsSpan(1 + NonceSize, TagSize), plain, Encoding.UTF8.GetBytes(owner));
                return Encoding.UTF8.GetString(plain);
            }
            catch (AuthenticationTagMismatchException)
            {
                underPreviousKey = true;
            }
        }
        throw new CryptographicException($"the stored secret of '{owner}' does not decrypt with the configured master key " +
                                         "(if the key was rotated, list the old one in Secrets:PreviousMasterKeys)");
    }
}
