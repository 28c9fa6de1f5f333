using HeapDaemon.Actors.Ids;
using Xunit;

namespace HeapDaemon.Tests.Ids;

public sealed class PersistenceIdsSpecs
{
    [Fact]
    public void Couriers_keep_the_persistence_ids_their_journals_have_except_the_one_that_would_be_the_registrys()
    {
        Assert.Equal("courier-users", PersistenceIds.Courier("users"));
        Assert.Equal("courier-registry-2", PersistenceIds.Courier("registry-2"));
        Assert.Equal("courier-courier-registry", PersistenceIds.Courier("courier-registry"));
        Assert.Equal("courier:registry", PersistenceIds.Courier("registry"));
    }

    [Fact]
    public void No_two_valid_courier_ids_and_no_courier_id_and_the_registry_share_a_persistence_id()
    {
        string[] ids = ["registry", "registry_", "registry-", "courier", "courier-registry", "r", "0", "a-b", "a_b", new string('z', 63)];
        Assert.All(ids, id => Assert.True(Identifiers.IsId(id), id));

        var persistenceIds = ids.Select(PersistenceIds.Courier).Append(PersistenceIds.CourierRegistry).ToList();

        Assert.Equal(persistenceIds.Count, persistenceIds.Distinct(StringComparer.Ordinal).Count());
    }
}
