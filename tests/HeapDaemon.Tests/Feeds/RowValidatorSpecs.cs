using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using HeapDaemon.Actors.Feeds;
using Xunit;

namespace HeapDaemon.Tests.Feeds;

public sealed class RowValidatorSpecs
{
    private static readonly FeedDefinition Feed = new("heap-events", "heap", "events",
    [
        new FeedField("event_id", FieldType.Integer, PrimaryKey: true),
        new FeedField("Kind", FieldType.String, PrimaryKey: true, Column: "kind"),
        new FeedField("at", FieldType.Datetime),
        new FeedField("amount", FieldType.Decimal, Precision: 6, Scale: 2),
        new FeedField("ok", FieldType.Boolean),
        new FeedField("day", FieldType.Date),
        new FeedField("ratio", FieldType.Float),
        new FeedField("note", FieldType.String, Nullable: false),
    ], LastUpdatedField: "at");

    private static readonly string[] Header = ["event_id", "kind", "at", "amount", "ok", "day", "ratio", "note"];

    [Fact]
    public void A_good_row_converts_every_type_and_builds_the_key()
    {
        var validator = RowValidator.ForHeader(Feed, Header);

        var row = Accepted(validator.Validate(Record("7", "a|b", "2026-11-26T13:45:00+01:00", "12.50", "yes", "2026-11-26", "0.25", "n")));

        Assert.Equal(7L, row.Values[0]);
        Assert.Equal(new DateTime(2026, 11, 26, 12, 45, 0, DateTimeKind.Utc), row.Values[2]);
        Assert.Equal(12.50m, row.Values[3]);
        Assert.Equal(true, row.Values[4]);
        Assert.Equal(new DateOnly(2026, 11, 26), row.Values[5]);
        Assert.Equal(0.25, row.Values[6]);
        Assert.Equal("7|a\\|b", row.Pk);
    }

    [Fact]
    public void The_same_key_always_gets_the_same_uuid_and_different_keys_do_not_collide()
    {
        var validator = RowValidator.ForHeader(Feed, Header);
        AcceptedRow Row(string id, string kind) => Accepted(validator.Validate(Record(id, kind, "2026-11-26", "1", "t", "2026-11-26", "1", "n")));

        Assert.Equal(Row("1", "a").UuidPk, Row("01", "a").UuidPk);
        Assert.NotEqual(Row("1", "a|b").Pk, Row("1", "a\\|b").Pk);
        Assert.NotEqual(Row("1", "a").UuidPk, Row("2", "a").UuidPk);
        Assert.Equal(5, Row("1", "a").UuidPk.ToString()[14] - '0');
    }

    [Theory]
    [InlineData("1", "a")]
    [InlineData("42", "ünïcødé ✓")]
    [InlineData("7", "a key long enough that the namespace and it take more than one SHA-1 block of 64 bytes")]
    public void The_uuid_is_the_sha1_name_based_uuid_of_the_feed_and_key(string id, string kind)
    {
        var validator = RowValidator.ForHeader(Feed, Header);
        var row = Accepted(validator.Validate(Record(id, kind, "2026-11-26", "1", "t", "2026-11-26", "1", "n")));

        // RFC 4122 version 5 layout over SHA-1("<source>.<name>\n" + _pk), as loads have always written it.
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes("heap.events\n" + row.Pk));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        Assert.Equal(new Guid(hash.AsSpan(0, 16), bigEndian: true), row.UuidPk);
    }

    [Theory]
    [InlineData(new[] { "x", "a", "2026-11-26", "1", "t", "2026-11-26", "1", "n" }, "field 'event_id': 'x' is not an Integer")]
    [InlineData(new[] { "1", "", "2026-11-26", "1", "t", "2026-11-26", "1", "n" }, "field 'Kind' is required but empty")]
    [InlineData(new[] { "1", "a", "", "1", "t", "2026-11-26", "1", "n" }, "field 'at' is required but empty")]
    [InlineData(new[] { "1", "a", "26/11/2026", "1", "t", "2026-11-26", "1", "n" }, "field 'at': '26/11/2026' is not a Datetime")]
    [InlineData(new[] { "1", "a", "2026-11-26", "1.234", "t", "2026-11-26", "1", "n" }, "field 'amount': '1.234' has more than 2 decimal places")]
    [InlineData(new[] { "1", "a", "2026-11-26", "12345", "t", "2026-11-26", "1", "n" }, "field 'amount': '12345' does not fit Decimal(6,2)")]
    [InlineData(new[] { "1", "a", "2026-11-26", "1", "maybe", "2026-11-26", "1", "n" }, "field 'ok': 'maybe' is not a Boolean")]
    [InlineData(new[] { "1", "a", "2026-11-26", "1", "t", "2026-13-01", "1", "n" }, "field 'day': '2026-13-01' is not a Date")]
    [InlineData(new[] { "1", "a", "2026-11-26", "1", "t", "2026-11-26", "1", "" }, "field 'note' is required but empty")]
    [InlineData(new[] { "1", "a", "2026-11-26", "1", "t", "2026-11-26", "1", "nul\0byte" }, "field 'note': contains a NUL character")]
    [InlineData(new[] { "1", "a", "2026-11-26" }, "expected 8 fields, found 3")]
    public void A_bad_row_is_rejected_with_its_line_raw_text_and_reason(string[] fields, string reason)
    {
        var validator = RowValidator.ForHeader(Feed, Header);

        var reject = Assert.IsType<RejectedRow>(validator.Validate(new SourceRecord(9, fields, "raw text")));

        Assert.Equal(9, reject.Line);
        Assert.Equal("raw text", reject.Raw);
        Assert.StartsWith(reason, reject.Reason);
    }

    [Fact]
    public void A_header_is_matched_by_name_in_any_order_and_case()
    {
        var validator = RowValidator.ForHeader(Feed, ["NOTE", "ratio", "day", "ok", "amount", "at", "KIND", "Event_Id"]);

        var row = Accepted(validator.Validate(new SourceRecord(2, ["n", "1", "2026-11-26", "f", "1", "2026-11-26", "k", "3"], "")));

        Assert.Equal(3L, row.Values[0]);
        Assert.Equal("k", row.Values[1]);
    }

    [Fact]
    public void A_header_that_does_not_match_names_what_is_missing_extra_and_repeated()
    {
        var error = Assert.Throws<SchemaMismatchException>(() =>
            RowValidator.ForHeader(Feed, ["event_id", "kind", "at", "amount", "ok", "day", "ratio", "extra", "extra"]));

        Assert.Equal("the file's columns do not match feed 'heap-events': missing ['note']; not in the feed ['extra', 'extra'] (a feed with newColumns 'ignore' or 'add' accepts them); repeated ['extra']", error.Message);
    }

    [Fact]
    public void A_malformed_record_from_the_parser_is_a_reject()
    {
        var validator = RowValidator.ByPosition(Feed);

        var reject = Assert.IsType<RejectedRow>(validator.Validate(new SourceRecord(4, new string[8], "x") { Problem = "malformed quoting near 'x'" }));

        Assert.Equal("malformed quoting near 'x'", reject.Reason);
    }

    private static AcceptedRow Accepted(ValidatedRow row) =>
        row as AcceptedRow ?? throw new Xunit.Sdk.XunitException($"rejected: {((RejectedRow)row).Reason}");

    private static SourceRecord Record(params string[] fields) => new(2, fields, string.Join(',', fields));
}
