using System.Security.Cryptography;
using System.Text;
using HeapDaemon.Configuration;
using Microsoft.Extensions.Options;

namespace HeapDaemon.Access;

/// <summary>
/// The configured tokens and the role each gives: the admin token and the viewer tokens. The bearer scheme and the
/// console's sign-in both ask it, so a token means the same everywhere.
/// </summary>
public sealed class TokenRoles(IOptions<AdminSettings> admin)
{
    private readonly (byte[] Hash, string Role)[] _tokens =
        [(Hash(admin.Value.Token), Roles.Admin), .. admin.Value.ViewerTokens.Select(t => (Hash(t), Roles.Viewer))];

    /// <returns>The token's role, or null for a token the daemon does not know.</returns>
    public string? RoleOf(string token)
    {
        var given = Hash(token);
        string? role = null;
        // Every token is compared, each in constant time (hashes have one length), so the time says nothing about which matched.
        foreach (var (hash, tokenRole) in _tokens)
            if (CryptographicOperations.FixedTimeEquals(hash, given)) role ??= tokenRole;
        return role;
    }

    /// <summary>
    /// What a console session keeps of the token it signed in with: not the token, but enough to tell that it is still
    /// configured, so a session ends when its token is removed or rotated.
    /// </summary>
    public static string Fingerprint(string token) => Convert.ToHexStringLower(Hash("heapd-console-session:" + token));

    /// <summary>The role a fingerprint's token still has; null when that token is no longer configured.</summary>
    public string? RoleOfFingerprint(string fingerprint)
    {
        var given = Encoding.ASCII.GetBytes(fingerprint);
        string? role = null;
        foreach (var (token, tokenRole) in Configured())
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Fingerprint(token)), given)) role ??= tokenRole;
        return role;
    }

    private IEnumerable<(string Token, string Role)> Configured() =>
        [(admin.Value.Token, Roles.Admin), .. admin.Value.ViewerTokens.Select(t => (t, Roles.Viewer))];

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
