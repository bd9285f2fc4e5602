// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using System.Net.Http.Headers;

namespace Multimodal.Backends.Remote.Internal;

/// <summary>Decides whether and how long to wait before another attempt.</summary>
internal static class RetryTiming
{
    /// <summary>Tells whether a status is worth another attempt: 429 (rate limited or queue full), 502, 503 (overloaded or still loading) and 504.</summary>
    /// <param name="status">The status.</param>
    /// <returns>Whether to retry.</returns>
    public static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    /// <summary>Tells whether a transport failure happened before any response arrived, so sending again cannot duplicate work the caller has seen.</summary>
    /// <param name="exception">The failure.</param>
    /// <returns>Whether to retry.</returns>
    public static bool IsConnectionFailure(HttpRequestException exception) =>
        exception.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.ResponseEnded;

    /// <summary>Computes the wait before the next attempt: the server's <c>Retry-After</c> when it sent one, otherwise exponential backoff with jitter; either way at most <paramref name="maxBackoff"/>.</summary>
    /// <param name="retry">The retry about to happen: 0 for the first.</param>
    /// <param name="initialBackoff">The base wait.</param>
    /// <param name="maxBackoff">The cap.</param>
    /// <param name="retryAfter">The server's <c>Retry-After</c>, or <see langword="null"/>.</param>
    /// <param name="now">The current time, for a <c>Retry-After</c> date.</param>
    /// <param name="random">The jitter source: a number in [0, 1).</param>
    /// <returns>The wait.</returns>
    public static TimeSpan Delay(int retry, TimeSpan initialBackoff, TimeSpan maxBackoff, RetryConditionHeaderValue? retryAfter, DateTimeOffset now, double random)
    {
        if (RetryAfter(retryAfter, now) is { } serverDelay)
        {
            return serverDelay > maxBackoff ? maxBackoff : serverDelay;
        }

        // Exponential growth, then "equal jitter": half the step is fixed, half random, so that clients that failed
        // together do not retry together, while each still waits at least half its step.
        var step = initialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(retry, 30));
        step = Math.Min(step, maxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((step / 2) + (random * step / 2));
    }

    /// <summary>Reads <c>Retry-After</c> as a wait: seconds, or an HTTP date (a date in the past means no wait).</summary>
    /// <param name="header">The header, or <see langword="null"/>.</param>
    /// <param name="now">The current time.</param>
    /// <returns>The wait, or <see langword="null"/> when there is no header.</returns>
    public static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now)
    {
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - now;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }
}
