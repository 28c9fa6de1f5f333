using Microsoft.AspNetCore.Authorization;

namespace HeapDaemon.Access;

/// <summary>The two roles of issue 16: an admin does everything, a viewer reads.</summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string Viewer = "viewer";
}

/// <summary>
/// What each route needs, by policy rather than by scheme: the API's bearer tokens and the console's cookie
/// (<see cref="ConsoleSession"/>) sign in to the same roles, and both are held to these policies. Every <c>/api</c> route declares one of these (<see cref="ForViewers"/> or
/// <see cref="ForAdmins"/>); a test refuses a route that declares none.
/// </summary>
public static class AccessPolicies
{
    /// <summary>Reads that show configuration and outcomes, never secrets nor customer data beyond the loaded tables.</summary>
    public const string Read = "read";

    /// <summary>Changes, runs, and everything that reaches a customer's bucket (preview, browse, connection test).</summary>
    public const string Admin = "admin";

    public static void AddAccessPolicies(this IServiceCollection services)
    {
        services.AddSingleton<TokenRoles>();
        services.AddAuthentication(ConsoleSession.SelectorName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null)
            .AddConsoleSession();
        services.AddAuthorizationBuilder()
            .AddPolicy(Read, policy => policy.RequireRole(Roles.Viewer, Roles.Admin))
            .AddPolicy(Admin, policy => policy.RequireRole(Roles.Admin));
    }

    public static RouteHandlerBuilder ForViewers(this RouteHandlerBuilder builder) =>
        builder.RequireAuthorization(Read).ProducesProblem(StatusCodes.Status401Unauthorized);

    public static RouteHandlerBuilder ForAdmins(this RouteHandlerBuilder builder) =>
        builder.RequireAuthorization(Admin).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
}
