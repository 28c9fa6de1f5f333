using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace HeapDaemon.Access;

/// <summary>
/// <c>Authorization: Bearer &lt;token&gt;</c>: the admin token or a viewer token from configuration gives its role. It only
/// says who is asking; what each role may do is the policies' business (<see cref="AccessPolicies"/>), so the console's
/// cookie scheme (<see cref="ConsoleSession"/>) signs in to the same roles.
/// </summary>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, TokenRoles tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0) return Task.FromResult(AuthenticateResult.NoResult());
        // RFC 9110: the scheme is case-insensitive ("bearer", "BEARER"); the token itself is compared exactly.
        var space = header.IndexOf(' ');
        if (space <= 0 || !header.AsSpan(0, space).Equals(SchemeName, StringComparison.OrdinalIgnoreCase))
            return Task.FromResult(AuthenticateResult.NoResult());
        if (tokens.RoleOf(header[(space + 1)..].Trim()) is not { } role) return Task.FromResult(AuthenticateResult.Fail("the bearer token is not one the daemon knows"));
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
}
