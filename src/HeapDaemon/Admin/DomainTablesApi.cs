using HeapDaemon.Access;
using HeapDaemon.Actors.Browsing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

public static class DomainTablesApi
{
    public static void MapDomainTablesApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/domain-tables").WithTags("Domain tables");
        group.MapGet("/", ListAsync).WithName("ListDomainTables").ForViewers().WithSummary("The domain tables of active feeds, with row counts (estimated above 10,000 rows) and last load");
        group.MapGet("/{name}/rows", RowsAsync).WithName("GetDomainTableRows").ForViewers().WithSummary("A page of a domain table's rows, ordered by _pk; pass the page's next as after for the next one");
    }

    public static async Task<Ok<IReadOnlyList<DomainTableSummary>>> ListAsync(DomainTableBrowser tables, CancellationToken ct) =>
        TypedResults.Ok(await tables.ListAsync(ct));

    /// <param name="name"><c>Heap:Users</c> or <c>heap.users</c>.</param>
    /// <param name="limit">1-1000, default 100.</param>
    /// <param name="after">The <c>next</c> of the page before: rows whose <c>_pk</c> sorts after it.</param>
    public static async Task<Results<Ok<DomainTableRows>, NotFoundProblem>> RowsAsync(
        string name, int? limit, string? after, DomainTableBrowser tables, CancellationToken ct) =>
        await tables.RowsAsync(name, limit ?? 100, ct, after) is { } rows
            ? TypedResults.Ok(rows)
            : new NotFoundProblem($"no active domain table '{name}' (use a name like Heap:Users or heap.users)");
}
