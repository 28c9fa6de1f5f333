using System.Net;
using System.Text.RegularExpressions;

namespace HeapDaemon.Actors.Storage;

/// <summary>S3's general-purpose bucket naming rules, to tell "invalid name" from "no such bucket".</summary>
public static partial class S3BucketNames
{
    /// <returns>Why the name breaks the rules, or null when it follows them.</returns>
    public static string? Problem(string name)
    {
        if (name.Length is < 3 or > 63) return "it must be 3-63 characters long";
        if (!Shape().IsMatch(name)) return "it may hold only lowercase letters, digits, '.' and '-', and must begin and end with a letter or digit";
        if (name.Contains("..")) return "it may not hold two adjacent periods";
        if (IPAddress.TryParse(name, out _)) return "it may not look like an IP address";
        if (name.StartsWith("xn--", StringComparison.Ordinal) || name.EndsWith("-s3alias", StringComparison.Ordinal) ||
            name.EndsWith("--ol-s3", StringComparison.Ordinal))
            return "it uses a prefix or suffix S3 reserves (xn--, -s3alias, --ol-s3)";
        return null;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$")]
    private static partial Regex Shape();
}
