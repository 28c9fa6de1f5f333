using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>Names in any case, stored in lowercase and shown capitalised, wherever they are given or asked for.</summary>
public sealed class IdRuleSpecs : DaemonSpecs
{
    [Fact]
    public async Task A_feed_of_source_Edge_is_stored_as_edge_shown_as_Edge_and_found_in_any_case()
    {
        var created = await Api.PostOkAsync("/api/feeds", new
        {
            source = "Edge",
            name = "Csv_Rfc4180",
            fields = new object[] { new { name = "id", type = "integer", primaryKey = true } },
        });
        await Api.PostOkAsync("/api/feeds/edge-csv_rfc4180/activate");

        Assert.Equal("edge-csv_rfc4180", created.GetProperty("feed").GetProperty("id").GetString());
        Assert.Equal("edge", created.GetProperty("feed").GetProperty("source").GetString());
        Assert.Equal("Edge:Csv_Rfc4180", created.GetProperty("domainTable").GetString());
        Assert.Equal("edge.csv_rfc4180", created.GetProperty("table").GetString());
        Assert.Single(await QueryAsync("SELECT 1 FROM pg_tables WHERE schemaname = 'edge' AND tablename = 'csv_rfc4180'"));
        foreach (var name in new[] { "Edge:Csv_Rfc4180", "EDGE:CSV_RFC4180", "edge.csv_rfc4180", "Edge.Csv_Rfc4180" })
            Assert.Equal("Edge:Csv_Rfc4180", (await Api.GetOkAsync($"/api/domain-tables/{name}/rows")).GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_heap_courier_of_source_Web_loads_into_the_schema_web()
    {
        await EnsureMotoCredentialAsync();

        var courier = await Api.PostOkAsync("/api/couriers", new { id = "web", credentialId = "moto", kind = "heap", source = "Web" });

        Assert.Equal("web", courier.GetProperty("config").GetProperty("source").GetString());
    }
}
