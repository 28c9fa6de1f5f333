using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Heap;
using Xunit;

namespace HeapDaemon.Tests.Ids;

/// <summary>One rule for ids, one for names (README "Ids and names").</summary>
public sealed class IdentifiersSpecs
{
    private static readonly FeedField Key = new("id", FieldType.Integer, PrimaryKey: true);

    [Fact]
    public void A_source_and_feed_name_in_any_case_are_kept_in_lowercase_and_shown_capitalised()
    {
        var feed = new FeedDefinition("edge-csv_rfc4180", "Edge", "Csv_RFC4180", [Key]);

        Assert.Equal(("edge", "csv_rfc4180"), (feed.Source, feed.Name));
        Assert.Equal("Edge:Csv_Rfc4180", feed.Table.DisplayName);
        Assert.Equal("edge.csv_rfc4180", feed.Table.ToString());
        Assert.Empty(feed.Validate());
    }

    [Fact]
    public void A_name_that_is_not_one_is_refused_as_it_was_written()
    {
        var errors = new FeedDefinition("x", "Heap Data", "Users!", [Key]).Validate();

        Assert.Contains(errors, e => e.StartsWith("source 'Heap Data' must be a name", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("feed name 'Users!' must be a name", StringComparison.Ordinal));
    }

    [Fact]
    public void A_feed_id_made_from_its_source_and_name_keeps_them_as_they_are_stored_like_a_Heap_feeds()
    {
        Assert.Equal("edge-csv_rfc4180", FeedDefinition.DefaultId("Edge", "Csv_Rfc4180"));
        Assert.Equal("heap-user_migrations", FeedDefinition.DefaultId("heap", "user_migrations"));
        Assert.Equal(FeedDefinition.DefaultId("heap", "user_migrations"), HeapSchema.FeedId("heap", "user_migrations"));
    }

    [Fact]
    public void A_heap_couriers_source_in_any_case_is_kept_in_lowercase()
    {
        var config = new CourierConfig("moto", [], Kind: CourierKind.Heap, Source: "Web");

        Assert.Equal("web", config.Source);
        Assert.Equal("web", config.HeapSource);
    }
}
