using System.Security.Cryptography;
using HeapDaemon.Actors.Credentials;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Notifications;

/// <summary>A webhook as stored and shown; its secret is held apart, sealed, and never shown after it is made.</summary>
/// <param name="LastDelivery">How the latest delivery ended (delivered, or given up); null before the first.</param>
public sealed record Webhook(string Id, string Url, IReadOnlyList<NotificationEvent> Events, string? Description, DateTimeOffset CreatedAt,
    WebhookDeliveryRecord? LastDelivery = null);

/// <param name="EventId">The body's id.</param>
/// <param name="Error">Why the last attempt failed, when it was not delivered.</param>
public sealed record WebhookDeliveryRecord(Guid EventId, NotificationEvent Event, bool Delivered, int Attempts, string? Error, DateTimeOffset At);

/// <summary>A webhook with its secret unsealed, handed only to the code that signs deliveries.</summary>
public sealed record WebhookTarget(string Id, string Url, string Secret)
{
    // Keep the secret out of logs and exception messages that print the record.
    public override string ToString() => $"WebhookTarget {{ Id = {Id}, Url = {Url}, Secret = *** }}";
}

/// <summary>Webhooks in <c>heapd.webhooks</c>: the secret sealed under the master key, bound to the webhook's id.</summary>
public sealed class WebhookCatalog(NpgsqlDataSource db, SecretProtector protector)
{
    /// <summary>Bound into the sealed secret, so it opens on this webhook's row only (never a credential's).</summary>
    private static string Owner(string id) => "webhook:" + id;

    /// <returns>false when the id is taken.</returns>
    public async Task<bool> AddAsync(Webhook webhook, string secret, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            INSERT INTO heapd.webhooks (id, url, events, description, secret, created_at) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (id) DO NOTHING
            """);
        cmd.Parameters.AddWithValue(webhook.Id);
        cmd.Parameters.AddWithValue(webhook.Url);
        cmd.Parameters.AddWithValue(webhook.Events.Select(Name).ToArray());
        cmd.Parameters.AddWithValue(NpgsqlDbType.Text, (object?)webhook.Description ?? DBNull.Value);
        cmd.Parameters.AddWithValue(protector.Protect(secret, Owner(webhook.Id)));
        cmd.Parameters.AddWithValue(webhook.CreatedAt);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public Task<IReadOnlyList<Webhook>> ListAsync(CancellationToken ct) => QueryAsync("ORDER BY id", null, ct);

    public async Task<Webhook?> GetAsync(string id, CancellationToken ct) => (await QueryAsync("WHERE id = $1", id, ct)).SingleOrDefault();

    public async Task<bool> DeleteAsync(string id, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("DELETE FROM heapd.webhooks WHERE id = $1");
        cmd.Parameters.AddWithValue(id);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>The webhooks that asked for this event, with their secrets, to deliver it to.</summary>
    /// <returns>The targets, and the ids of webhooks whose secret no configured master key opens (they are not sent to).</returns>
    public async Task<(IReadOnlyList<WebhookTarget> Targets, IReadOnlyList<string> Unreadable)> ForEventAsync(NotificationEvent e, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT id, url, secret FROM heapd.webhooks WHERE $1 = ANY (events) ORDER BY id");
        cmd.Parameters.AddWithValue(Name(e));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var (targets, unreadable) = (new List<WebhookTarget>(), new List<string>());
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetString(0);
            try
            {
                targets.Add(new WebhookTarget(id, reader.GetString(1), protector.Unprotect(reader.GetFieldValue<byte[]>(2), Owner(id))));
            }
            catch (CryptographicException)
            {
                unreadable.Add(id);
            }
        }
        return (targets, unreadable);
    }

    public async Task RecordDeliveryAsync(string id, WebhookDeliveryRecord delivery, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            UPDATE heapd.webhooks SET last_event_id = $2, last_event = $3, last_delivered = $4, last_attempts = $5, last_error = $6, last_at = $7
            WHERE id = $1
            """);
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(delivery.EventId);
        cmd.Parameters.AddWithValue(Name(delivery.Event));
        cmd.Parameters.AddWithValue(delivery.Delivered);
        cmd.Parameters.AddWithValue(delivery.Attempts);
        cmd.Parameters.AddWithValue(NpgsqlDbType.Text, (object?)delivery.Error ?? DBNull.Value);
        cmd.Parameters.AddWithValue(delivery.At);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>After a master-key rotation: seals anew, under the current key, every webhook secret sealed under a previous one.</summary>
    /// <returns>How many were sealed anew, and the ids of those no configured key opens.</returns>
    public Task<(int Resealed, IReadOnlyList<string> Unreadable)> ResealAsync(CancellationToken ct) =>
        SealedSecrets.ResealAsync(db, protector, "heapd.webhooks", Owner, ct);

    private async Task<IReadOnlyList<Webhook>> QueryAsync(string where, string? id, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"""
            SELECT id, url, events, description, created_at, last_event_id, last_event, last_delivered, last_attempts, last_error, last_at
            FROM heapd.webhooks {where}
            """);
        if (id is not null) cmd.Parameters.AddWithValue(id);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var webhooks = new List<Webhook>();
        while (await reader.ReadAsync(ct))
            webhooks.Add(new Webhook(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<string[]>(2).Select(Parse).ToList(),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4),
                reader.IsDBNull(5) ? null : new WebhookDeliveryRecord(reader.GetGuid(5), Parse(reader.GetString(6)), reader.GetBoolean(7),
                    reader.GetInt32(8), reader.IsDBNull(9) ? null : reader.GetString(9), reader.GetFieldValue<DateTimeOffset>(10))));
        return webhooks;
    }

    /// <summary>As the API spells it: runFailed, heapDumpBlocked, ...</summary>
    public static string Name(NotificationEvent e) => char.ToLowerInvariant(e.ToString()[0]) + e.ToString()[1..];

    private static NotificationEvent Parse(string name) => Enum.Parse<NotificationEvent>(name, ignoreCase: true);
}
