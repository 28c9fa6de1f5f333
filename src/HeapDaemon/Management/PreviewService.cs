using System.Collections.Immutable;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Preview;

namespace HeapDaemon.Management;

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

/// <summary>The file browser's next step: look at a file, draft a feed from it, or hold it against an existing feed.</summary>
public sealed class PreviewService(FilePreviewer previewer, FeedCatalog feeds)
{
    public async Task<Outcome<FilePreview>> PreviewAsync(PreviewRequest body, CancellationToken ct)
    {
        if (Missing(body.CredentialId, body.Key) is { } missing) return missing;
        try
        {
            return await previewer.PreviewAsync(body, ct);
        }
        catch (PreviewException e)
        {
            return Failed(e);
        }
    }

    public async Task<Outcome<FeedDraftView>> InferFeedAsync(FeedInferRequest body, CancellationToken ct)
    {
        if (Missing(body.CredentialId, body.Key) is { } missing) return missing;
        try
        {
            var preview = await previewer.PreviewAsync(new PreviewRequest(body.CredentialId, body.Key, body.PgpCredentialId, body.Settings), ct);
            return FeedDraft.Build(preview, body.Source, body.Name, body.PrimaryKey, body.LastUpdatedField);
        }
        catch (PreviewException e)
        {
            return Failed(e);
        }
    }

    /// <summary>Whether a file fits an existing feed, by the check a run makes on its columns.</summary>
    public async Task<Outcome<FeedFit>> FitAsync(string feedId, PreviewRequest file, CancellationToken ct)
    {
        if (await feeds.GetAsync(feedId, ct) is not { } feed) return Failure.NotFound($"no feed '{feedId}'");
        var preview = await PreviewAsync(file, ct);
        return preview.Failure is { } failure ? failure : FeedFit.Of(feed.Definition, preview.Value!);
    }

    private static Failure? Missing(string? credentialId, string? key) =>
        string.IsNullOrWhiteSpace(credentialId) || string.IsNullOrWhiteSpace(key) ? Failure.Invalid("credentialId and key are required") : null;

    private static Failure Failed(PreviewException e) => e.Status switch
    {
        StatusCodes.Status400BadRequest => Failure.Invalid(e.Message),
        StatusCodes.Status404NotFound => Failure.NotFound(e.Message),
        StatusCodes.Status413PayloadTooLarge => new Failure(FailureKind.TooLarge, [e.Message], "The file cannot be previewed"),
        StatusCodes.Status422UnprocessableEntity => new Failure(FailureKind.Unprocessable, [e.Message], "The file cannot be previewed"),
        _ => new Failure(FailureKind.Upstream, [e.Message], "The file cannot be previewed"),
    };
}
