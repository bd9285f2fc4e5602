// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Multimodal.Backends.Remote.Internal;

/// <summary>What a stream chunk said, besides the update itself.</summary>
/// <param name="Update">The update (text, role, ids, finish reason).</param>
/// <param name="Usage">The chunk's usage, when it had one.</param>
/// <param name="HasChoices">Whether the chunk had any choice; the final usage-only chunk has none.</param>
internal readonly record struct StreamChunk(ChatResponseUpdate Update, UsageDetails? Usage, bool HasChoices);

/// <summary>An OpenAI error object: <c>{"error": {"message", "type", "code", "param"}}</c>, or the flat form older vLLM releases send.</summary>
/// <param name="Message">The message.</param>
/// <param name="Type">The type.</param>
/// <param name="Code">The code (numbers as text).</param>
/// <param name="Param">The parameter at fault.</param>
internal sealed record EngineError(string? Message, string? Type, string? Code, string? Param);

/// <summary>Reads OpenAI chat completion replies: whole completions, stream chunks and error bodies.</summary>
internal static class ResponseReader
{
    /// <summary>Parses a stream chunk.</summary>
    /// <param name="json">The event data.</param>
    /// <param name="endpoint">The engine, for messages.</param>
    /// <returns>The chunk.</returns>
    /// <exception cref="RemoteEngineException">The chunk is an error event, or not a chat completion chunk.</exception>
    public static StreamChunk ParseChunk(ReadOnlyMemory<byte> json, Uri endpoint)
    {
        using var document = Parse(json, endpoint, "stream event");
        var root = document.RootElement;
        if (ErrorOf(root) is { } error)
        {
            var status = ParseStatus(error.Code);
            throw new RemoteEngineException(
                $"The engine at {endpoint} reported an error in the middle of the stream{(status is { } s ? $" (HTTP {(int)s})" : string.Empty)}: {error.Message ?? "(no message)"}{Details(error)}",
                status, error.Message, error.Type, error.Code, error.Param);
        }

        var update = new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            ResponseId = String(root, "id"),
            ModelId = String(root, "model"),
            CreatedAt = Created(root),
            RawRepresentation = root.Clone(),
        };
        update.MessageId = update.ResponseId;

        var hasChoices = false;
        if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
        {
            hasChoices = true;
            var choice = choices[0];
            if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
            {
                if (String(delta, "role") is { Length: > 0 } role)
                {
                    update.Role = new ChatRole(role);
                }

                AddText(delta, update.Contents);
            }

            update.FinishReason = FinishReason(String(choice, "finish_reason"));
        }

