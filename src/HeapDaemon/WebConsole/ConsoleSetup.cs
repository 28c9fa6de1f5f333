using System.Net;
using HeapDaemon.Access;
using HeapDaemon.Configuration;
using HeapDaemon.WebConsole.Components;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace HeapDaemon.WebConsole;

/// <summary>
/// The web console at <c>/</c>: Blazor components rendered on the server as plain HTML forms and links, with the one
/// page that follows a run live rendered interactively. It calls the services the admin API calls
/// (<see cref="Management"/>), behind the same policies.
/// </summary>
public static class ConsoleSetup
{
    public static void AddConsole(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddCascadingAuthenticationState();
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "heapd.antiforgery";
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.AddExceptionHandler<ConsoleProblems>();
        // The build output serves the component styles and Blazor's script from where the build put them, as
        // published output serves them from wwwroot; without a build manifest (published) this does nothing.
        builder.WebHost.UseStaticWebAssets();
    }

    /// <summary>First in the pipeline: behind a proxy, the client's scheme and the path base, before anything reads them.</summary>
    public static void UseDaemonAddress(this WebApplication app)
    {
        var http = app.Services.GetRequiredService<IOptions<HttpSettings>>().Value;
        if (http.ForwardedHeaders)
        {
            var options = new ForwardedHeadersOptions
            {
                ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost | ForwardedHeaders.XForwardedPrefix,
            };
            foreach (var proxy in http.KnownProxies) options.KnownProxies.Add(IPAddress.Parse(proxy));
            app.UseForwardedHeaders(options);
        }
        if (http.PathBase.Length > 0) app.UsePathBase(http.PathBase);
        // Routing matches what is left after the path base: WebApplication would otherwise route first, on the whole path.
        app.UseRouting();
    }

    /// <summary>
    /// In the console a GET reads and every other method changes something, so every such request needs the admin
    /// policy, whatever form or page it targets: a viewer's forged post is refused (403) before any page handles it.
    /// </summary>
    public static void UseConsoleChangesForAdmins(this WebApplication app) =>
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || ConsoleSession.IsApi(request) ||
                request.Path.StartsWithSegments("/_blazor") || request.Path.Equals("/signin") || request.Path.Equals("/signout"))
            {
                await next(context);
                return;
            }
            if (context.User.Identity?.IsAuthenticated != true)
            {
                await context.ChallengeAsync();
                return;
            }
            var authorization = context.RequestServices.GetRequiredService<IAuthorizationService>();
            if (!(await authorization.AuthorizeAsync(context.User, AccessPolicies.Admin)).Succeeded)
            {
                await ConsoleSession.Refuse(context);
                return;
            }
            await next(context);
        });

    public static void MapConsole(this WebApplication app)
    {
        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode().RequireAuthorization(AccessPolicies.Read);
        app.MapPost("/signout", async (HttpContext context) =>
            {
                await ConsoleSession.SignOutAsync(context);
                return Results.Redirect($"{context.Request.PathBase}/signin?signedOut=true");
            })
            .WithMetadata(new Microsoft.AspNetCore.Antiforgery.RequireAntiforgeryTokenAttribute())
            .ExcludeFromDescription();
    }
}
