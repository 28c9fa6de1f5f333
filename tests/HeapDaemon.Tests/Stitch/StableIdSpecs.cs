using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Stitch;

/// <summary>
/// Amperity IDs across reruns and reloads, and incremental stitches against full ones: three hand-made people among
/// generated ones. Quentin is in the CRM, the orders and the loyalty program; Rosalind in the CRM; Marcus in the orders
/// and the loyalty program. The reload makes Quentin's loyalty member someone else (his person splits) and Marcus's
/// order and member Rosalind's (two people merge, the larger share Marcus's).
/// </summary>
public sealed class StableIdSpecs : DaemonSpecs
{
    private const string QuentinCrm = "900001,Quentin,Blackwood,quentin.blackwood@example.org,(206) 201-3344,17 Larkspur Lane,Fernhill,WA,98765,1979-03-14,M,2024-05-01 10:00:00";
    private const string QuentinOrder = "o900001,Quentin Blackwood,quentin.blackwood@example.org,,17 Larkspur Ln,Fernhill,WA,98765,,12.50,2025-02-01 09:00:00";
    private const string QuentinMember = "m990001,Quentin,Blackwood,quentin.blackwood@example.org,03/14/1979,98765,2062013344";
    private const string OpheliaMember = "m990001,Ophelia,Marchetti,ophelia.m@example.net,07/22/1990,10001,3125550199";
    private const string RosalindCrm = "900002,Rosalind,Thackeray,rosalind.t@example.org,(312) 440-1187,8 Quarry Road,Millbrook,IL,60601,1985-11-02,F,2024-05-01 10:00:00";
    private const string MarcusOrder = "o900002,Marcus Ellingham,marcus.e@example.com,,44 Birchwood Ave,Stonebridge,OH,44101,1971-06-30,30.00,2025-02-01 09:00:00";
    private const string MarcusMember = "m990002,Marcus,Ellingham,marcus.e@example.com,06/30/1971,44101,3305550142";
    private const string RosalindMember = "m990002,Rosalind,Thackeray,rosalind.t@example.org,11/02/1985,60601,3124401187";
    private const string RosalindOrder = "o900002,Rosalind Thackeray,rosalind.t@example.org,(312) 440-1187,8 Quarry Rd,Millbrook,IL,60601,,30.00,2025-03-01 09:00:00";

    private static readonly (string Source, string Feed, string Pk) Crm1 = ("crm", "customers", "900001"), Order1 = ("shop", "orders", "o900001"),
        Member1 = ("loyalty", "members", "m990001"), Crm2 = ("crm", "customers", "900002"), Order2 = ("shop", "orders", "o900002"),
        Member2 = ("loyalty", "members", "m990002");

