using System.Collections.Immutable;
using HeapDaemon.Actors.Feeds;
using Xunit;

namespace HeapDaemon.Tests.Feeds;

/// <summary>Typed formats hand typed values; each converts to the feed's type only where nothing is lost or guessed.</summary>
public sealed class TypedValueSpecs
{
    [Theory]
    [InlineData(FieldType.Integer, 42L, 42L)]
    [InlineData(FieldType.Integer, 42, 42L)]
    [InlineData(FieldType.Integer, 42.0, 42L)]
    [InlineData(FieldType.Integer, "42", 42L)]
    [InlineData(FieldType.Float, 42L, 42.0)]
    [InlineData(FieldType.Float, 0.25f, 0.25)]
    [InlineData(FieldType.Boolean, true, true)]
    [InlineData(FieldType.Boolean, 0L, false)]
    [InlineData(FieldType.String, 7L, "7")]
    [InlineData(FieldType.String, 0.1, "0.1")]
    [InlineData(FieldType.String, false, "false")]
    [InlineData(FieldType.String, "", "")]
    public void A_value_that_fits_converts(FieldType type, object value, object expected)
    {
        Assert.Null(FieldConverter.TryConvertValue(new FeedField("f", type), value, out var result));
        Assert.Equal(expected, result);
    }

    [Fact]
    public void Decimals_keep_their_digits_and_are_checked_against_precision_and_scale()
    {
        var field = new FeedField("f", FieldType.Decimal, Precision: 6, Scale: 2);

        Assert.Null(FieldConverter.TryConvertValue(field, 0.1, out var fromDouble));
        Assert.Equal(0.1m, fromDouble);
        Assert.Null(FieldConverter.TryConvertValue(field, 12L, out var fromLong));
        Assert.Equal(12m, fromLong);
        Assert.Equal("'1.234' has more than 2 decimal places", FieldConverter.TryConvertValue(field, 1.234m, out _));
        Assert.Equal("'12345' does not fit Decimal(6,2)", FieldConverter.TryConvertValue(field, 12345L, out _));
        Assert.Equal("NaN is not a Decimal", FieldConverter.TryConvertValue(field, double.NaN, out _));
    }

    [Theory]
    [InlineData(FieldType.Integer, 3.5, "3.5 is not an Integer")]
    [InlineData(FieldType.Integer, 1e300, "1E+300 is not an Integer")]
    [InlineData(FieldType.Integer, true, "True is not an Integer")]
    [InlineData(FieldType.Boolean, 2L, "2 is not a Boolean")]
    [InlineData(FieldType.Float, true, "True is not a Float")]
    [InlineData(FieldType.Date, 20261126L, "20261126 is not a Date")]
    public void A_value_that_would_lose_or_invent_information_is_a_reject(FieldType type, object value, string reason)
    {
        Assert.Equal(reason, FieldConverter.TryConvertValue(new FeedField("f", type), value, out _));
    }

    [Fact]
    public void A_number_is_a_Datetime_only_when_the_field_names_its_epoch_unit()
    {
        var plain = new FeedField("at", FieldType.Datetime);
        var millis = plain with { Epoch = EpochUnit.Milliseconds };
        var seconds = plain with { Epoch = EpochUnit.Seconds };
        var expected = new DateTime(2026, 11, 26, 13, 45, 0, DateTimeKind.Utc);
        var ms = new DateTimeOffset(expected).ToUnixTimeMilliseconds();

        Assert.Equal($"{ms} is a number; set the field's epoch (seconds, milliseconds or microseconds) to read it as Unix time",
            FieldConverter.TryConvertValue(plain, ms, out _));
        Assert.Null(FieldConverter.TryConvertValue(millis, ms, out var fromMillis));
        Assert.Equal(expected, fromMillis);
        Assert.Null(FieldConverter.TryConvertValue(millis, ms.ToString(), out var fromText));
        Assert.Equal(expected, fromText);
        Assert.Null(FieldConverter.TryConvertValue(seconds, ms / 1000, out var fromSeconds));
        Assert.Equal(expected, fromSeconds);
        Assert.StartsWith("'9223372036854775807' is out of range", FieldConverter.TryConvertValue(seconds, long.MaxValue, out _));
        Assert.Contains("field 'id': epoch applies only to Datetime fields",
            new FeedDefinition("f", "s", "t", [new FeedField("id", FieldType.Integer, PrimaryKey: true, Epoch: EpochUnit.Seconds)]).Validate());
    }

