using HeapDaemon.Actors.Feeds;
using Xunit;

namespace HeapDaemon.Tests.Feeds;

public sealed class DateFormatsSpecs
{
    [Theory]
    [InlineData("yyyy-MM-dd HH:mm:ss.SSS", "yyyy-MM-dd HH:mm:ss.fff")]
    [InlineData("MM/dd/yy hh:mm a", "MM/dd/yy hh:mm tt")]
    [InlineData("yyyy-MM-dd'T'HH:mm:ssZZ", "yyyy-MM-dd'T'HH:mm:sszzz")]
    [InlineData("dd-MMM-yyyy 'at' HH", "dd-MMM-yyyy 'at' HH")]
    [InlineData("yyyyMMdd''HH", "yyyyMMdd\\'HH")]
    public void Joda_patterns_translate_to_dotnet_formats(string joda, string expected) =>
        Assert.Equal(new TranslatedFormat(expected, null), DateFormats.Translate(joda));

    [Theory]
    [InlineData("yyyy-MM-dd z", "'z' cannot be read")]
    [InlineData("DDD yyyy", "'DDD' cannot be read")]
    [InlineData("yyyy 'T", "unclosed quote")]
    [InlineData("yyyy-MM-dd q", "'q' is not a date pattern letter")]
    [InlineData("ss.SSSSSSSSS", "at most 7 fraction digits")]
    public void Patterns_that_cannot_be_read_are_refused_with_the_reason(string joda, string reason) =>
        Assert.Contains(reason, DateFormats.Translate(joda).Error);

    [Theory]
    [InlineData("2026-11-26 13:45:00.123", "2026-11-26T13:45:00.1230000Z")]
    [InlineData("2026-11-26T13:45:00+01:00", "2026-11-26T12:45:00.0000000Z")]
    [InlineData("20261126", "2026-11-26T00:00:00.0000000Z")]
    [InlineData("2026/11/26 13:45", "2026-11-26T13:45:00.0000000Z")]
    [InlineData("11/26/2026 01:45 PM", "2026-11-26T13:45:00.0000000Z")]
    [InlineData("11/26/26", "2026-11-26T00:00:00.0000000Z")]
    [InlineData("26-Nov-2026 13:45:00", "2026-11-26T13:45:00.0000000Z")]
    [InlineData("26 Nov 2026", "2026-11-26T00:00:00.0000000Z")]
    [InlineData("26Nov2026", "2026-11-26T00:00:00.0000000Z")]
    [InlineData("2026-11-26 134500", "2026-11-26T13:45:00.0000000Z")]
    public void Datetimes_without_a_format_are_read_in_Amperitys_fallback_order(string text, string utc)
    {
        var field = new FeedField("at", FieldType.Datetime);

        Assert.Null(FieldConverter.TryConvert(field, text, DateFormats.For(field, null), out var value));
        Assert.Equal(utc, ((DateTime)value!).ToString("O"));
    }

    [Fact]
    public void A_feed_wide_datetime_format_applies_to_fields_without_their_own()
    {
        var plain = new FeedField("a", FieldType.Datetime);
        var own = new FeedField("b", FieldType.Datetime, Format: "yyyy-MM-dd");

        Assert.Equal(["dd.MM.yyyy HH:mm"], DateFormats.For(plain, "dd.MM.yyyy HH:mm"));
        Assert.Equal(["yyyy-MM-dd"], DateFormats.For(own, "dd.MM.yyyy HH:mm"));
        Assert.Null(FieldConverter.TryConvert(plain, "26.11.2026 13:45", DateFormats.For(plain, "dd.MM.yyyy HH:mm"), out _));
        Assert.NotNull(FieldConverter.TryConvert(plain, "2026-11-26 13:45", DateFormats.For(plain, "dd.MM.yyyy HH:mm"), out _));
    }
}
