using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;

namespace HeapDaemon.Actors.Credentials;

/// <summary>
/// Temporary credentials from STS AssumeRole, fetched on first use and fetched again a margin before they expire, so
/// a request never signs with credentials about to lapse. One instance is shared by every client of a credential,
/// so runs reuse one role session instead of calling STS per run.
/// </summary>
/// <remarks>
/// Not the SDK's <c>AssumeRoleAWSCredentials</c>: that one cannot be pointed at an STS endpoint other than AWS's
/// (S3-compatible stores and tests), and its clock cannot be set, so refresh could not be tested without waiting.
/// </remarks>
public sealed class AssumedRoleCredentials(
    IAmazonSecurityTokenService sts,
    string roleArn,
    string externalId,
    string sessionName,
    TimeSpan duration,
    TimeSpan refreshBefore,
    TimeProvider clock) : AWSCredentials
{
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Session? _session;

    public string RoleArn => roleArn;

    /// <summary>When the credentials in hand expire; null before the first AssumeRole.</summary>
    public override DateTime? Expiration => _session?.Expires.UtcDateTime;

    // The SDK's synchronous path; the daemon only makes async calls, so this is here to satisfy the base class.
    public override ImmutableCredentials GetCredentials() => GetCredentialsAsync().GetAwaiter().GetResult();

    public override async Task<ImmutableCredentials> GetCredentialsAsync()
    {
        if (Fresh(_session) is { } fresh) return fresh;
        await _refresh.WaitAsync();
        try
        {
            // Another caller may have refreshed while this one waited.
            if (Fresh(_session) is { } refreshed) return refreshed;
            _session = await AssumeAsync();
            return _session.Credentials;
        }
        finally
        {
            _refresh.Release();
        }
    }

    private ImmutableCredentials? Fresh(Session? session) =>
        session is not null && clock.GetUtcNow() < session.Expires - refreshBefore ? session.Credentials : null;

    private async Task<Session> AssumeAsync()
    {
        AssumeRoleResponse response;
        try
        {
            response = await sts.AssumeRoleAsync(new AssumeRoleRequest
            {
                RoleArn = roleArn,
                ExternalId = externalId,
                RoleSessionName = sessionName,
                DurationSeconds = (int)duration.TotalSeconds,
            });
        }
        catch (AmazonSecurityTokenServiceException e)
        {
            throw new RoleNotAssumedException(roleArn, e);
        }
        var c = response.Credentials;
        var expires = c.Expiration is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : clock.GetUtcNow() + duration;
        return new Session(new ImmutableCredentials(c.AccessKeyId, c.SecretAccessKey, c.SessionToken), expires);
    }

    private sealed record Session(ImmutableCredentials Credentials, DateTimeOffset Expires);
}

/// <summary>STS refused to let the daemon assume the role; carries STS's error code (usually AccessDenied).</summary>
public sealed class RoleNotAssumedException(string roleArn, AmazonServiceException cause)
    : AmazonServiceException($"the role {roleArn} cannot be assumed ({cause.ErrorCode}): {cause.Message}", cause,
        cause.ErrorType, cause.ErrorCode, cause.RequestId, cause.StatusCode)
{
    public string RoleArn => roleArn;
}
