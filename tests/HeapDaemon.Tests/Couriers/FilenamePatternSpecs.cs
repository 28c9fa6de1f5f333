using HeapDaemon.Actors.Couriers;
using Xunit;

namespace HeapDaemon.Tests.Couriers;

public sealed class FilenamePatternSpecs
{
    private static readonly DateOnly Day = new(2026, 11, 26);

    [Theory]
    [InlineData("'exports/'yyyy'/'MM'/'dd'/users_*.csv'", "exports/2026/11/26/users_*.csv", "exports/2026/11/26/users_")]
    [InlineData("'files/CUSTOMER_'MM-dd-yyyy'.csv'", "files/CUSTOMER_11-26-2026.csv", "files/CUSTOMER_11-26-2026.csv")]
    [InlineData("'in/STATE_'yyyyMMdd'_*.txt.gpg'", "in/STATE_20261126_*.txt.gpg", "in/STATE_20261126_")]
    [InlineData("yyyy-MM-dd'.csv'", "2026-11-26.csv", "2026-11-26.csv")]
    [InlineData("'o''brien/'yyyy'.csv'", "o'brien/2026.csv", "o'brien/2026.csv")]
    [InlineData("''yyyy''", "'2026'", "'2026'")]
    [InlineData("'logs/'yyyy'/'MM'/'dd'/'HH'-'mm'.log'", "logs/2026/11/26/HH-mm.log", "logs/2026/11/26/")]
    [InlineData("'static/lookup.csv'", "static/lookup.csv", "static/lookup.csv")]
    public void A_pattern_expands_for_a_day_with_its_longest_literal_prefix(string text, string expanded, string prefix)
    {
        var pattern = FilenamePattern.Parse(text).For(Day);

        Assert.Equal(expanded, pattern.ToString());
        Assert.Equal(prefix, pattern.LiteralPrefix);
    }

    [Theory]
    [InlineData("customers-.csv", true)]
    [InlineData("customers-1.csv", true)]
    [InlineData("customers-hello-world.csv", true)]
    [InlineData("customers-.csv.0", false)]
    [InlineData("customers-0.json", false)]
    [InlineData("customers-0/1/file.csv", false)]
    [InlineData("customers.csv", false)]
    public void A_wildcard_matches_within_one_path_segment_as_Amperity_documents(string name, bool matches)
    {
        var pattern = FilenamePattern.Parse("'files/'yyyy'/'MM'/'dd'/customers-*.csv'").For(new DateOnly(2020, 4, 10));

        Assert.Equal(matches, pattern.Matches("files/2020/04/10/" + name));
    }

    [Theory]
    [InlineData("tenants/acme/20261126.csv", true)]
    [InlineData("tenants/acme/sub/20261126.csv", false)]
    [InlineData("tenants//20261126.csv", true)]
    [InlineData("tenants/acme/20261125.csv", false)]
    public void A_wildcard_in_a_folder_matches_exactly_one_folder(string key, bool matches)
    {
        Assert.Equal(matches, FilenamePattern.Parse("'tenants/'*'/'yyyyMMdd'.csv'").For(Day).Matches(key));
    }

    [Theory]
    [InlineData("logs/2026/11/26/07-45.log", true)]
    [InlineData("logs/2026/11/26/23-59.log", true)]
    [InlineData("logs/2026/11/26/24-00.log", false)]
    [InlineData("logs/2026/11/26/07-60.log", false)]
    [InlineData("logs/2026/11/26/7-45.log", false)]
    [InlineData("logs/2026/11/27/07-45.log", false)]
    public void Hours_and_minutes_match_every_hour_and_minute_of_the_day(string key, bool matches)
    {
        Assert.Equal(matches, FilenamePattern.Parse("'logs/'yyyy'/'MM'/'dd'/'HH'-'mm'.log'").For(Day).Matches(key));
    }

    [Theory]
    [InlineData("in/data(1)+[x]_20261126.csv", true)]
    [InlineData("in/data1+x_20261126.csv", false)]
    [InlineData("in/data(1)+[x]_20261126Xcsv", false)]
    public void Characters_that_mean_something_in_regular_expressions_are_literal(string key, bool matches)
    {
        Assert.Equal(matches, FilenamePattern.Parse("'in/data(1)+[x]_'yyyyMMdd'.csv'").For(Day).Matches(key));
    }

    [Fact]
    public void A_pattern_without_date_components_is_undated_and_the_same_every_day()
    {
        var pattern = FilenamePattern.Parse("'static/*.csv'");

        Assert.False(pattern.IsDated);
        Assert.Equal(pattern.For(Day).ToString(), pattern.For(Day.AddDays(9)).ToString());
        Assert.True(FilenamePattern.Parse("'x/'yyyy'.csv'").IsDated);
        Assert.False(FilenamePattern.Parse("'x/'HH'.csv'").IsDated);
    }

    [Theory]
    [InlineData("'exports/yyyy", "a quote is not closed")]
    [InlineData("'exports/'YYYY'.csv'", "'YYYY' at position 11 is not a date component (a four-digit year is yyyy)")]
    [InlineData("exports/users.csv", "'e' at position 1 is not a date component")]
    [InlineData("'x/'yyyy'/'DD'.csv'", "(day of month is dd)")]
    [InlineData("", "a pattern must be 1-1024 characters")]
    public void A_pattern_that_is_not_valid_says_where_and_why(string text, string reason)
    {
        Assert.False(FilenamePattern.TryParse(text, out _, out var error));
        Assert.Contains(reason, error);
    }
}
