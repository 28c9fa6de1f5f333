using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using HeapDaemon.Actors.Endpoints;
using Npgsql;

namespace HeapDaemon.Actors.Retries;

/// <summary>What another attempt of a run can expect of a failure; ordered, so the most hopeful of several is the largest.</summary>
public enum FaultKind
{
    /// <summary>About the request (bad credentials, no such key, a malformed file): another attempt fails the same way.</summary>
    Lasting,

    /// <summary>About the moment (a reset, a stall, throttling, a 5xx, PostgreSQL restarting): another attempt may pass.</summary>
    Passing,

    /// <summary>
    /// The S3 endpoint refused the connection. During a run that is most often a restart (of MinIO, of a proxy), so it
    /// passes too; the run says for how long it was refused when it gives up.
    /// </summary>
    Refused,
}

/// <summary>
/// Which failures are worth another attempt of a run: the ones that say something about the moment (a connection
/// reset or refused, a stalled read, throttling, a 5xx, PostgreSQL restarting or a serialization conflict), not about
/// the request (bad credentials, no such key, a malformed file, a host name that does not resolve). Interactive calls
/// (the connection test, the browser) do not ask: they answer at once with the cause.
/// </summary>
public static class Faults
{
    private static readonly HashSet<string> TransientS3Codes = new(StringComparer.Ordinal)
    {
        "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError", "ServiceUnavailable",
    };

    public static bool IsTransient(Exception e) => Classify(e) != FaultKind.Lasting;

    public static FaultKind Classify(Exception e) => e switch
    {
        AggregateException { InnerExceptions.Count: 1 } wrapped => Classify(wrapped.InnerException!),
        OperationCanceledException => FaultKind.Lasting,
        EndpointBlockedException or { InnerException: EndpointBlockedException } => FaultKind.Lasting,
        PostgresException pg => Passing(pg.IsTransient || pg.SqlState is "40001" or "40P01" or "57P01" or "57P02" or "57P03"),
        NpgsqlException npgsql => Passing(npgsql.IsTransient),
        AmazonServiceException { StatusCode: var status, ErrorCode: var code } when (int)status != 0 =>
            Passing((int)status >= 500 || (code is not null && TransientS3Codes.Contains(code)) || status == HttpStatusCode.TooManyRequests),
        AmazonServiceException { InnerException: { } inner } => Classify(inner),
        HttpRequestException { InnerException: SocketException socket } => Of(socket),
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } => FaultKind.Lasting,
        HttpRequestException => FaultKind.Passing,
        SocketException socket => Of(socket),
        // A body that broke mid-object and could not be reopened: whatever stopped the reopening decides.
        IOException { InnerException: { } inner } when Classify(inner) == FaultKind.Refused => FaultKind.Refused,
        IOException or TimeoutException => FaultKind.Passing,
        _ => FaultKind.Lasting,
    };

    private static FaultKind Passing(bool transient) => transient ? FaultKind.Passing : FaultKind.Lasting;

    private static FaultKind Of(SocketException socket) => socket.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => FaultKind.Refused,
        SocketError.HostNotFound or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.AddressNotAvailable => FaultKind.Lasting,
        _ => FaultKind.Passing,
    };
}
