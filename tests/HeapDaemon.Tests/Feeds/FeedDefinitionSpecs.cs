using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Ids;
using Xunit;

namespace HeapDaemon.Tests.Feeds;

public sealed class FeedDefinitionSpecs
{
    [Theory]
    [InlineData("users", true)]
    [InlineData("user_migrations", true)]
    [InlineData("Users", false)]
    [InlineData("1users", false)]
    [InlineData("users; drop table x", false)]
    [InlineData("us\"ers", false)]
    [InlineData("users\n", false)]
    [InlineData("", false)]
    public void Schema_and_table_names_are_plain_lowercase_names(string name, bool valid) =>
        Assert.Equal(valid, Identifiers.IsSchemaOrTableName(name));

    [Theory]
    [InlineData("email", true)]
    [InlineData("Email_2", true)]
    [InlineData("_pk", false)]
    [InlineData("first name", false)]
    [InlineData("a\"b", false)]
    [InlineData("ça", false)]
    [InlineData("email\n", false)]
    public void Column_names_are_letters_digits_and_underscores_and_cannot_shadow_system_columns(string name, bool valid) =>
        Assert.Equal(valid, Identifiers.IsColumnName(name));

    [Fact]
    public void Quoting_doubles_embedded_quotes_and_refuses_NUL()
    {
        Assert.Equal("\"a\"\"b\"", Identifiers.Quote("a\"b"));
        Assert.Throws<ArgumentException>(() => Identifiers.Quote("a\0b"));
    }

    [Fact]
    public void A_domain_table_is_shown_as_Source_colon_Feed()
    {
        var table = new DomainTableName("heap", "user_migrations");

        Assert.Equal("Heap:User_Migrations", table.DisplayName);
        Assert.Equal("\"heap\".\"user_migrations\"", table.Qualified);
    }

    [Fact]
    public void Every_problem_of_a_definition_is_reported_at_once()
    {
        var feed = new FeedDefinition("Bad Id", "pg_catalog", "t", [new FeedField("a b", FieldType.Decimal, Precision: 50)], LastUpdatedField: "nope", ErrorThresholdPercent: 120);

        var errors = feed.Validate();

        Assert.Contains(errors, e => e.StartsWith("id 'Bad Id'"));
        Assert.Contains("source 'pg_catalog' is reserved", errors);
        Assert.Contains(errors, e => e.StartsWith("column name 'a b'"));
        Assert.Contains(errors, e => e.StartsWith("field 'a b': decimal precision"));
        Assert.Contains("a feed needs at least one primary-key field", errors);
        Assert.Contains("last-updated field 'nope' is not a field of the feed", errors);
        Assert.Contains("errorThresholdPercent must be between 0 and 100", errors);
    }

    [Fact]
    public void A_feed_id_with_a_trailing_newline_is_not_an_id() => Assert.False(Identifiers.IsId("users\n"));

    [Fact]
    public void A_feed_with_more_fields_than_a_table_has_columns_is_refused_and_one_at_the_limit_is_not()
    {
        static FeedDefinition Wide(int fields) => new("wide", "heap", "wide",
            [.. Enumerable.Range(0, fields).Select(i => new FeedField($"f{i}", FieldType.String, PrimaryKey: i == 0, Tags: []))]);

        Assert.Empty(Wide(1595).Validate());
        Assert.Contains("a feed has at most 1595 fields: PostgreSQL allows 1600 columns in a table and the domain table adds 5 system columns; this one has 1596",
            Wide(1596).Validate());
    }
}
