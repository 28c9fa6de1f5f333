namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// The profile fields Stitch reads from semantic tags. The first <see cref="ProfileFields.Compared"/> are compared
/// between records; <see cref="ProfileField.Country"/> is kept but not compared (as Amperity's Stitch), and
/// <see cref="ProfileField.FullName"/> is split into given name and surname where those are not tagged.
/// </summary>
public enum ProfileField
{
    GivenName, Surname, Birthdate, Email, Phone, Address, Address2, City, State, Postal, Gender, Country, FullName,
}

public static class ProfileFields
{
    /// <summary>Fields compared between records: every field before <see cref="ProfileField.Country"/>.</summary>
    public const int Compared = (int)ProfileField.Country;

    public const int Count = (int)ProfileField.FullName + 1;

    public static readonly IReadOnlyList<ProfileField> All = Enum.GetValues<ProfileField>();

    /// <summary>The semantic tag of each field.</summary>
    public static string Tag(this ProfileField field) => field switch
    {
        ProfileField.GivenName => "given-name",
        ProfileField.Surname => "surname",
        ProfileField.FullName => "full-name",
        ProfileField.Address2 => "address2",
        _ => field.ToString().ToLowerInvariant(),
    };

    /// <summary>The column name in <c>stitch.unified_coalesced</c> and <c>stitch.merged_customers</c>.</summary>
    public static string Column(this ProfileField field) => field.Tag().Replace('-', '_');

    public static ProfileField? FromTag(string tag)
    {
        foreach (var field in All)
            if (field.Tag() == tag) return field;
        return null;
    }

    /// <summary>
    /// Fields that say who a record is. Place and gender alone do not: a table tagged only with them (a pageview's city
    /// and country) would make every row a person of its own, so it is no profile source.
    /// </summary>
    public static bool Identifies(this ProfileField field) => field is ProfileField.GivenName or ProfileField.Surname
        or ProfileField.FullName or ProfileField.Email or ProfileField.Phone or ProfileField.Address or ProfileField.Birthdate;

    /// <summary>Given name and surname share one pool (their values are compared crosswise, for swapped names).</summary>
    public static bool IsName(this ProfileField field) => field is ProfileField.GivenName or ProfileField.Surname;
}
