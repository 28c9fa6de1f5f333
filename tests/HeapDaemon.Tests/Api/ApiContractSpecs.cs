using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Reflection;
using System.Text;
using System.Text.Json;
using HeapDaemon.Tests.Stitch;
using HeapDaemon.Tests.Support;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NSwag.CodeGeneration.CSharp;
using NSwag.CodeGeneration.OperationNameGenerators;
using Xunit;

namespace HeapDaemon.Tests.Api;

/// <summary>The OpenAPI document against the routes the daemon maps and the answers they give.</summary>
public sealed class ApiContractSpecs(SharedDaemon shared) : IClassFixture<SharedDaemon>
{
    [Fact]
    public async Task The_document_and_its_reference_page_need_no_token_and_the_document_is_OpenAPI_3_1_with_the_bearer_scheme()
    {
        using var anonymous = shared.Anonymous();

        var document = await ApiDocument.FetchAsync(anonymous);
        var page = await anonymous.GetAsync("/api-docs");

        Assert.StartsWith("3.1", document.Root.GetProperty("openapi").GetString());
        var scheme = document.Root.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("scalar", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Every_mapped_route_is_in_the_document_with_every_answer_its_handler_declares_and_the_bearer_requirement()
    {
        using var anonymous = shared.Anonymous();
        var document = await ApiDocument.FetchAsync(anonymous);
        var routes = ApiDocument.MappedRoutes(shared.Daemon.Services);

        Assert.True(routes.Count >= 34, $"only {routes.Count} routes found under /api");
        foreach (var (method, pattern, endpoint) in routes)
        {
            var operation = document.Operation(method, pattern);
            Assert.True(operation is not null, $"{method} {pattern} is mapped but not in the OpenAPI document");
            var documented = operation.Value.GetProperty("responses").EnumerateObject().Select(r => r.Name).ToHashSet();
            foreach (var produces in endpoint.Metadata.OfType<IProducesResponseTypeMetadata>())
                Assert.True(documented.Contains(produces.StatusCode.ToString()), $"{method} {pattern} can answer {produces.StatusCode}, which the document does not list");
            Assert.True(operation.Value.TryGetProperty("security", out var security) && security.GetArrayLength() > 0, $"{method} {pattern} does not say it needs the bearer token");
            Assert.True(operation.Value.TryGetProperty("operationId", out _), $"{method} {pattern} has no operationId (name its handler)");
        }
        var paths = document.Root.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(o => $"{o.Name.ToUpperInvariant()} {p.Name}")).ToHashSet();
        Assert.Equal(paths.Where(p => p.Contains(" /api")).Order(), routes.Select(r => $"{r.Method} {r.Pattern}").Distinct().Order());
    }

    /// <summary>Walks every route, with answers good and bad; each answer is held against the document as it arrives.</summary>
    [Fact]
    public async Task Every_answer_of_every_route_is_one_the_document_lists_with_the_shape_it_describes()
    {
        var document = await ApiDocument.FetchAsync(shared.Anonymous());
        var checking = new ContractCheckingHandler(() => document);
        using var api = shared.Daemon.CreateDefaultClient(checking);
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", DaemonHost.Token);
        var bucket = shared.Bucket;
        await TestEnvironment.PutAsync(shared.S3, bucket, "walk/users.csv", "user_id,email\n1,a@example.com\n2,b@example.com\nx,bad\n");

        // Credentials
        await Expect(HttpStatusCode.Created, api.PostAsJsonAsync("/api/credentials",
            new { id = "walk", kind = "s3", bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "a", secretAccessKey = "b" }));
        await Expect(HttpStatusCode.Created, api.PostAsJsonAsync("/api/credentials",
            new { id = "walk-gone", kind = "s3", bucket, endpointUrl = "http://127.0.0.1:9", accessKeyId = "a", secretAccessKey = "b" }));
        await Expect(HttpStatusCode.Conflict, api.PostAsJsonAsync("/api/credentials",
            new { id = "walk", kind = "s3", bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "a", secretAccessKey = "b" }));
        await Expect(HttpStatusCode.BadRequest, api.PostAsJsonAsync("/api/credentials", new { id = "walk-pgp", kind = "pgp" }));
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/credentials"));
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/credentials/walk"));
        await Expect(HttpStatusCode.NotFound, api.GetAsync("/api/credentials/nope"));
        await Expect(HttpStatusCode.OK, api.PostAsync("/api/credentials/walk/test", null));
        await Expect(HttpStatusCode.OK, api.PostAsJsonAsync("/api/credentials/walk/test", new { prefix = "walk/" }));
        await Expect(HttpStatusCode.NotFound, api.PostAsync("/api/credentials/nope/test", null));
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/credentials/walk/browse?prefix=walk/"));
        await Expect(HttpStatusCode.BadRequest, api.GetAsync("/api/credentials/walk/browse?pageSize=0"));
        await Expect(HttpStatusCode.NotFound, api.GetAsync("/api/credentials/nope/browse"));
        await Expect(HttpStatusCode.BadGateway, api.GetAsync("/api/credentials/walk-gone/browse"));

        // Feeds, preview, draft
        var feed = new { source = "walk", name = "users", fields = new object[] { new { name = "user_id", type = "integer", primaryKey = true }, new { name = "email", type = "string" } }, errorThresholdPercent = 50 };
        await Expect(HttpStatusCode.Created, api.PostAsJsonAsync("/api/feeds", feed));
        await Expect(HttpStatusCode.Conflict, api.PostAsJsonAsync("/api/feeds", feed));
        await Expect(HttpStatusCode.BadRequest, api.PostAsJsonAsync("/api/feeds", new { source = "walk", name = "x", fields = Array.Empty<object>() }));
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/feeds"));
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/feeds/walk-users"));
        await Expect(HttpStatusCode.NotFound, api.GetAsync("/api/feeds/nope"));
        await Expect(HttpStatusCode.OK, api.PutAsJsonAsync("/api/feeds/walk-users", feed));
        await Expect(HttpStatusCode.NotFound, api.PutAsJsonAsync("/api/feeds/walk-nope", feed with { }));
        await Expect(HttpStatusCode.OK, api.PostAsync("/api/feeds/walk-users/activate", null));
        await Expect(HttpStatusCode.NotFound, api.PostAsync("/api/feeds/nope/activate", null));
        await Expect(HttpStatusCode.OK, api.PostAsJsonAsync("/api/preview", new { credentialId = "walk", key = "walk/users.csv" }));
        await Expect(HttpStatusCode.NotFound, api.PostAsJsonAsync("/api/preview", new { credentialId = "walk", key = "walk/none.csv" }));
        await Expect(HttpStatusCode.UnprocessableEntity, api.PostAsJsonAsync("/api/preview",
            new { credentialId = "walk", key = "walk/users.csv", settings = new { format = "parquet" } }));
        await Expect(HttpStatusCode.BadGateway, api.PostAsJsonAsync("/api/preview", new { credentialId = "walk-gone", key = "walk/users.csv" }));
        await Expect(HttpStatusCode.OK, api.PostAsJsonAsync("/api/feeds/infer", new { credentialId = "walk", key = "walk/users.csv", source = "walk", name = "draft" }));
        await Expect(HttpStatusCode.BadRequest, api.PostAsJsonAsync("/api/feeds/infer", new { credentialId = "walk", key = "", source = "walk", name = "draft" }));

        // Couriers and runs
        var courier = new { id = "walk", credentialId = "walk", files = new[] { new { key = "walk/users.csv", feedId = "walk-users" } } };
        await Expect(HttpStatusCode.Created, api.PostAsJsonAsync("/api/couriers", courier));
        await Expect(HttpStatusCode.Conflict, api.PostAsJsonAsync("/api/couriers", courier));
        await Expect(HttpStatusCode.BadRequest, api.PostAsJsonAsync("/api/couriers", new { id = "walk-2", credentialId = "nope", files = courier.files }));
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/couriers"));
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/couriers/walk"));
        await Expect(HttpStatusCode.NotFound, api.GetAsync("/api/couriers/nope"));
        await Expect(HttpStatusCode.OK, api.PutAsJsonAsync("/api/couriers/walk", courier));
        await Expect(HttpStatusCode.NotFound, api.PutAsJsonAsync("/api/couriers/nope", courier with { id = "nope" }));
        await Expect(HttpStatusCode.BadRequest, api.PostAsJsonAsync("/api/couriers/walk/runs", new { date = "1900-01-01" }));
        await Expect(HttpStatusCode.NotFound, api.PostAsync("/api/couriers/nope/runs", null));
        var accepted = await Expect(HttpStatusCode.Accepted, api.PostAsync("/api/couriers/walk/runs", null));
        var runId = accepted.GetProperty("runId").GetGuid();
        var run = await api.WaitForRunAsync(runId);
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        await Expect(HttpStatusCode.OK, api.GetAsync($"/api/runs/{runId}"));
        await Expect(HttpStatusCode.NotFound, api.GetAsync($"/api/runs/{Guid.NewGuid()}"));
        await Expect(HttpStatusCode.BadRequest, api.GetAsync("/api/runs/not-a-run"));
        await Expect(HttpStatusCode.OK, api.GetAsync($"/api/runs/{runId}/rejects"));
        await Expect(HttpStatusCode.NotFound, api.GetAsync($"/api/runs/{Guid.NewGuid()}/rejects"));
        await Expect(HttpStatusCode.Conflict, api.PostAsync($"/api/runs/{runId}/cancel", null));
        await Expect(HttpStatusCode.NotFound, api.PostAsync($"/api/runs/{Guid.NewGuid()}/cancel", null));
        await Expect(HttpStatusCode.Conflict, api.PostAsync($"/api/runs/{runId}/retry", null));
        await Expect(HttpStatusCode.NotFound, api.PostAsync($"/api/runs/{Guid.NewGuid()}/retry", null));
        await Expect(HttpStatusCode.Conflict, api.PostAsync($"/api/runs/{runId}/files/0/skip", null));
        await Expect(HttpStatusCode.NotFound, api.PostAsync($"/api/runs/{runId}/files/99/skip", null));
        await Expect(HttpStatusCode.NotFound, api.PostAsync($"/api/runs/{runId}/dumps/1/skip", null));
        await Expect(HttpStatusCode.NotFound, api.PostAsync($"/api/runs/{Guid.NewGuid()}/dumps/1/skip", null));
        await Expect(HttpStatusCode.BadRequest, api.PostAsync($"/api/runs/{runId}/dumps/first/skip", null));
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/couriers/walk/runs"));
        var history = await Expect(HttpStatusCode.OK, api.GetAsync("/api/runs?courier=walk&status=succeeded&pageSize=1"));
        Assert.Equal(runId, history.GetProperty("runs")[0].GetProperty("id").GetGuid());
        await Expect(HttpStatusCode.BadRequest, api.GetAsync("/api/runs?before=not-a-page"));
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/domain-tables"));
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/domain-tables/Walk:Users/rows?limit=5"));
        await Expect(HttpStatusCode.NotFound, api.GetAsync("/api/domain-tables/Walk:Nope/rows"));

        // Stitch: the walk's users table has an email (tagged by its name), so it is a profile input.
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/stitch/settings"));
        await Expect(HttpStatusCode.OK, api.PostAsJsonAsync("/api/stitch/settings", new { runAfterLoads = false }));
        await Expect(HttpStatusCode.BadRequest, api.PostAsJsonAsync("/api/stitch/settings", new { matchThreshold = 2 }));
        var stitchId = (await Expect(HttpStatusCode.Accepted, api.PostAsJsonAsync("/api/stitch/runs", new { full = true }))).GetProperty("runId").GetGuid();
        Assert.Equal("succeeded", (await api.WaitForStitchAsync(stitchId)).GetProperty("status").GetString());
        var incrementalId = (await Expect(HttpStatusCode.Accepted, api.PostAsync("/api/stitch/runs", null))).GetProperty("runId").GetGuid();
        Assert.Equal("succeeded", (await api.WaitForStitchAsync(incrementalId)).GetProperty("status").GetString());
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/stitch/runs"));
        await Expect(HttpStatusCode.OK, api.GetAsync($"/api/stitch/runs/{stitchId}"));
        await Expect(HttpStatusCode.NotFound, api.GetAsync($"/api/stitch/runs/{Guid.NewGuid()}"));
        await Expect(HttpStatusCode.BadRequest, api.GetAsync("/api/stitch/runs/not-a-run"));
        await Expect(HttpStatusCode.Conflict, api.PostAsync($"/api/stitch/runs/{stitchId}/cancel", null));
        await Expect(HttpStatusCode.NotFound, api.PostAsync($"/api/stitch/runs/{Guid.NewGuid()}/cancel", null));
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/stitch/records/walk/users/1"));
        await Expect(HttpStatusCode.NotFound, api.GetAsync("/api/stitch/records/walk/users/404"));
        await Expect(HttpStatusCode.Conflict, api.DeleteAsync("/api/credentials/walk"));
        await Expect(HttpStatusCode.Conflict, api.DeleteAsync("/api/feeds/walk-users"));
        await Expect(HttpStatusCode.NoContent, api.DeleteAsync("/api/couriers/walk"));
        await Expect(HttpStatusCode.NotFound, api.DeleteAsync("/api/couriers/walk"));
        await Expect(HttpStatusCode.OK, api.DeleteAsync("/api/feeds/walk-users?dropTable=true"));
        await Expect(HttpStatusCode.NotFound, api.DeleteAsync("/api/feeds/walk-users"));
        await Expect(HttpStatusCode.NoContent, api.DeleteAsync("/api/credentials/walk-gone"));
        await Expect(HttpStatusCode.NotFound, api.DeleteAsync("/api/credentials/walk-gone"));

        // Webhooks: this one hears only a courier that stops, which the walk does not make happen.
        var webhook = new { id = "walk", url = "http://127.0.0.1:9/walk", events = new[] { "courierStopped" } };
        await Expect(HttpStatusCode.Created, api.PostAsJsonAsync("/api/notifications", webhook));
        await Expect(HttpStatusCode.Conflict, api.PostAsJsonAsync("/api/notifications", webhook));
        await Expect(HttpStatusCode.BadRequest, api.PostAsJsonAsync("/api/notifications", new { url = "http://169.254.169.254/", events = new[] { "runFailed" } }));
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/notifications"));
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/notifications/walk"));
        await Expect(HttpStatusCode.NotFound, api.GetAsync("/api/notifications/nope"));
        await Expect(HttpStatusCode.NoContent, api.DeleteAsync("/api/notifications/walk"));
        await Expect(HttpStatusCode.NotFound, api.DeleteAsync("/api/notifications/walk"));

        // The cluster: this daemon alone, a cluster of one.
        await Expect(HttpStatusCode.OK, api.GetAsync("/api/cluster"));

        // A Heap source needs manifests; the bucket has none.
        await Expect(HttpStatusCode.BadRequest, api.PostAsJsonAsync("/api/sources/heap", new { credentialId = "walk", id = "walk-heap", prefix = "walk/" }));

        var walked = checking.Seen.Select(s => string.Join(' ', s.Split(' ')[..2])).ToHashSet();
        var unwalked = ApiDocument.MappedRoutes(shared.Daemon.Services).Select(r => $"{r.Method} {r.Pattern}").Where(r => !walked.Contains(r)).ToList();
        Assert.True(unwalked.Count == 0, "routes the walk did not reach: " + string.Join(", ", unwalked));
    }

    /// <summary>A client NSwag generates from the live document compiles, and calls the daemon.</summary>
    [Fact]
    public async Task A_CSharp_client_generated_from_the_document_compiles_and_lists_the_feeds()
    {
        using var anonymous = shared.Anonymous();
        var json = await anonymous.GetStringAsync("/openapi/v1.json");
        var openApi = await NSwag.OpenApiDocument.FromJsonAsync(json);
        var settings = new CSharpClientGeneratorSettings
        {
            ClassName = "HeapDaemonClient",
            UseBaseUrl = false,
            GenerateClientInterfaces = true,
            OperationNameGenerator = new SingleClientFromOperationIdOperationNameGenerator(),
        };
        settings.CSharpGeneratorSettings.Namespace = "HeapDaemon.Generated";
        var code = new CSharpClientGenerator(openApi, settings).GenerateFile();

        // NSwag's C# clients serialize with Newtonsoft.Json, which NSwag itself brings.
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Append(typeof(Newtonsoft.Json.JsonConvert).Assembly.Location)
            .Select(path => MetadataReference.CreateFromFile(path));
        var compilation = CSharpCompilation.Create("HeapDaemon.Generated", [CSharpSyntaxTree.ParseText(code)], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var assembly = new MemoryStream();
        var emitted = compilation.Emit(assembly);

        var errors = emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        if (!emitted.Success) await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "heapd-generated-client.cs"), code);
        Assert.True(emitted.Success, "the generated client does not compile (its code: $TMPDIR/heapd-generated-client.cs):\n" + string.Join("\n", errors.Take(20)));
        foreach (var operation in new[] { "AddCredentialAsync", "ListFeedsAsync", "StartRunAsync", "GetRunAsync", "PreviewFileAsync", "ListDomainTablesAsync" })
            Assert.Contains($"{operation}(", code);

        var client = Assembly.Load(assembly.ToArray()).GetType("HeapDaemon.Generated.HeapDaemonClient")!;
        using var http = shared.Admin();
        var instance = Activator.CreateInstance(client, http)!;
        var list = client.GetMethod("ListFeedsAsync", Type.EmptyTypes)!.Invoke(instance, null)!;
        await (Task)list;
        Assert.NotNull(list.GetType().GetProperty("Result")!.GetValue(list));
    }

    private static async Task<JsonElement> Expect(HttpStatusCode status, Task<HttpResponseMessage> call)
    {
        var response = await call;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: expected {(int)status}, got {(int)response.StatusCode} {body}");
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }
}
