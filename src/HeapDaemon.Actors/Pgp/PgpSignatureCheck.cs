using HeapDaemon.Actors.Streams;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace HeapDaemon.Actors.Pgp;

/// <summary>
/// Verifies a PGP message's signatures by the credential's signer keys as its data passes, and decides after the last
/// byte: a signature by a signer key that does not verify fails the file; with <see cref="PgpKeyring.RequireSignature"/>,
/// so does a file that no signer key signed (unsigned, or signed by another key). Signatures by keys that are not the
/// signers' cannot be checked and are passed over.
/// </summary>
internal sealed class PgpSignatureCheck(PgpKeyring keyring)
{
    /// <summary>One-pass signatures (gpg's <c>--sign</c>): announced before the data, their signature packets after it.</summary>
    private readonly List<PgpOnePassSignature> _onePass = [];

    /// <summary>Signatures that come whole before the data (older senders).</summary>
    private readonly List<PgpSignature> _leading = [];

    /// <summary>Key ids of signatures by keys that are not the signers'.</summary>
    private readonly List<long> _others = [];

    public void Announced(PgpOnePassSignatureList list)
    {
        for (var i = 0; i < list.Count; i++)
        {
            var signature = list[i];
            if (keyring.FindSigner(signature.KeyId) is { } key)
            {
                signature.InitVerify(key);
                _onePass.Add(signature);
            }
            else _others.Add(signature.KeyId);
        }
    }

    /// <summary>True when the message's signatures come after its data, so the caller reads them there.</summary>
    public bool ExpectsTrailingSignatures => _onePass.Count > 0;

    public void Leading(PgpSignatureList list)
    {
        for (var i = 0; i < list.Count; i++)
        {
            var signature = list[i];
            if (keyring.FindSigner(signature.KeyId) is { } key)
            {
                signature.InitVerify(key);
                _leading.Add(signature);
            }
            else _others.Add(signature.KeyId);
        }
    }

    public void Update(byte[] buffer, int offset, int count)
    {
        foreach (var signature in _onePass) signature.Update(buffer, offset, count);
        foreach (var signature in _leading) signature.Update(buffer, offset, count);
    }

    /// <param name="trailing">The signature packets after the data, for the one-pass signatures announced before it.</param>
    /// <exception cref="UnreadableFileException">a signer's signature does not verify, or a required one is missing.</exception>
    public void Finish(PgpSignatureList? trailing)
    {
        var verified = 0;
        foreach (var announced in _onePass)
        {
            var signature = Enumerable.Range(0, trailing?.Count ?? 0).Select(i => trailing![i]).FirstOrDefault(s => s.KeyId == announced.KeyId)
                ?? throw new UnreadableFileException($"the PGP message announces a signature by key {PgpKeyring.KeyId(announced.KeyId)} but carries none");
            if (!announced.Verify(signature)) throw BadSignature(announced.KeyId);
            verified++;
        }
        foreach (var signature in _leading)
        {
            if (!signature.Verify()) throw BadSignature(signature.KeyId);
            verified++;
        }
        if (verified > 0 || !keyring.RequireSignature) return;
        var signers = string.Join(", ", keyring.Signers.Select(s => s.KeyId));
        throw new UnreadableFileException(_others.Count == 0
            ? $"the PGP message is not signed, and its credential requires a signature (requireSignature) by key {signers}"
            : $"the PGP message is signed by key {string.Join(", ", _others.Distinct().Select(PgpKeyring.KeyId))}, which is not among its " +
              $"credential's signer keys ({signers}), and the credential requires a signature by one of them (requireSignature)");
    }

    private static UnreadableFileException BadSignature(long keyId) =>
        new($"the PGP signature by key {PgpKeyring.KeyId(keyId)} does not verify: the file was changed after it was signed, or the signature is damaged");
}
