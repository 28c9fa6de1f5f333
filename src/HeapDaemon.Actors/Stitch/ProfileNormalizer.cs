using System.Globalization;
using System.Text;
using PhoneNumbers;

namespace HeapDaemon.Actors.Stitch;

/// <summary>A field's value as shown (<see cref="Display"/>) and as compared (<see cref="Key"/>); null when unusable.</summary>
public readonly record struct Normalized(string? Display, string? Key)
{
    public static readonly Normalized None = new(null, null);

    public bool IsEmpty => Key is null;
}

/// <summary>
/// Turns raw profile values into what Stitch compares. Every rule here is documented in the README's Stitch section:
/// case, accents, whitespace and punctuation for text; the canonical form of an email (with the plus-addressing rule);
/// E.164 phone numbers; ISO dates; postal codes without spaces (a US ZIP+4 compared on its 5 digits); state names as
/// USPS codes; Amperity's gender codes. The display form keeps the writer's case and accents for the customer 360.
/// </summary>
public sealed class ProfileNormalizer(string defaultPhoneRegion = "US", bool stripPlusAddressing = true)
{
    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    /// <summary>ISO first, then Amperity's fallbacks (US month-first before day-first).</summary>
    private static readonly string[] DateFormats = ["yyyy-MM-dd", "yyyyMMdd", "yyyy/MM/dd", "MM/dd/yyyy", "M/d/yyyy", "MM-dd-yyyy", "dd.MM.yyyy", "d.M.yyyy"];

    private static readonly string[] TimeFormats =
        ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd HH:mm:ss.FFFFFFK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFK"];

