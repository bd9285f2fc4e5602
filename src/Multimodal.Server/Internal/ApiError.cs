// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Multimodal.Server.Internal;

/// <summary>A failure with its HTTP status and OpenAI error body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
/// <param name="statusCode">The HTTP status.</param>
/// <param name="message">What is wrong and what to do; never a stack trace.</param>
/// <param name="type">OpenAI's error type (<c>invalid_request_error</c>, <c>not_found_error</c>, …).</param>
/// <param name="param">The request member at fault, or <see langword="null"/>.</param>
/// <param name="code">A machine-readable code, or <see langword="null"/>.</param>
internal sealed class ApiError(int statusCode, string message, string type, string? param = null, string? code = null) : Exception(message)
{
    public const string InvalidRequestType = "invalid_request_error";

    public int StatusCode { get; } = statusCode;

    public string Type { get; } = type;

    public string? Param { get; } = param;

    public string? Code { get; } = code;

    /// <summary>Seconds a 429 suggests waiting, or <see langword="null"/>.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiError BadRequest(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, message, InvalidRequestType, param, code);

    public static ApiError ModelNotFound(string model) =>
        new(StatusCodes.Status404NotFound, $"The model '{model}' does not exist. GET /v1/models lists the models this server has.", InvalidRequestType, "model", "model_not_found");

    public static ApiError BodyTooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, $"The request body is larger than this server accepts ({limit} bytes; MaxRequestBodyBytes, multimodal serve --max-body-mb). Send smaller or fewer media.", InvalidRequestType, null, "request_too_large");

    public static ApiError Internal(string traceId) =>
        new(StatusCodes.Status500InternalServerError, $"The server had an error while processing the request (trace id {traceId}). The server's log has the details.", "server_error");

    /// <summary>Writes <c>{"error": {...}}</c> with the writer's current options.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", Message);
        writer.WriteString("type", Type);
        WriteStringOrNull(writer, "param", Param);
        WriteStringOrNull(writer, "code", Code);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Writes the error as the whole JSON response, with its status and headers.</summary>
    public async Task WriteResponseAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCode;
        response.ContentType = Json.ContentType;
        if (RetryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        using (var writer = new Utf8JsonWriter(response.BodyWriter, Json.WriterOptions))
        {
            WriteTo(writer);
        }

        await response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void WriteStringOrNull(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }
}

/// <summary>JSON settings shared by every response.</summary>
internal static class Json
{
    public const string ContentType = "application/json; charset=utf-8";

    /// <summary>Non-ASCII text is written as UTF-8 rather than <c>\uXXXX</c> escapes: these are API responses, never embedded in HTML.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false };

    /// <summary>Writes a JSON document built by <paramref name="write"/> as the whole response.</summary>
    public static async Task WriteResponseAsync(HttpResponse response, Action<Utf8JsonWriter> write, CancellationToken cancellationToken, int statusCode = StatusCodes.Status200OK)
    {
        response.StatusCode = statusCode;
        response.ContentType = ContentType;
        using (var writer = new Utf8JsonWriter(response.BodyWriter, WriterOptions))
        {
            write(writer);
        }

        await response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
