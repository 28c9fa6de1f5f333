using HeapDaemon.Admin;
using HeapDaemon.Configuration;

// First, before Parquet reads allocate large native blocks (see GlibcMalloc).
GlibcMalloc.FixMmapThreshold();

// The content root is the build output, where the repository's appsettings.json is copied, wherever we start from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// Every setting can be overridden as HEAPD__Section__Key, besides the plain Section__Key ASP.NET reads anyway.
builder.Configuration.AddEnvironmentVariables("HEAPD__");
builder.AddHeapDaemon();

var app = builder.Build();
app.MapOperationsEndpoints();
app.MapAdminApi();
app.Run();

/// <summary>Visible to the HTTP tests' WebApplicationFactory.</summary>
public partial class Program;
