using System.Net;
using System.Text;
using HeapDaemon.Tests.Support;
using Microsoft.AspNetCore.Authorization;
using Xunit;

namespace HeapDaemon.Tests.Api;

/// <summary>
/// Who may call what, over every route the router maps (so a new route cannot escape): a viewer reads, an admin does
/// everything, and nothing under /api answers without a token.
/// </summary>
public sealed class RoleSpecs(SharedDaemon shared) : IClassFixture<SharedDaemon>
{
    /// <summary>What a viewer may call: reads of configuration and outcomes. Everything else is refused to viewers.</summary>
    private static readonly HashSet<string> ViewerRoutes =
    [
        "GET /api/credentials", "GET /api/credentials/{id}", "GET /api/feeds", "GET /api/feeds/{id}", "GET /api/couriers",
        "GET /api/couriers/{id}", "GET /api/couriers/{id}/runs", "GET /api/runs", "GET /api/runs/{id}", "GET /api/runs/{id}/rejects",
        "GET /api/domain-tables", "GET /api/domain-tables/{name}/rows", "GET /api/stitch/runs", "GET /api/stitch/runs/{id}",
        "GET /api/stitch/settings", "GET /api/stitch/records/{source}/{feed}/{pk}", "GET /api/cluster",
    ];

    [Fact]
    public void Every_route_declares_the_read_or_the_admin_policy()
    {
        foreach (var (method, pattern, endpoint) in ApiDocument.MappedRoutes(shared.Daemon.Services))
        {
            var policies = endpoint.Metadata.OfType<IAuthorizeData>().Select(a => a.Policy).ToList();
            Assert.True(policies is ["read"] or ["admin"], $"{method} {pattern} declares policies [{string.Join(", ", policies)}]; give it ForViewers() or ForAdmins()");
            Assert.Equal(ViewerRoutes.Contains($"{method} {pattern}") ? "read" : "admin", policies[0]);
        }
    }

    [Fact]
    public async Task Every_route_answers_401_without_a_token_or_with_a_wrong_one_403_to_a_viewer_unless_it_reads_and_serves_an_admin()
    {
        using var anonymous = shared.Anonymous();
        using var wrong = shared.WithToken("not-a-token-the-daemon-knows");
        using var viewer = shared.Viewer();
        using var admin = shared.Admin();
        var wrongAnswers = new List<string>();

        var routes = ApiDocument.MappedRoutes(shared.Daemon.Services).Select(r => (r.Method, r.Pattern)).Distinct().ToList();
        foreach (var (method, pattern) in routes)
        {
            var route = $"{method} {pattern}";
            if ((await anonymous.SendAsync(Request(method, pattern))).StatusCode != HttpStatusCode.Unauthorized) wrongAnswers.Add($"{route} without a token");
            if ((await wrong.SendAsync(Request(method, pattern))).StatusCode != HttpStatusCode.Unauthorized) wrongAnswers.Add($"{route} with a wrong token");
            var asViewer = await viewer.SendAsync(Request(method, pattern));
            if (ViewerRoutes.Contains(route) ? asViewer.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
                    : asViewer.StatusCode != HttpStatusCode.Forbidden || asViewer.Content.Headers.ContentType?.MediaType != "application/problem+json")
                wrongAnswers.Add($"{route} as a viewer: {(int)asViewer.StatusCode}");
            var asAdmin = await admin.SendAsync(Request(method, pattern));
            if (asAdmin.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) wrongAnswers.Add($"{route} as the admin: {(int)asAdmin.StatusCode}");
        }

        Assert.True(routes.Count >= 34, $"only {routes.Count} routes");
        Assert.True(wrongAnswers.Count == 0, string.Join("\n", wrongAnswers));
    }

    [Fact]
    public async Task A_viewer_reads_what_was_made_and_never_a_secret_and_changes_nothing()
    {
        using var admin = shared.Admin();
        using var viewer = shared.Viewer();
        await admin.PostOkAsync("/api/credentials", new { id = "roles", kind = "s3", bucket = shared.Bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "AKIAROLES", secretAccessKey = "roles-secret-value" });

        var credentials = await viewer.GetStringAsync("/api/credentials");
        var refused = await viewer.DeleteAsync("/api/credentials/roles");

        Assert.Contains("\"roles\"", credentials);
        Assert.DoesNotContain("roles-secret-value", credentials);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/credentials/roles")).StatusCode);
    }

    /// <summary>Route values that bind (a UUID where the handler takes one), and a JSON body for routes that take one.</summary>
    private static HttpRequestMessage Request(string method, string pattern)
    {
        var runs = pattern.StartsWith("/api/runs", StringComparison.Ordinal) || pattern.StartsWith("/api/stitch/runs", StringComparison.Ordinal);
        var path = pattern.Replace("{id}", runs ? Guid.NewGuid().ToString() : "roles-none")
            .Replace("{name}", "Roles:None").Replace("{ordinal}", "0").Replace("{dumpId}", "1")
            .Replace("{source}", "roles").Replace("{feed}", "none").Replace("{pk}", "1");
        return new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method is "POST" or "PUT" ? new StringContent("{}", Encoding.UTF8, "application/json") : null,
        };
    }
}
