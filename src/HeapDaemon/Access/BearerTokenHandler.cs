using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using HeapDaemon.Configuration;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace HeapDaemon.Access;

/// <summary>
/// <c>Authorization: Bearer &lt;token&gt;</c>: the admin token or a viewer token from configuration gives its role. It only
/// says who is asking; what each role may do is the policies' business (<see cref="AccessPolicies"/>), so the console's
/// cookie scheme will sign in to the same roles.
/// </summary>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, IOptions<AdminSettings> admin)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    private readonly (byte[] Hash, string Role)[] _tokens =
        [(Hash(admin.Value.Token), Roles.Admin), .. admin.Value.ViewerTokens.Select(t => (Hash(t), Roles.Viewer))];

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0) return Task.FromResult(AuthenticateResult.NoResult());
        // RFC 9110: the scheme is case-insensitive ("bearer", "BEARER"); the token itself is compared exactly.
        var space = header.IndexOf(' ');
        if (space <= 0 || !header.AsSpan(0, space).Equals(SchemeName, StringComparison.OrdinalIgnoreCase))
            return Task.FromResult(AuthenticateResult.NoResult());
        var given = Hash(header[(space + 1)..].Trim());
        string? role = null;
        // Every token is compared, each in constant time (hashes have one length), so the time says nothing about which matched.
        foreach (var (hash, tokenRole) in _tokens)
            if (CryptographicOperations.FixedTimeEquals(hash, given)) role ??= tokenRole;
        if (role is null) return Task.FromResult(AuthenticateResult.Fail("the bearer token is not one the daemon knows"));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, role), new Claim(ClaimTypes.Role, role)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = SchemeName;
        await TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "A valid bearer token is required",
            detail: "send Authorization: Bearer <token> with the admin token or a viewer token").ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        await TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not allowed for this token",
            detail: "a viewer token reads sources, couriers, runs, rejects, domain tables and feeds; changing anything, running, previewing files, browsing buckets and testing credentials need the admin token")
            .ExecuteAsync(Context);

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