    private static readonly HashSet<string> Titles = ["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "rev"];

    private static readonly HashSet<string> Suffixes = ["jr", "sr", "ii", "iii", "iv", "v", "phd", "md", "esq"];

    /// <summary>Street words compared in one spelling (a key of <c>12 Main Street</c> is <c>12 main st</c>).</summary>
    private static readonly Dictionary<string, string> StreetWords = new(StringComparer.Ordinal)
    {
        ["street"] = "st", ["str"] = "st", ["avenue"] = "ave", ["av"] = "ave", ["road"] = "rd", ["drive"] = "dr", ["lane"] = "ln",
        ["court"] = "ct", ["place"] = "pl", ["boulevard"] = "blvd", ["crescent"] = "cres", ["circuit"] = "cct", ["terrace"] = "tce",
        ["highway"] = "hwy", ["parkway"] = "pkwy", ["square"] = "sq", ["apartment"] = "apt", ["suite"] = "ste", ["north"] = "n",
        ["south"] = "s", ["east"] = "e", ["west"] = "w", ["close"] = "cl", ["circle"] = "cir", ["way"] = "way",
    };

    private static readonly Dictionary<string, string> UsStates = new(StringComparer.Ordinal)
    {
        ["ALABAMA"] = "AL", ["ALASKA"] = "AK", ["ARIZONA"] = "AZ", ["ARKANSAS"] = "AR", ["CALIFORNIA"] = "CA", ["COLORADO"] = "CO",
        ["CONNECTICUT"] = "CT", ["DELAWARE"] = "DE", ["DISTRICT OF COLUMBIA"] = "DC", ["FLORIDA"] = "FL", ["GEORGIA"] = "GA",
        ["HAWAII"] = "HI", ["IDAHO"] = "ID", ["ILLINOIS"] = "IL", ["INDIANA"] = "IN", ["IOWA"] = "IA", ["KANSAS"] = "KS",
        ["KENTUCKY"] = "KY", ["LOUISIANA"] = "LA", ["MAINE"] = "ME", ["MARYLAND"] = "MD", ["MASSACHUSETTS"] = "MA",
        ["MICHIGAN"] = "MI", ["MINNESOTA"] = "MN", ["MISSISSIPPI"] = "MS", ["MISSOURI"] = "MO", ["MONTANA"] = "MT",
        ["NEBRASKA"] = "NE", ["NEVADA"] = "NV", ["NEW HAMPSHIRE"] = "NH", ["NEW JERSEY"] = "NJ", ["NEW MEXICO"] = "NM",
        ["NEW YORK"] = "NY", ["NORTH CAROLINA"] = "NC", ["NORTH DAKOTA"] = "ND", ["OHIO"] = "OH", ["OKLAHOMA"] = "OK",
        ["OREGON"] = "OR", ["PENNSYLVANIA"] = "PA", ["RHODE ISLAND"] = "RI", ["SOUTH CAROLINA"] = "SC", ["SOUTH DAKOTA"] = "SD",
        ["TENNESSEE"] = "TN", ["TEXAS"] = "TX", ["UTAH"] = "UT", ["VERMONT"] = "VT", ["VIRGINIA"] = "VA", ["WASHINGTON"] = "WA",
        ["WEST VIRGINIA"] = "WV", ["WISCONSIN"] = "WI", ["WYOMING"] = "WY", ["PUERTO RICO"] = "PR",
    };

    /// <summary>Latin letters with diacritics and their plain spelling (lowercase; the input is lowercased first).</summary>
    private static readonly Dictionary<char, string> Folds = BuildFolds();

    public string DefaultPhoneRegion { get; } = defaultPhoneRegion;

    public Normalized Normalize(ProfileField field, string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw)) return Normalized.None;
        return field switch
        {
            ProfileField.GivenName or ProfileField.Surname => Name(raw),
            ProfileField.FullName => Text(raw),
            ProfileField.Email => Email(raw),
            ProfileField.Phone => Phone(raw),
            ProfileField.Birthdate => Birthdate(raw),
            ProfileField.Postal => Postal(raw),
            ProfileField.State => State(raw),
            ProfileField.Gender => Gender(raw),
            ProfileField.Country => Upper(raw),
            ProfileField.Address => Address(raw),
            _ => Text(raw),
        };
    }

    /// <summary>
    /// A full name as (given name, surname): <c>Smith, John</c> and <c>Dr. John A. Smith Jr.</c> are both John Smith.
    /// Titles and generational suffixes are dropped; middle names are ignored.
    /// </summary>
    public (Normalized Given, Normalized Surname) SplitFullName(string? raw)
    {
        var text = Clean(raw);
        if (text is null) return (Normalized.None, Normalized.None);
        string[] parts;
        var comma = text.IndexOf(',');
        if (comma > 0)
        {
            var last = text[..comma].Trim();
            var first = text[(comma + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            parts = [.. first.Take(1), last];
        }
        else
        {
            parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Where((p, i) => !(i == 0 && Titles.Contains(Fold(p))))
                .ToArray();
            while (parts.Length > 1 && Suffixes.Contains(Fold(parts[^1]))) parts = parts[..^1];
        }
        if (parts.Length == 0) return (Normalized.None, Normalized.None);
        if (parts.Length == 1) return (Normalized.None, Name(parts[0]));
        return (Name(parts[0]), Name(parts[^1]));
    }

    public static Normalized Text(string raw)
    {
        var display = Clean(raw);
        if (display is null) return Normalized.None;
        var key = Fold(display);
        return key.Length == 0 ? Normalized.None : new(display, key);
    }

    private static Normalized Name(string raw)
    {
        var text = Text(raw);
        if (text.Key is null) return text;
        // A trailing generational suffix is not part of the surname ("smith jr" is compared as "smith").
        var key = text.Key;
        var space = key.LastIndexOf(' ');
        if (space > 0 && Suffixes.Contains(key[(space + 1)..])) key = key[..space];
        return text with { Key = key };
    }

    private static Normalized Address(string raw)
    {
        var text = Text(raw);
        if (text.Key is null) return text;
        var words = text.Key.Split(' ');
        for (var i = 0; i < words.Length; i++)
            if (StreetWords.TryGetValue(words[i], out var standard)) words[i] = standard;
        return text with { Key = string.Join(' ', words) };
    }

    /// <summary>
    /// The canonical form: lowercase, a mailto: or angle brackets removed. With plus addressing stripped (the default),
    /// <c>jane+news@example.com</c> is <c>jane@example.com</c> for every domain, and Gmail's dots are ignored
    /// (<c>j.ane@googlemail.com</c> is <c>jane@gmail.com</c>). Not an address (no single @, no dot in the domain): none.
    /// </summary>
    private Normalized Email(string raw)
    {
        var display = raw.Trim().Trim('<', '>').ToLowerInvariant();
        if (display.StartsWith("mailto:", StringComparison.Ordinal)) display = display[7..];
        var at = display.IndexOf('@');
        if (at <= 0 || at != display.LastIndexOf('@') || at == display.Length - 1) return Normalized.None;
        var local = display[..at];
        var domain = display[(at + 1)..];
        if (!domain.Contains('.') || domain.StartsWith('.') || domain.EndsWith('.') || display.Any(char.IsWhiteSpace)) return Normalized.None;
        if (stripPlusAddressing)
        {
            var plus = local.IndexOf('+');
            if (plus > 0) local = local[..plus];
            if (domain is "gmail.com" or "googlemail.com")
            {
                local = local.Replace(".", "");
                domain = "gmail.com";
            }
        }
        return new(display, local + "@" + domain);
    }

    /// <summary>E.164 by libphonenumber, reading numbers without a country code in the default region.</summary>
    private Normalized Phone(string raw)
    {
        try
        {
            var number = Phones.Parse(raw, DefaultPhoneRegion);
            if (!Phones.IsPossibleNumber(number)) return Normalized.None;
            var e164 = Phones.Format(number, PhoneNumberFormat.E164);
            return new(e164, e164);
        }
        catch (NumberParseException)
        {
            return Normalized.None;
        }
    }

    /// <summary>
    /// A date shown ISO (<c>yyyy-MM-dd</c>) and compared as its eight digits. A text that is no date but has eight
    /// digits (<c>19650231</c>, a typo) is still compared by its digits, and shown as none.
    /// </summary>
    private static Normalized Birthdate(string raw)
    {
        var text = raw.Trim();
        if (TryDate(text, out var date))
        {
            if (date.Year is < 1850 or > 2200) return Normalized.None;
            return new(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), date.ToString("yyyyMMdd", CultureInfo.InvariantCulture));
        }
        var digits = new string(text.Where(char.IsAsciiDigit).ToArray());
        return digits.Length == 8 && digits.Length * 2 >= text.Length ? new(null, digits) : Normalized.None;
    }

    private static bool TryDate(string text, out DateOnly date)
    {
        if (DateOnly.TryParseExact(text, DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out date)) return true;
        if (!DateTime.TryParseExact(text, TimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time))
            return false;
        date = DateOnly.FromDateTime(time);
        return true;
    }

    private static Normalized Postal(string raw)
    {
        var display = Clean(raw)?.ToUpperInvariant();
        if (display is null) return Normalized.None;
        var key = new string(display.Where(char.IsLetterOrDigit).ToArray());
        if (key.Length == 9 && key.All(char.IsAsciiDigit)) key = key[..5];
        return key.Length == 0 ? Normalized.None : new(display, key);
    }

    private static Normalized State(string raw)
    {
        var display = Clean(raw);
        if (display is null) return Normalized.None;
        var key = Fold(display).ToUpperInvariant();
        if (UsStates.TryGetValue(key, out var code)) key = code;
        return key.Length == 0 ? Normalized.None : new(display, key);
    }

    /// <summary>Amperity's codes: F/FEMALE/WOMAN is F, M/MALE/MAN is M, X/NONBINARY/NON-BINARY/ENBY/NB/OTHER is X; anything else none.</summary>
    private static Normalized Gender(string raw)
    {
        var code = Fold(raw).Replace(" ", "").ToUpperInvariant() switch
        {
            "F" or "FEMALE" or "WOMAN" => "F",
            "M" or "MALE" or "MAN" => "M",
            "X" or "NONBINARY" or "NB" or "ENBY" or "OTHER" => "X",
            _ => null,
        };
        return code is null ? Normalized.None : new(code, code);
    }

    private static Normalized Upper(string raw)
    {
        var text = Text(raw);
        return text.Key is null ? text : text with { Key = text.Key.ToUpperInvariant() };
    }

    /// <summary>Trimmed, whitespace runs as one space, full-width letters as ASCII; null when nothing is left.</summary>
    public static string? Clean(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw)) return null;
        var builder = new StringBuilder(raw.Length);
        var space = false;
        foreach (var c0 in raw)
        {
            var c = c0 is >= '\uFF01' and <= '\uFF5E' ? (char)(c0 - 0xFEE0) : c0;
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                space = builder.Length > 0;
                continue;
            }
            if (space) builder.Append(' ');
            space = false;
            builder.Append(c);
        }
        return builder.Length == 0 ? null : builder.ToString();
    }

    /// <summary>
    /// The compared form of text: lowercase, Latin diacritics removed (<c>José</c> is <c>jose</c>), apostrophes and
    /// periods dropped (<c>O'Brien</c> is <c>obrien</c>), other punctuation a space, symbols and emoji dropped. Letters
    /// of other scripts stay as they are (lowercased where the script has case).
    /// </summary>
    public static string Fold(string text)
    {
        var builder = new StringBuilder(text.Length);
        var space = false;
        foreach (var upper in text)
        {
            var c = char.ToLowerInvariant(upper);
            switch (char.GetUnicodeCategory(c))
            {
                case UnicodeCategory.LowercaseLetter or UnicodeCategory.UppercaseLetter or UnicodeCategory.TitlecaseLetter
                    or UnicodeCategory.OtherLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.DecimalDigitNumber
                    or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber:
                    if (space && builder.Length > 0) builder.Append(' ');
                    space = false;
                    if (Folds.TryGetValue(c, out var plain)) builder.Append(plain);
                    else builder.Append(c);
                    break;
                case UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.SpacingCombiningMark
                    or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.OtherSymbol
                    or UnicodeCategory.ModifierSymbol or UnicodeCategory.PrivateUse:
                    break;
                default:
                    if (c is '\'' or '’' or '‘' or '`' or '.') break;
                    space = true;
                    break;
            }
        }
        return builder.ToString();
    }

    private static Dictionary<char, string> BuildFolds()
    {
        var folds = new Dictionary<char, string>
        {
            ['ß'] = "ss", ['æ'] = "ae", ['œ'] = "oe", ['þ'] = "th", ['ĳ'] = "ij", ['ﬁ'] = "fi", ['ﬂ'] = "fl",
        };
        string[] groups =
        [
            "aàáâãäåāăąǎȁȃạảấầẩẫậắằẳẵặ", "cçćĉċč", "dďđð", "eèéêëēĕėęěȅȇẹẻẽếềểễệ", "gĝğġģ", "hĥħ", "iìíîïĩīĭįıǐȉȋịỉ", "jĵ",
            "kķ", "lĺļľŀł", "nñńņňŉ", "oòóôõöøōŏőǒơȍȏọỏốồổỗộớờởỡợ", "rŕŗř", "sśŝşšș", "tţťŧț", "uùúûüũūŭůűųǔưȕȗụủứừửữự",
            "wŵ", "yýÿŷỳỵỷỹ", "zźżž",
        ];
        foreach (var group in groups)
            foreach (var c in group.AsSpan(1))
                folds[c] = group[..1];
        return folds;
    }
}
