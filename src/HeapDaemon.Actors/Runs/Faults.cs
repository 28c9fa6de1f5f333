using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using HeapDaemon.Actors.Endpoints;
using Npgsql;

namespace HeapDaemon.Actors.Runs;

/// <summary>
/// Which failures are worth another attempt: the ones that say something about the moment (a connection reset, a
/// stalled read, throttling, a 5xx, PostgreSQL restarting or a serialization conflict), not about the request (bad
/// credentials, no such key, a malformed file, an unreachable endpoint that is most likely misconfigured).
/// </summary>
public static class Faults
{
    private static readonly HashSet<string> TransientS3Codes = new(StringComparer.Ordinal)
    {
        "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError", "ServiceUnavailable",
    };

    public static bool IsTransient(Exception e) => e switch
    {
        AggregateException { InnerExceptions.Count: 1 } wrapped => IsTransient(wrapped.InnerException!),
        OperationCanceledException => false,
        EndpointBlockedException or { InnerException: EndpointBlockedException } => false,
        PostgresException pg => pg.IsTransient || pg.SqlState is "40001" or "40P01" or "57P01" or "57P02" or "57P03",
        NpgsqlException npgsql => npgsql.IsTransient,
        AmazonServiceException { StatusCode: var status, ErrorCode: var code } s3 when (int)status != 0 =>
            (int)status >= 500 || (code is not null && TransientS3Codes.Contains(code)) || status == HttpStatusCode.TooManyRequests,
        AmazonServiceException { InnerException: { } inner } => IsTransient(inner),
        HttpRequestException { InnerException: SocketException socket } => IsTransientSocket(socket),
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } => false,
        HttpRequestException => true,
        SocketException socket => IsTransientSocket(socket),
        IOException or TimeoutException => true,
        _ => false,
    };

    private static bool IsTransientSocket(SocketException socket) =>
        socket.SocketErrorCode is not (SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.HostUnreachable
            or SocketError.NetworkUnreachable or SocketError.AddressNotAvailable);
}
