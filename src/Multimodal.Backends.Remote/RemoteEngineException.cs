// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;

namespace Multimodal.Backends.Remote;

/// <summary>The remote engine refused or failed a request: an HTTP error status, an error event in the middle of a stream, a reply that is not valid OpenAI JSON, or an engine that could not be reached.</summary>
/// <remarks>
/// The message says what happened, quotes the engine's own message and, where there is one, what to change.
/// The properties carry the parts of the OpenAI error object (<c>{"error": {"message", "type", "code", "param"}}</c>),
/// so callers can react to, for example, <see cref="ErrorCode"/> <c>context_length_exceeded</c> without parsing text.
/// </remarks>
public sealed class RemoteEngineException : MultimodalException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What failed, the engine's message and what to do.</param>
    /// <param name="statusCode">The HTTP status, or the status an error event carried; <see langword="null"/> when there was none.</param>
    /// <param name="serverMessage">The engine's own error message, when it sent one.</param>
    /// <param name="errorType">The OpenAI error <c>type</c>.</param>
    /// <param name="errorCode">The OpenAI error <c>code</c> (numbers as text).</param>
    /// <param name="errorParam">The OpenAI error <c>param</c>.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    internal RemoteEngineException(
        string message,
        HttpStatusCode? statusCode = null,
        string? serverMessage = null,
        string? errorType = null,
        string? errorCode = null,
        string? errorParam = null,
        Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        ServerMessage = serverMessage;
        ErrorType = errorType;
        ErrorCode = errorCode;
        ErrorParam = errorParam;
    }

    /// <summary>Gets the HTTP status of the failed response (or the one an error event in a stream carried); <see langword="null"/> when the engine could not be reached or named none.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>Gets the engine's own error message, when it sent one.</summary>
    public string? ServerMessage { get; }

    /// <summary>Gets the OpenAI error <c>type</c> (for example <c>invalid_request_error</c> or vLLM's <c>BadRequestError</c>).</summary>
    public string? ErrorType { get; }

    /// <summary>Gets the OpenAI error <c>code</c> as sent (for example <c>context_length_exceeded</c>; a numeric code as its digits).</summary>
    public string? ErrorCode { get; }

    /// <summary>Gets the OpenAI error <c>param</c>: the request field at fault, when the engine named one.</summary>
    public string? ErrorParam { get; }

    /// <summary>Gets whether the engine said the prompt does not fit in the model's context: the code <c>context_length_exceeded</c>, or a message about the maximum context length (vLLM's wording).</summary>
    public bool IsContextLengthExceeded =>
        string.Equals(ErrorCode, "context_length_exceeded", StringComparison.OrdinalIgnoreCase)
        || (ServerMessage?.Contains("maximum context length", StringComparison.OrdinalIgnoreCase) ?? false);
}
