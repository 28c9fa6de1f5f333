using System.Security.Cryptography;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Credentials;

/// <summary>Secrets sealed by <see cref="SecretProtector"/> in a table of the daemon's (credentials, webhooks).</summary>
public static class SealedSecrets
{
    /// <summary>
    /// After a master-key rotation: seals anew, under the current key, every secret of <paramref name="table"/> still
    /// sealed under a previous one. Secrets no configured key opens are left as they are and named, not lost.
    /// </summary>
    /// <param name="table">The daemon's own table (a constant, never input), with columns <c>id</c> and <c>secret</c>.</param>
    /// <param name="owner">What a row's secret is bound to, from its id.</param>
    /// <returns>How many were sealed anew, and the ids of those no key opens.</returns>
    public static async Task<(int Resealed, IReadOnlyList<string> Unreadable)> ResealAsync(NpgsqlDataSource db, SecretProtector protector, string table,
        Func<string, string> owner, CancellationToken ct)
    {
        var sealedSecrets = new List<(string Id, byte[] Secret)>();
        await using (var select = db.CreateCommand($"SELECT id, secret FROM {table} WHERE secret IS NOT NULL"))
        await using (var reader = await select.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) sealedSecrets.Add((reader.GetString(0), reader.GetFieldValue<byte[]>(1)));

        var resealed = 0;
        var unreadable = new List<string>();
        foreach (var (id, secret) in sealedSecrets)
        {
            string plain;
            try
            {
                plain = protector.Unprotect(secret, owner(id), out var underPreviousKey);
                if (!underPreviousKey) continue;
            }
            catch (CryptographicException)
            {
                unreadable.Add(id);
                continue;
            }
            await using var update = db.CreateCommand($"UPDATE {table} SET secret = $2 WHERE id = $1 AND secret = $3");
            update.Parameters.AddWithValue(id);
            update.Parameters.AddWithValue(NpgsqlDbType.Bytea, protector.Protect(plain, owner(id)));
            update.Parameters.AddWithValue(NpgsqlDbType.Bytea, secret);
            resealed += await update.ExecuteNonQueryAsync(ct);
        }
        return (resealed, unreadable);
    }
}
