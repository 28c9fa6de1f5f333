using System.Text.Json;
using HeapDaemon.Actors.Json;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Credentials;

/// <summary>Credentials in <c>heapd.credentials</c>: settings as jsonb, the secret encrypted in its own column.</summary>
public sealed class CredentialCatalog(NpgsqlDataSource db, SecretProtector protector)
{
    /// <returns>false when the id is taken.</returns>
    public async Task<bool> AddAsync(S3Credential credential, string? secretAccessKey, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            "INSERT INTO heapd.credentials (id, kind, settings, secret) VALUES ($1, 's3', $2, $3) ON CONFLICT (id) DO NOTHING");
        cmd.Parameters.AddWithValue(credential.Id);
        cmd.Parameters.AddWithValue(NpgsqlDbType.Jsonb, JsonSerializer.Serialize(credential, HeapJson.Options));
        cmd.Parameters.AddWithValue(NpgsqlDbType.Bytea, secretAccessKey is null ? DBNull.Value : protector.Protect(secretAccessKey, credential.Id));
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<IReadOnlyList<S3Credential>> ListAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT settings FROM heapd.credentials WHERE kind = 's3' ORDER BY id");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<S3Credential>();
        while (await reader.ReadAsync(ct)) list.Add(JsonSerializer.Deserialize<S3Credential>(reader.GetString(0), HeapJson.Options)!);
        return list;
    }

    public async Task<S3Credential?> GetAsync(string id, CancellationToken ct) => (await GetAccessAsync(id, ct))?.Credential;

    /// <summary>The credential with its secret decrypted; only for code that signs requests.</summary>
    public async Task<S3Access?> GetAccessAsync(string id, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT settings, secret FROM heapd.credentials WHERE id = $1 AND kind = 's3'");
        cmd.Parameters.AddWithValue(id);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        var credential = JsonSerializer.Deserialize<S3Credential>(reader.GetString(0), HeapJson.Options)!;
        var secret = reader.IsDBNull(1) ? null : protector.Unprotect(reader.GetFieldValue<byte[]>(1), id);
        return new S3Access(credential, secret);
    }

    /// <summary>
    /// After a master-key rotation: seals anew, under the current key, every secret still sealed under a previous
    /// one. Secrets no configured key opens are left as they are and named, not lost.
    /// </summary>
    /// <returns>How many were sealed anew, and the ids of those no key opens.</returns>
    public Task<(int Resealed, IReadOnlyList<string> Unreadable)> ResealAsync(CancellationToken ct) =>
        SealedSecrets.ResealAsync(db, protector, "heapd.credentials", id => id, ct);

    /// <summary>The kind (<c>s3</c>, <c>pgp</c>) of each of these ids that is a credential.</summary>
    public async Task<IReadOnlyDictionary<string, string>> KindsAsync(IEnumerable<string> ids, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT id, kind FROM heapd.credentials WHERE id = ANY($1)");
        cmd.Parameters.AddWithValue(ids.Distinct().ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var kinds = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct)) kinds[reader.GetString(0)] = reader.GetString(1);
        return kinds;
    }

    /// <summary>Deletes an S3 or PGP credential; callers check first that nothing uses it (the courier registry does).</summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("DELETE FROM heapd.credentials WHERE id = $1");
        cmd.Parameters.AddWithValue(id);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }
}
