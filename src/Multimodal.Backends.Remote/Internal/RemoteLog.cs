// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.Logging;

namespace Multimodal.Backends.Remote.Internal;

/// <summary>The remote client's log events (source-generated, allocation-free when disabled).</summary>
internal static partial class RemoteLog
{
    [LoggerMessage(101, LogLevel.Debug, "Sending a {Kind} request for model '{Model}' to {Endpoint}: {Bytes} bytes, {Images} image(s).")]
    public static partial void RequestSending(ILogger logger, string kind, string model, Uri endpoint, int bytes, int images);

    [LoggerMessage(102, LogLevel.Warning, "Attempt {Attempt} to {Endpoint} failed ({Reason}); retrying in {DelayMs:F0} ms.")]
    public static partial void RetryScheduled(ILogger logger, int attempt, Uri endpoint, string reason, double delayMs);

    [LoggerMessage(103, LogLevel.Warning, "The engine at {Endpoint} refused the request with HTTP {Status}: {ServerMessage}")]
    public static partial void RequestRefused(ILogger logger, Uri endpoint, int status, string? serverMessage);

    [LoggerMessage(104, LogLevel.Warning, "The request to {Endpoint} timed out after {TimeoutMs:F0} ms.")]
    public static partial void RequestTimedOut(ILogger logger, Uri endpoint, double timeoutMs);
}