    /// <summary>Stitches only when a test asks: a stitch after the loads, 30 s on, would change what the tests count.</summary>
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Api.PostOkAsync("/api/stitch/settings", new { runAfterLoads = false });
    }

    private static IReadOnlyList<SourceFile> Files(bool reloaded)
    {
        var (_, files) = new PeopleGenerator(9).Generate(150);
        files[0].Rows.AddRange([QuentinCrm, RosalindCrm]);
        files[1].Rows.AddRange([QuentinOrder, reloaded ? RosalindOrder : MarcusOrder]);
        files[2].Rows.AddRange([reloaded ? OpheliaMember : QuentinMember, reloaded ? RosalindMember : MarcusMember]);
        return files;
    }

    [Fact]
    public async Task Ids_survive_reruns_and_follow_the_larger_share_when_a_reload_splits_one_person_and_merges_two_others()
    {
        await EnsureMotoCredentialAsync();
        await StitchSources.LoadAsync(Api, S3, Bucket, Files(reloaded: false));
        await Api.StitchAsync(full: true);
        var first = await StitchSources.IdsAsync(QueryAsync);
        Assert.Equal(first[Crm1], first[Order1]);
        Assert.Equal(first[Crm1], first[Member1]);
        Assert.NotEqual(first[Crm2], first[Order2]);
        Assert.Equal(first[Order2], first[Member2]);

        await Api.StitchAsync(full: true);
        Assert.Equal(first, await StitchSources.IdsAsync(QueryAsync));

        await StitchSources.LoadAsync(Api, S3, Bucket, Files(reloaded: true));
        await Api.StitchAsync(full: true);
        var second = await StitchSources.IdsAsync(QueryAsync);

        // Quentin keeps his id with two of his three records; the loyalty member is someone new.
        Assert.Equal(first[Crm1], second[Crm1]);
        Assert.Equal(first[Crm1], second[Order1]);
        Assert.NotEqual(first[Crm1], second[Member1]);
        Assert.DoesNotContain(second[Member1], first.Values);
        // Rosalind and the order and member that are now hers: one person, with one record of Rosalind's earlier person
        // and two of Marcus's. The id follows the larger share, Marcus's, though Rosalind's holds the smallest record
        // (crm.customers); hers is retired, given to no one.
        Assert.Equal(second[Crm2], second[Order2]);
        Assert.Equal(second[Crm2], second[Member2]);
        Assert.Equal(first[Order2], second[Crm2]);
        Assert.DoesNotContain(first[Crm2], second.Values);
        // Everyone else is untouched.
        foreach (var (key, id) in first.Where(kv => kv.Key != Member1 && kv.Key != Order2 && kv.Key != Member2 && kv.Key != Crm2)) Assert.Equal(id, second[key]);
    }

    [Fact]
    public async Task An_incremental_stitch_compares_only_what_changed_and_ends_with_the_people_and_ids_a_full_stitch_gives()
    {
        await EnsureMotoCredentialAsync();
        await StitchSources.LoadAsync(Api, S3, Bucket, Files(reloaded: false));
        var full = await Api.StitchAsync(full: true);
        var first = await StitchSources.IdsAsync(QueryAsync);

        await StitchSources.LoadAsync(Api, S3, Bucket, Files(reloaded: true));
        var incremental = await Api.StitchAsync();

        var statistics = incremental.GetProperty("statistics");
        Assert.Equal("incremental", statistics.GetProperty("ran").GetString());
        Assert.Equal(3, statistics.GetProperty("recordsChanged").GetInt32());
        Assert.True(statistics.GetProperty("pairsCompared").GetInt64() < full.GetProperty("statistics").GetProperty("pairsCompared").GetInt64() / 10,
            $"{statistics.GetProperty("pairsCompared")} pairs compared again, of {full.GetProperty("statistics").GetProperty("pairsCompared")}");
        var afterIncremental = await StitchSources.IdsAsync(QueryAsync);
        Assert.Equal(first[Crm1], afterIncremental[Order1]);
        Assert.NotEqual(first[Crm1], afterIncremental[Member1]);
        Assert.Equal(afterIncremental[Crm2], afterIncremental[Order2]);
        Assert.Equal(first[Order2], afterIncremental[Crm2]);
        var customers = await QueryAsync("SELECT amperity_id, record_count FROM stitch.merged_customers");
        Assert.Equal(afterIncremental.Values.Distinct().Count(), customers.Count);
        Assert.Equal(3, customers.Single(c => (Guid)c["amperity_id"]! == afterIncremental[Crm2])["record_count"]);

        var rebuilt = await Api.StitchAsync(full: true);
        Assert.Equal("full", rebuilt.GetProperty("statistics").GetProperty("ran").GetString());
        Assert.Equal(afterIncremental, await StitchSources.IdsAsync(QueryAsync));
    }

    [Fact]
    public async Task A_stitch_with_nothing_loaded_since_changes_nothing_and_a_deleted_row_leaves_its_person()
    {
        await EnsureMotoCredentialAsync();
        var files = Files(reloaded: false);
        await StitchSources.LoadAsync(Api, S3, Bucket, files);
        await Api.StitchAsync(full: true);
        var first = await StitchSources.IdsAsync(QueryAsync);

        var nothing = await Api.StitchAsync();
        Assert.Equal("incremental", nothing.GetProperty("statistics").GetProperty("ran").GetString());
        Assert.Equal(0, nothing.GetProperty("statistics").GetProperty("pairsCompared").GetInt64());
        Assert.Equal(first, await StitchSources.IdsAsync(QueryAsync));

        await using (var connection = new Npgsql.NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var delete = new Npgsql.NpgsqlCommand("DELETE FROM loyalty.members WHERE member_id = 'm990001'", connection);
            await delete.ExecuteNonQueryAsync();
        }
        var deleted = await Api.StitchAsync();
        Assert.Equal("incremental", deleted.GetProperty("statistics").GetProperty("ran").GetString());
        var after = await StitchSources.IdsAsync(QueryAsync);
        Assert.False(after.ContainsKey(Member1));
        Assert.Equal(first[Crm1], after[Crm1]);
        Assert.Equal(2, (await QueryAsync($"SELECT record_count FROM stitch.merged_customers WHERE amperity_id = '{first[Crm1]}'")).Single()["record_count"]);
    }
}
