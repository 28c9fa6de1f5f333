using HeapDaemon.Admin;
using HeapDaemon.Configuration;

// First, before Parquet reads allocate large native blocks (see GlibcMalloc).
GlibcMalloc.FixMmapThreshold();

// The content root is the build output, where the repository's appsettings.json is copied, wherever we start from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// Every setting can be overridden as HEAPD__Section__Key, besides the plain Section__Key ASP.NET reads anyway.
builder.Configuration.AddEnvironmentVariables("HEAPD__");
WebApplication app;
try
{
    builder.AddHeapDaemon();
    app = builder.Build();
}
catch (StartFailure e)
{
    return StartFailure.Report(e.Message);
}

app.UseExceptionHandler();
// Every error answer carries a ProblemDetails: exceptions through AdminProblems, and answers that have a status but no
// body (a method the route does not take) through the status-code pages.
app.UseStatusCodePages();
app.UseKeptRequestBodies();
app.UseAuthentication();
app.UseAuthorization();
app.MapOperationsEndpoints();
app.MapAdminApi();
try
{
    await app.StartAsync();
}
catch (Exception e) when (StartFailure.Describe(e) is { } reason)
{
    return StartFailure.Report(reason);
}
await app.WaitForShutdownAsync();
return 0;

/// <summary>Visible to the HTTP tests' WebApplicationFactory.</summary>
public partial class Program;
