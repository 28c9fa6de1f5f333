using System.Security.Claims;
using HeapDaemon.Configuration;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace HeapDaemon.Access;

/// <summary>
/// The console's session: a cookie that says which role signed in, never the token. Encrypted and signed by ASP.NET's
/// data protection, HttpOnly (no page script reads it), Secure when the request is HTTPS (as the proxy says, see
/// <c>Http:ForwardedHeaders</c>), SameSite=Strict (no other site's page sends it). It expires after
/// <c>Console:SessionIdleTimeout</c> without a request (sliding), and in any case <c>Console:SessionMaxAge</c> after
/// sign-in; and it ends at once when the token it signed in with is no longer configured.
/// </summary>
public static class ConsoleSession
{
    public const string SchemeName = "Console";

    /// <summary>Chooses the scheme by where the request goes: the API takes bearer tokens only, the console its cookie only.</summary>
    public const string SelectorName = "BearerOrConsole";

    private const string FingerprintClaim = "heapd:token";

    private const string SignedInItem = "heapd:signedIn";

    public static AuthenticationBuilder AddConsoleSession(this AuthenticationBuilder authentication)
    {
        authentication.Services.AddOptions<CookieAuthenticationOptions>(SchemeName).Configure<IOptions<ConsoleSettings>>((cookie, settings) =>
        {
            cookie.Cookie.Name = "heapd.session";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.ExpireTimeSpan = settings.Value.SessionIdleTimeout;
            cookie.SlidingExpiration = true;
            cookie.LoginPath = "/signin";
            cookie.ReturnUrlParameter = "returnUrl";
            cookie.Events = new CookieAuthenticationEvents
            {
                OnValidatePrincipal = ValidateAsync,
                // A page a viewer may not use answers 403 with a sentence, not a redirect to a page that would say less.
                OnRedirectToAccessDenied = context => Refuse(context.HttpContext),
            };
        });
        authentication.AddCookie(SchemeName);
        authentication.AddPolicyScheme(SelectorName, SelectorName, options =>
            options.ForwardDefaultSelector = context => IsApi(context.Request) ? BearerTokenHandler.SchemeName : SchemeName);
        return authentication;
    }

    public static bool IsApi(HttpRequest request) => request.Path.StartsWithSegments("/api");

    /// <summary>Signs in with a token; false when the daemon does not know it.</summary>
    public static async Task<bool> SignInAsync(HttpContext context, string token)
    {
        var tokens = context.RequestServices.GetRequiredService<TokenRoles>();
        if (tokens.RoleOf(token.Trim()) is not { } role) return false;
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, role), new Claim(ClaimTypes.Role, role), new Claim(FingerprintClaim, TokenRoles.Fingerprint(token.Trim()))],
            SchemeName);
        var properties = new AuthenticationProperties { IsPersistent = false };
        properties.Items[SignedInItem] = DateTimeOffset.UtcNow.ToString("O");
        await context.SignInAsync(SchemeName, new ClaimsPrincipal(identity), properties);
        return true;
    }

    public static Task SignOutAsync(HttpContext context) => context.SignOutAsync(SchemeName);

    private static Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var settings = context.HttpContext.RequestServices.GetRequiredService<IOptions<ConsoleSettings>>().Value;
        var tokens = context.HttpContext.RequestServices.GetRequiredService<TokenRoles>();
        var fingerprint = context.Principal?.FindFirst(FingerprintClaim)?.Value;
        var role = fingerprint is null ? null : tokens.RoleOfFingerprint(fingerprint);
        // Sliding renewals move IssuedUtc along; the time of the sign-in itself is kept in its own item.
        var tooOld = !(context.Properties.Items.TryGetValue(SignedInItem, out var signedIn) &&
                       DateTimeOffset.TryParse(signedIn, null, System.Globalization.DateTimeStyles.RoundtripKind, out var at) &&
                       DateTimeOffset.UtcNow - at <= settings.SessionMaxAge);
        if (role is null || tooOld || !context.Principal!.IsInRole(role)) context.RejectPrincipal();
        return Task.CompletedTask;
    }

    /// <summary>A change the session's role may not make: 403 and a sentence, for a page or a forged form post alike.</summary>
    public static async Task Refuse(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync($"""
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Not allowed - HeapDaemon</title></head>
            <body><main><h1>Not allowed</h1><p>You are signed in as a viewer: you can read sources, couriers, runs and domain
            tables, but changing anything, running couriers and reading buckets need the admin token. Sign in with it to do this.</p>
            <p><a href="{System.Net.WebUtility.HtmlEncode(context.Request.PathBase)}/">Back to Sources</a></p></main></body></html>
            """);
    }
}
