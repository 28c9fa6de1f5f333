using System.Collections.Concurrent;
using System.Text.Json;
using HeapDaemon.Actors.Json;
using HeapDaemon.Actors.Pgp;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Credentials;

/// <summary>A PGP credential as stored and shown: its id and the public facts of its decryption keys and signer keys.</summary>
/// <param name="Signers">The senders' public keys whose signatures files are checked against; none: signatures are not checked.</param>
/// <param name="RequireSignature">Files must carry a signature by one of the signers.</param>
public sealed record PgpCredential(string Id, IReadOnlyList<PgpKeyInfo> Keys, IReadOnlyList<PgpKeyInfo>? Signers = null, bool RequireSignature = false);

/// <summary>
/// PGP credentials in <c>heapd.credentials</c> (kind <c>pgp</c>): the keys' public facts as settings, the private key
/// and passphrase sealed together in the secret column, never returned.
/// </summary>
public sealed class PgpKeyCatalog(NpgsqlDataSource db, SecretProtector protector)
{
    /// <summary>What unlocks and checks files, sealed together; the signer keys are public, but belong with the rest.</summary>
    private sealed record Sealed(string PrivateKey, string Passphrase, string? SignerPublicKey = null, bool RequireSignature = false);

    /// <returns>false when the id is taken.</returns>
    public async Task<bool> AddAsync(PgpCredential credential, string privateKey, string passphrase, string? signerPublicKey, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            "INSERT INTO heapd.credentials (id, kind, settings, secret) VALUES ($1, 'pgp', $2, $3) ON CONFLICT (id) DO NOTHING");
        cmd.Parameters.AddWithValue(credential.Id);
        cmd.Parameters.AddWithValue(NpgsqlDbType.Jsonb, JsonSerializer.Serialize(credential, HeapJson.Options));
        cmd.Parameters.AddWithValue(NpgsqlDbType.Bytea, protector.Protect(JsonSerializer.Serialize(
            new Sealed(privateKey, passphrase, signerPublicKey, credential.RequireSignature), HeapJson.Options), credential.Id));
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<IReadOnlyList<PgpCredential>> ListAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT settings FROM heapd.credentials WHERE kind = 'pgp' ORDER BY id");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<PgpCredential>();
        while (await reader.ReadAsync(ct)) list.Add(JsonSerializer.Deserialize<PgpCredential>(reader.GetString(0), HeapJson.Options)!);
        return list;
    }

    public async Task<PgpCredential?> GetAsync(string id, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT settings FROM heapd.credentials WHERE id = $1 AND kind = 'pgp'");
        cmd.Parameters.AddWithValue(id);
        return await cmd.ExecuteScalarAsync(ct) is string json ? JsonSerializer.Deserialize<PgpCredential>(json, HeapJson.Options) : null;
    }

    /// <summary>The credential's keys, unlocked; null when there is no such PGP credential.</summary>
    /// <exception cref="PgpKeyException">the stored key no longer parses or unlocks.</exception>
    public async Task<PgpKeyring?> GetKeyringAsync(string id, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT secret FROM heapd.credentials WHERE id = $1 AND kind = 'pgp'");
        cmd.Parameters.AddWithValue(id);
        if (await cmd.ExecuteScalarAsync(ct) is not byte[] secret) return null;
        if (_unlocked.TryGetValue(id, out var known) && known.Secret.AsSpan().SequenceEqual(secret)) return known.Keyring;
        var sealedKey = JsonSerializer.Deserialize<Sealed>(protector.Unprotect(secret, id), HeapJson.Options)!;
        var keyring = PgpKeyring.Parse(sealedKey.PrivateKey, sealedKey.Passphrase, sealedKey.SignerPublicKey, sealedKey.RequireSignature);
        _unlocked[id] = (secret, keyring);
        return keyring;
    }

    /// <summary>
    /// Keyrings already unlocked, by credential id and the sealed secret they came from (a credential deleted and added
    /// again seals anew, so it never matches an old entry): unlocking costs a passphrase derivation per key (a quarter of
    /// a CPU second each), which every file of every run would otherwise pay. The unlocked keys stay in memory no longer
    /// exposed than the master key that unseals them.
    /// </summary>
    private readonly ConcurrentDictionary<string, (byte[] Secret, PgpKeyring Keyring)> _unlocked = new();
}