        return new StreamChunk(update, Usage(root), hasChoices);
    }

    /// <summary>Parses a whole (non-streaming) completion.</summary>
    /// <param name="json">The response body.</param>
    /// <param name="endpoint">The engine, for messages.</param>
    /// <returns>The response.</returns>
    /// <exception cref="RemoteEngineException">The body is an error, or not a chat completion.</exception>
    public static ChatResponse ParseCompletion(ReadOnlyMemory<byte> json, Uri endpoint)
    {
        using var document = Parse(json, endpoint, "reply");
        var root = document.RootElement;
        if (ErrorOf(root) is { } error)
        {
            var status = ParseStatus(error.Code);
            throw new RemoteEngineException(
                $"The engine at {endpoint} answered with an error: {error.Message ?? "(no message)"}{Details(error)}",
                status, error.Message, error.Type, error.Code, error.Param);
        }

        if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
        {
            throw new RemoteEngineException($"The engine at {endpoint} sent a reply without choices; it does not look like an OpenAI chat completion.");
        }

        var choice = choices[0];
        var contents = new List<AIContent>();
        var role = ChatRole.Assistant;
        if (choice.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
        {
            if (String(message, "role") is { Length: > 0 } r)
            {
                role = new ChatRole(r);
            }

            AddText(message, contents);
        }

        var id = String(root, "id");
        var created = Created(root);
        return new ChatResponse(new ChatMessage(role, contents) { MessageId = id, CreatedAt = created })
        {
            ResponseId = id,
            ModelId = String(root, "model"),
            CreatedAt = created,
            FinishReason = FinishReason(String(choice, "finish_reason")),
            Usage = Usage(root),
            RawRepresentation = root.Clone(),
        };
    }

    /// <summary>Reads an error body: OpenAI's nested object, the flat object of older vLLM releases, FastAPI's <c>detail</c>, or plain text.</summary>
    /// <param name="body">The body.</param>
    /// <returns>The error; its message is the body's text when it is not JSON, and <see langword="null"/> when the body is empty.</returns>
    public static EngineError ParseError(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return new EngineError(null, null, null, null);
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            if (ErrorOf(document.RootElement) is { } error)
            {
                return error;
            }

            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("detail", out var detail))
            {
                return new EngineError(detail.ValueKind == JsonValueKind.String ? detail.GetString() : detail.GetRawText(), null, null, null);
            }
        }
        catch (JsonException)
        {
            // Not JSON: a proxy's HTML page or plain text. Quote it below.
        }

        var text = Encoding.UTF8.GetString(body[..Math.Min(body.Length, 2000)]).Trim();
        return new EngineError(text.Length == 0 ? null : text, null, null, null);
    }

    /// <summary>Maps an OpenAI <c>finish_reason</c>.</summary>
    /// <param name="value">The value, or <see langword="null"/>.</param>
    /// <returns>The reason, or <see langword="null"/> while the reply goes on.</returns>
    public static ChatFinishReason? FinishReason(string? value) => value switch
    {
        null or "" => null,
        "stop" or "eos" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        "content_filter" => ChatFinishReason.ContentFilter,
        "tool_calls" or "function_call" => ChatFinishReason.ToolCalls,
        _ => new ChatFinishReason(value),
    };

    /// <summary>Formats the type, code and parameter of an error for a message, as <c> [type: …, code: …, param: …]</c>.</summary>
    /// <param name="error">The error.</param>
    /// <returns>The text, empty when the error names none of them.</returns>
    public static string Details(EngineError error)
    {
        var items = new List<string>(3);
        if (!string.IsNullOrEmpty(error.Type))
        {
            items.Add("type: " + error.Type);
        }

        if (!string.IsNullOrEmpty(error.Code))
        {
            items.Add("code: " + error.Code);
        }

        if (!string.IsNullOrEmpty(error.Param))
        {
            items.Add("param: " + error.Param);
        }

        return items.Count == 0 ? string.Empty : " [" + string.Join(", ", items) + "]";
    }

    private static JsonDocument Parse(ReadOnlyMemory<byte> json, Uri endpoint, string what)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            var preview = Encoding.UTF8.GetString(json.Span[..Math.Min(json.Length, 200)]);
            throw new RemoteEngineException($"The engine at {endpoint} sent a {what} that is not valid JSON: '{preview}'. Is the endpoint an OpenAI-compatible API (it usually ends in /v1)?", innerException: ex);
        }
    }

    private static EngineError? ErrorOf(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (root.TryGetProperty("error", out var error))
        {
            return error.ValueKind == JsonValueKind.Object
                ? new EngineError(String(error, "message"), String(error, "type"), String(error, "code"), String(error, "param"))
                : new EngineError(error.ValueKind == JsonValueKind.String ? error.GetString() : error.GetRawText(), null, null, null);
        }

        // vLLM before 0.9 sent {"object": "error", "message": …, "type": …, "param": …, "code": 400}.
        return String(root, "object") == "error"
            ? new EngineError(String(root, "message"), String(root, "type"), String(root, "code"), String(root, "param"))
            : null;
    }

    private static HttpStatusCode? ParseStatus(string? code) =>
        int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 400 and <= 599 ? (HttpStatusCode)n : null;

    /// <summary>Adds the text of a message or delta: <c>content</c> (a string, or an array of text parts) and the reasoning that vLLM's reasoning parsers put in <c>reasoning_content</c> or <c>reasoning</c>.</summary>
    private static void AddText(JsonElement message, IList<AIContent> contents)
    {
        foreach (var name in (ReadOnlySpan<string>)["reasoning_content", "reasoning"])
        {
            if (String(message, name) is { Length: > 0 } reasoning)
            {
                contents.Add(new TextReasoningContent(reasoning));
                break;
            }
        }

        if (!message.TryGetProperty("content", out var content))
        {
            return;
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            if (content.GetString() is { Length: > 0 } text)
            {
                contents.Add(new TextContent(text));
            }
        }
        else if (content.ValueKind == JsonValueKind.Array)
        {
            foreach (var part in content.EnumerateArray())
            {
                if (String(part, "text") is { Length: > 0 } text)
                {
                    contents.Add(new TextContent(text));
                }
            }
        }
    }

    private static UsageDetails? Usage(JsonElement root)
    {
        if (!root.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var details = new UsageDetails
        {
            InputTokenCount = Long(usage, "prompt_tokens"),
            OutputTokenCount = Long(usage, "completion_tokens"),
            TotalTokenCount = Long(usage, "total_tokens"),
        };

        if (usage.TryGetProperty("prompt_tokens_details", out var prompt) && prompt.ValueKind == JsonValueKind.Object)
        {
            details.CachedInputTokenCount = Long(prompt, "cached_tokens");
        }

        if (usage.TryGetProperty("completion_tokens_details", out var completion) && completion.ValueKind == JsonValueKind.Object)
        {
            details.ReasoningTokenCount = Long(completion, "reasoning_tokens");
        }

        details.TotalTokenCount ??= details.InputTokenCount + details.OutputTokenCount;
        return details;
    }

    private static DateTimeOffset? Created(JsonElement root) =>
        root.TryGetProperty("created", out var created) && created.ValueKind == JsonValueKind.Number && created.TryGetInt64(out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    private static string? String(JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
    }

    private static long? Long(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : null;
}
