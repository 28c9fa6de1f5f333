using HeapDaemon.Actors.Runs;
using Xunit;

namespace HeapDaemon.Tests.Runs;

/// <summary>Run dates from 1970-01-01 to the end of next year: anything else is a typo, not a day of data.</summary>
public sealed class RunDateBoundsSpecs
{
    private static readonly DateOnly Today = new(2026, 5, 14);

    [Theory]
    [InlineData("1970-01-01")]
    [InlineData("2027-12-31")]
    public void The_first_and_last_allowed_days_are_accepted(string date) =>
        Assert.NotNull(RunWindow.Of(new RunRequest(DateOnly.Parse(date)), Today).Window);

    [Fact]
    public void A_range_may_end_the_day_after_the_last_allowed_day_as_its_end_is_exclusive() =>
        Assert.NotNull(RunWindow.Of(new RunRequest(From: new DateOnly(2027, 12, 1), To: new DateOnly(2028, 1, 1)), Today).Window);

    [Theory]
    [InlineData("0001-01-01", null, null, "date 0001-01-01 is before 1970-01-01")]
    [InlineData("1969-12-31", null, null, "date 1969-12-31 is before 1970-01-01")]
    [InlineData("2028-01-01", null, null, "date 2028-01-01 is after the end of next year (2027-12-31)")]
    [InlineData(null, "1969-12-31", "1970-01-05", "from 1969-12-31 is before 1970-01-01")]
    [InlineData(null, "2027-12-31", "2028-01-02", "to 2028-01-02 is after the end of next year (2027-12-31; to is exclusive, so at most 2028-01-01)")]
    [InlineData(null, "2028-01-01", "2028-01-02", "from 2028-01-01 is after the end of next year (2027-12-31)")]
    public void Dates_outside_1970_to_the_end_of_next_year_are_refused_with_the_reason(string? date, string? from, string? to, string reason)
    {
        var (window, error) = RunWindow.Of(new RunRequest(Parse(date), From: Parse(from), To: Parse(to)), Today);

        Assert.Null(window);
        Assert.StartsWith(reason, error);
    }

    private static DateOnly? Parse(string? text) => text is null ? null : DateOnly.Parse(text);
}
