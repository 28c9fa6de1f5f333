using System.Net;
using System.Text.RegularExpressions;
using HeapDaemon.Console.Tests.Support;
using Xunit;

namespace HeapDaemon.Console.Tests;

/// <summary>
/// Behind a reverse proxy that serves the daemon at https://host/heapd/ and forwards to it over plain HTTP, stripping the
/// prefix and saying so in X-Forwarded-Prefix, -Proto and -Host: every address the console writes carries the
/// prefix, and the session cookie is Secure, as the browser's side is HTTPS.
/// </summary>
public sealed class ReverseProxySpecs : IAsyncLifetime
{
    private ConsoleDaemon _daemon = null!;

    public async Task InitializeAsync() =>
        _daemon = await ConsoleDaemon.StartAsync(settings: new Dictionary<string, string> { ["HEAPD__Http__ForwardedHeaders"] = "true" });

    public async Task DisposeAsync() => await _daemon.DisposeAsync();

    [Fact]
    public async Task Forwarded_prefix_and_scheme_make_every_address_carry_the_prefix_and_the_session_cookie_Secure()
    {
        // Cookies by hand: a Secure cookie would not go back over this test's plain HTTP, though the proxy's browser sends it.
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = new Uri(_daemon.Url) };
        HttpRequestMessage Request(HttpMethod method, string path)
        {
            var request = new HttpRequestMessage(method, path);
            request.Headers.Add("X-Forwarded-Prefix", "/heapd");
            request.Headers.Add("X-Forwarded-Proto", "https");
            request.Headers.Add("X-Forwarded-Host", "console.example.com");
            request.Headers.Add("X-Forwarded-For", "203.0.113.9");
            request.Headers.Accept.ParseAdd("text/html");
            return request;
        }

        var signIn = await client.SendAsync(Request(HttpMethod.Get, "signin"));
        var html = await signIn.Content.ReadAsStringAsync();
        Assert.Contains("<base href=\"/heapd/\"", html);
        Assert.Contains("action=\"/heapd/signin\"", html);
        var antiforgeryCookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("heapd.antiforgery"));
        Assert.Contains("secure", antiforgeryCookie, StringComparison.OrdinalIgnoreCase);

        var post = Request(HttpMethod.Post, "signin");
        post.Headers.Add("Cookie", antiforgeryCookie.Split(';')[0]);
        post.Content = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "signin",
            ["__RequestVerificationToken"] = Regex.Match(html, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value,
            ["Token"] = ConsoleDaemon.AdminToken,
        });
        var signedIn = await client.SendAsync(post);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("https://console.example.com/heapd/", signedIn.Headers.Location!.OriginalString);
        var session = signedIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("heapd.session"));
        foreach (var attribute in new[] { "secure", "httponly", "samesite=strict", "path=/heapd" })
            Assert.Contains(attribute, session, StringComparison.OrdinalIgnoreCase);

        var sources = Request(HttpMethod.Get, "");
        sources.Headers.Add("Cookie", session.Split(';')[0]);
        var page = await (await client.SendAsync(sources)).Content.ReadAsStringAsync();
        Assert.Contains("<h1", page);
        Assert.Contains("Sources</h1>", page);
        Assert.Contains("<base href=\"/heapd/\"", page);

        // Without the proxy's word, the same daemon is at its root, and its cookies are not Secure over plain HTTP.
        var direct = await client.GetAsync("signin");
        Assert.Contains("<base href=\"/\"", await direct.Content.ReadAsStringAsync());
        Assert.DoesNotContain("secure", direct.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("heapd.antiforgery")), StringComparison.OrdinalIgnoreCase);
    }
}
