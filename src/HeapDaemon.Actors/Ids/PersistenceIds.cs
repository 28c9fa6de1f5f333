namespace HeapDaemon.Actors.Ids;

/// <summary>
/// The journal's persistence ids, all made here so that no two persistent actors can share a stream. A courier's is
/// <c>courier-</c> and its id, as every journal has had them. Every other persistent actor's id holds a ':'
/// (<c>kind:name</c>), a character no id or name may hold (<see cref="Identifiers"/>), so it can never be a courier's.
/// The one exception is older than the rule: the courier registry's <c>courier-registry</c>, kept for the journals that
/// have it; the courier whose id would make it, <c>registry</c>, gets <c>courier:registry</c> instead. Cluster sharding's
/// own streams are actor paths, starting with '/', which no id may hold either.
/// </summary>
public static class PersistenceIds
{
    public const string CourierRegistry = "courier-registry";

    private const string CourierPrefix = "courier-";

    public static string Courier(string courierId) =>
        CourierPrefix + courierId == CourierRegistry ? $"courier:{courierId}" : CourierPrefix + courierId;
}
