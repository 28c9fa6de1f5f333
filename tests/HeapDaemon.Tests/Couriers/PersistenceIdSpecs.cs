using System.Net.Http.Json;
using System.Text.Json;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Json;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Couriers;

/// <summary>
/// No courier writes into another persistent actor's journal stream: a courier whose id is <c>registry</c> once shared
/// <c>courier-registry</c> with the courier registry itself.
/// </summary>
public sealed class PersistenceIdSpecs : DaemonSpecs
{
    private const int JournalSerializerId = JournalSerializer.SerializerId;

    [Fact]
    public async Task A_courier_named_registry_keeps_a_journal_of_its_own_and_survives_restarts()
    {
        await CreateCourierAsync("registry", "a.csv");
        await CreateCourierAsync("other", "b.csv");
        await RestartDaemonAsync();

        Assert.Equal("a.csv", await FirstKeyAsync("registry"));
        await ReconfigureAsync("registry", "c.csv");
        await CreateCourierAsync("third", "d.csv");
        await RestartDaemonAsync();

        Assert.Equal(["other", "registry", "third"], (await Api.GetOkAsync("/api/couriers")).EnumerateArray().Select(c => c.GetProperty("id").GetString()));
        Assert.Equal("c.csv", await FirstKeyAsync("registry"));
        Assert.Equal(["CourierRegistered", "CourierRegistered", "CourierRegistered"], await ManifestsAsync("courier-registry"));
        Assert.Equal(["CourierConfigured", "CourierConfigured"], await ManifestsAsync("courier:registry"));
    }

    [Fact]
    public async Task A_journal_where_the_registry_and_a_courier_named_registry_shared_a_stream_is_split_when_the_daemon_starts()
    {
        await CreateCourierAsync("a", "a.csv");
        await CreateCourierAsync("b", "b.csv");
        await Daemon.DisposeAsync();
        // What the daemon before this fix wrote for a courier "registry", and a courier "c" made after it.
        var registryCourier = new CourierConfig("moto", [new CourierFile("r.csv", "heap-users")]);
        await AppendAsync("courier-registry", 3, new CourierRegistryActor.CourierRegistered("registry"));
        await AppendAsync("courier-registry", 4, new CourierConfigured(registryCourier, DateTimeOffset.UtcNow));
        await SnapshotAsync("courier-registry", 4, new CourierState("registry", registryCourier));
        await AppendAsync("courier-registry", 5, new CourierRegistryActor.CourierRegistered("c"));
        await AppendAsync("courier-c", 1, new CourierConfigured(registryCourier with { Files = [new CourierFile("c.csv", "heap-users")] }, DateTimeOffset.UtcNow));
        var untouched = await RowsAsync("persistence_id IN ('courier-a', 'courier-b', 'courier-c')");

        StartDaemon();

        Assert.Equal(["a", "b", "c", "registry"], (await Api.GetOkAsync("/api/couriers")).EnumerateArray().Select(c => c.GetProperty("id").GetString()));
        Assert.Equal("r.csv", await FirstKeyAsync("registry"));
        Assert.Equal("c.csv", await FirstKeyAsync("c"));
        Assert.Equal(["CourierRegistered:1:a", "CourierRegistered:2:b", "CourierRegistered:3:registry", "CourierRegistered:4:c"],
            (await QueryAsync("""
                SELECT manifest || ':' || sequence_number || ':' || (convert_from(message, 'UTF8')::jsonb ->> 'courierId') AS e
                FROM akka.journal WHERE persistence_id = 'courier-registry' ORDER BY sequence_number
                """)).Select(r => (string)r["e"]!));
        Assert.Equal(["CourierConfigured:1"], (await QueryAsync(
            "SELECT manifest || ':' || sequence_number AS e FROM akka.journal WHERE persistence_id = 'courier:registry'")).Select(r => (string)r["e"]!));
        Assert.Equal(["courier:registry:1"], (await QueryAsync(
            "SELECT persistence_id || ':' || sequence_number AS s FROM akka.snapshot WHERE manifest = 'CourierState'")).Select(r => (string)r["s"]!));
        Assert.Equal(untouched, await RowsAsync("persistence_id IN ('courier-a', 'courier-b', 'courier-c')"));
    }

    [Fact]
    public async Task A_journal_without_that_collision_is_left_exactly_as_it_was()
    {
        await CreateCourierAsync("registry-2", "a.csv");
        await CreateCourierAsync("courier-registry", "b.csv");
        await ReconfigureAsync("registry-2", "c.csv");
        await Daemon.DisposeAsync();
        // The daemon's own streams: cluster sharding's (paths, starting with '/') record each start's shard allocations.
        const string ours = "persistence_id NOT LIKE '/%'";
        var before = await RowsAsync(ours);

        StartDaemon();

        Assert.Equal("c.csv", await FirstKeyAsync("registry-2"));
        Assert.Equal(before, await RowsAsync(ours));
    }

    private async Task ReconfigureAsync(string courierId, string key)
    {
        var response = await Api.PutAsJsonAsync($"/api/couriers/{courierId}", new { credentialId = "moto", files = new[] { new { key, feedId = "heap-users" } } });
        Assert.True(response.IsSuccessStatusCode, $"PUT {courierId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task<string?> FirstKeyAsync(string courierId) =>
        (await Api.GetOkAsync($"/api/couriers/{courierId}")).GetProperty("config").GetProperty("files")[0].GetProperty("key").GetString();

    private async Task<List<string>> ManifestsAsync(string persistenceId) =>
        (await QueryAsync($"SELECT manifest FROM akka.journal WHERE persistence_id = '{persistenceId}' ORDER BY sequence_number"))
        .Select(r => (string)r["manifest"]!).ToList();

    /// <summary>Every journal and snapshot row, as text, in a stable order.</summary>
    private async Task<List<string>> RowsAsync(string where) =>
        (await QueryAsync($"""
            SELECT 'journal ' || ordering || ' ' || persistence_id || ' ' || sequence_number || ' ' || manifest || ' ' || encode(message, 'hex') AS row
            FROM akka.journal WHERE {where}
            UNION ALL
            SELECT 'snapshot ' || persistence_id || ' ' || sequence_number || ' ' || manifest || ' ' || encode(snapshot, 'hex') FROM akka.snapshot WHERE {where}
            ORDER BY 1
            """)).Select(r => (string)r["row"]!).ToList();

    /// <summary>A journal row as the SQL journal writes one, its creation time and writer copied from the stream's first row.</summary>
    private Task AppendAsync(string persistenceId, long sequenceNumber, object e) => QueryAsync($"""
        INSERT INTO akka.journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid)
        SELECT created, false, '{persistenceId}', {sequenceNumber}, '\x{Convert.ToHexString(Json(e))}'::bytea, '{e.GetType().Name}',
               {JournalSerializerId}, writer_uuid
        FROM akka.journal ORDER BY ordering LIMIT 1
        """);

    private Task SnapshotAsync(string persistenceId, long sequenceNumber, object state) => QueryAsync($"""
        INSERT INTO akka.snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id)
        VALUES ('{persistenceId}', {sequenceNumber}, {DateTime.UtcNow.Ticks}, '\x{Convert.ToHexString(Json(state))}'::bytea,
                '{state.GetType().Name}', {JournalSerializerId})
        """);

    private static byte[] Json(object value) => JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), HeapJson.Options);
}
