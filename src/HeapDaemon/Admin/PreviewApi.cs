using System.Collections.Immutable;
using HeapDaemon.Access;
using HeapDaemon.Actors.Preview;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

/// <param name="PrimaryKey">The key's incoming field names; guessed (and said so) when left out.</param>
public sealed record FeedInferRequest(
    string CredentialId,
    string Key,
    string Source,
    string Name,
    string? PgpCredentialId = null,
    FileSettingsOverrides? Settings = null,
    ImmutableArray<string>? PrimaryKey = null,
    string? LastUpdatedField = null);

/// <summary>
/// The file browser's next step: look at a file, and draft a feed from it. Both read a customer's object, so both are
/// for admins.
/// </summary>
public static class PreviewApi
{
    public static void MapPreviewApi(this RouteGroupBuilder api)
    {
        api.MapPost("/preview", PreviewAsync).WithName("PreviewFile").WithTags("Preview").ForAdmins()
            .WithSummary("A file's inferred settings (overridable), columns with types, first rows and first bytes");
        api.MapPost("/feeds/infer", InferFeedAsync).WithName("InferFeed").WithTags("Feeds").ForAdmins()
            .WithSummary("A draft feed (not saved) from a sample file");
    }

    public static async Task<Results<Ok<FilePreview>, InvalidProblem, NotFoundProblem, TooLargeProblem, UnprocessableProblem, UpstreamProblem>> PreviewAsync(
        PreviewRequest body, FilePreviewer previewer, CancellationToken ct)
    {
        if (Missing(body.CredentialId, body.Key) is { } missing) return missing;
        try
        {
            return TypedResults.Ok(await previewer.PreviewAsync(body, ct));
        }
        catch (PreviewException e)
        {
            return Problem<FilePreview>(e);
        }
    }

    public static async Task<Results<Ok<FeedDraftView>, InvalidProblem, NotFoundProblem, TooLargeProblem, UnprocessableProblem, UpstreamProblem>> InferFeedAsync(
        FeedInferRequest body, FilePreviewer previewer, CancellationToken ct)
    {
        if (Missing(body.CredentialId, body.Key) is { } missing) return missing;
        try
        {
            var preview = await previewer.PreviewAsync(new PreviewRequest(body.CredentialId, body.Key, body.PgpCredentialId, body.Settings), ct);
            return TypedResults.Ok(FeedDraft.Build(preview, body.Source, body.Name, body.PrimaryKey, body.LastUpdatedField));
        }
        catch (PreviewException e)
        {
            return Problem<FeedDraftView>(e);
        }
    }

    private static InvalidProblem? Missing(string? credentialId, string? key) =>
        string.IsNullOrWhiteSpace(credentialId) || string.IsNullOrWhiteSpace(key) ? new InvalidProblem("credentialId and key are required") : null;

    private static Results<Ok<T>, InvalidProblem, NotFoundProblem, TooLargeProblem, UnprocessableProblem, UpstreamProblem> Problem<T>(PreviewException e) => e.Status switch
    {
        StatusCodes.Status400BadRequest => new InvalidProblem(e.Message),
        StatusCodes.Status404NotFound => new NotFoundProblem(e.Message),
        StatusCodes.Status413PayloadTooLarge => new TooLargeProblem(e.Message),
        StatusCodes.Status422UnprocessableEntity => new UnprocessableProblem("The file cannot be previewed", e.Message),
        _ => new UpstreamProblem("The file cannot be previewed", e.Message),
    };
}