    [Fact]
    public void Timestamps_are_UTC_and_a_Date_refuses_a_time_of_day()
    {
        var local = new DateTimeOffset(2026, 11, 26, 14, 45, 0, TimeSpan.FromHours(1));

        Assert.Null(FieldConverter.TryConvertValue(new FeedField("at", FieldType.Datetime), local, out var moment));
        Assert.Equal(new DateTime(2026, 11, 26, 13, 45, 0, DateTimeKind.Utc), moment);
        Assert.Null(FieldConverter.TryConvertValue(new FeedField("d", FieldType.Date), new DateTime(2026, 11, 26), out var date));
        Assert.Equal(new DateOnly(2026, 11, 26), date);
        Assert.Equal("2026-11-26T13:45:00Z has a time of day; a Date field takes dates only",
            FieldConverter.TryConvertValue(new FeedField("d", FieldType.Date), new DateTime(2026, 11, 26, 13, 45, 0), out _));
    }

    [Fact]
    public void Nested_and_binary_values_are_rejects()
    {
        Assert.Equal("is a nested object; only flat values load",
            FieldConverter.TryConvertValue(new FeedField("f", FieldType.String), new NestedValue("object", "{}"), out _));
        Assert.Equal("is binary data, not a String", FieldConverter.TryConvertValue(new FeedField("f", FieldType.String), new byte[] { 1 }, out _));
    }

    [Fact]
    public void Typed_records_match_names_and_a_reject_shows_the_values_as_json()
    {
        var feed = new FeedDefinition("heap-users", "heap", "users",
            [new FeedField("id", FieldType.Integer, PrimaryKey: true), new FeedField("email", FieldType.String), new FeedField("score", FieldType.Decimal)]);
        string[] names = ["score", "ID", "email"];
        var validator = RowValidator.ForNames(feed, names, allowMissing: false);

        var row = Assert.IsType<AcceptedRow>(validator.Validate(new SourceRecord(1, [1.5, 7L, ""], null) { Names = names }));
        var reject = Assert.IsType<RejectedRow>(validator.Validate(new SourceRecord(2, [null, 2.5, "x"], null) { Names = names }));

        Assert.Equal([7L, "", 1.5m], row.Values);
        Assert.Equal("field 'id': 2.5 is not an Integer", reject.Reason);
        Assert.Equal("""{"score":null,"ID":2.5,"email":"x"}""", reject.Raw);
    }

    [Fact]
    public void A_json_object_may_leave_fields_out_but_a_schema_may_not()
    {
        var feed = new FeedDefinition("heap-users", "heap", "users",
            ImmutableArray.Create(new FeedField("id", FieldType.Integer, PrimaryKey: true), new FeedField("email", FieldType.String)));

        var json = RowValidator.ForNames(feed, ["id"], allowMissing: true);
        var row = Assert.IsType<AcceptedRow>(json.Validate(new SourceRecord(1, [1L], null) { Names = ["id"] }));

        Assert.Equal([1L, null], row.Values);
        Assert.Equal("the file's columns do not match feed 'heap-users': missing ['email']",
            Assert.Throws<SchemaMismatchException>(() => RowValidator.ForNames(feed, ["id"], allowMissing: false)).Message);
        Assert.Equal("the file's columns do not match feed 'heap-users': not in the feed ['extra'] (a feed with newColumns 'ignore' or 'add' accepts them)",
            Assert.Throws<SchemaMismatchException>(() => RowValidator.ForNames(feed, ["id", "extra"], allowMissing: true)).Message);
    }
}
