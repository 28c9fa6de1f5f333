using HeapDaemon.Actors.Stitch;
using Xunit;

namespace HeapDaemon.Tests.Stitch;

/// <summary>The normalisation rules the README's Stitch section documents, value by value: what is shown and what is compared.</summary>
public sealed class ProfileNormalizerSpecs
{
    private static readonly ProfileNormalizer Us = new();

    [Theory]
    [InlineData("Jane+News@Example.com", "jane+news@example.com", "jane@example.com")]
    [InlineData("  <mailto:JANE@example.com>  ", "jane@example.com", "jane@example.com")]
    [InlineData("J.Ane+promo@GoogleMail.com", "j.ane+promo@googlemail.com", "jane@gmail.com")]
    [InlineData("j.ane@example.com", "j.ane@example.com", "j.ane@example.com")]
    public void Emails_are_compared_in_their_canonical_form_without_plus_addressing_and_shown_as_written(string raw, string shown, string compared)
    {
        var email = Us.Normalize(ProfileField.Email, raw);

        Assert.Equal(shown, email.Display);
        Assert.Equal(compared, email.Key);
    }

    [Fact]
    public void Plus_addressing_is_kept_when_stripPlusAddressing_is_off()
    {
        var email = new ProfileNormalizer(stripPlusAddressing: false).Normalize(ProfileField.Email, "j.ane+news@gmail.com");

        Assert.Equal("j.ane+news@gmail.com", email.Key);
    }

    [Theory]
    [InlineData("jane@")]
    [InlineData("jane@example")]
    [InlineData("jane@@example.com")]
    [InlineData("a@b@example.com")]
    [InlineData("jane doe@example.com")]
    [InlineData("no email")]
    public void Text_that_is_not_an_email_address_is_no_email(string raw) => Assert.True(Us.Normalize(ProfileField.Email, raw).IsEmpty);

    [Theory]
    [InlineData("US", "(206) 201-3344", "+12062013344")]
    [InlineData("US", "206.201.3344", "+12062013344")]
    [InlineData("US", "+1 206 201 3344", "+12062013344")]
    [InlineData("US", "+44 20 7946 0958", "+442079460958")]
    [InlineData("GB", "020 7946 0958", "+442079460958")]
    public void Phones_are_E164_read_in_the_default_region_without_a_country_code(string region, string raw, string e164)
    {
        var phone = new ProfileNormalizer(region).Normalize(ProfileField.Phone, raw);

        Assert.Equal(e164, phone.Key);
        Assert.Equal(e164, phone.Display);
    }

    [Theory]
    [InlineData("12")]
    [InlineData("not a phone")]
    [InlineData("206 201 33449999999")]
    public void A_number_libphonenumber_finds_impossible_is_no_phone(string raw) => Assert.True(Us.Normalize(ProfileField.Phone, raw).IsEmpty);

    [Theory]
    [InlineData("1979-03-14", "1979-03-14", "19790314")]
    [InlineData("19790314", "1979-03-14", "19790314")]
    [InlineData("1979/03/14", "1979-03-14", "19790314")]
    [InlineData("03/14/1979", "1979-03-14", "19790314")]
    [InlineData("14.03.1979", "1979-03-14", "19790314")]
    [InlineData("1979-03-14T08:30:00Z", "1979-03-14", "19790314")]
    [InlineData("19650231", null, "19650231")]
    public void Birthdates_are_shown_ISO_and_compared_by_their_eight_digits_even_when_no_date(string raw, string? shown, string compared)
    {
        var date = Us.Normalize(ProfileField.Birthdate, raw);

        Assert.Equal(shown, date.Display);
        Assert.Equal(compared, date.Key);
    }

    [Theory]
    [InlineData(ProfileField.Postal, "98765-4321", "98765")]
    [InlineData(ProfileField.Postal, "sw1a 1aa", "SW1A1AA")]
    [InlineData(ProfileField.State, "Washington", "WA")]
    [InlineData(ProfileField.State, "wa", "WA")]
    [InlineData(ProfileField.Gender, "Female", "F")]
    [InlineData(ProfileField.Gender, "man", "M")]
    [InlineData(ProfileField.Gender, "Non-binary", "X")]
    [InlineData(ProfileField.Surname, "O'Brien", "obrien")]
    [InlineData(ProfileField.Surname, "Müller-Lüdenscheidt", "muller ludenscheidt")]
    [InlineData(ProfileField.Surname, "Smith Jr.", "smith")]
    [InlineData(ProfileField.GivenName, "  José   María ", "jose maria")]
    [InlineData(ProfileField.GivenName, "ＪＯＨＮ", "john")]
    [InlineData(ProfileField.Address, "12 North Main Street", "12 n main st")]
    public void Values_are_compared_folded_and_in_one_spelling(ProfileField field, string raw, string compared) =>
        Assert.Equal(compared, Us.Normalize(field, raw).Key);

    [Theory]
    [InlineData(ProfileField.Gender, "unknown")]
    [InlineData(ProfileField.GivenName, "😀 🎉")]
    [InlineData(ProfileField.Surname, " \t ")]
    public void Values_with_nothing_to_compare_are_missing(ProfileField field, string raw) => Assert.True(Us.Normalize(field, raw).IsEmpty);

    [Theory]
    [InlineData("Smith, John")]
    [InlineData("Dr. John A. Smith Jr.")]
    [InlineData("john smith")]
    public void A_full_name_is_split_into_given_name_and_surname(string raw)
    {
        var (given, surname) = Us.SplitFullName(raw);

        Assert.Equal("john", given.Key);
        Assert.Equal("smith", surname.Key);
    }
}
