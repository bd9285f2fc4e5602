// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Buffers.Text;
using System.Collections;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Multimodal.Backends.Remote.Internal;

/// <summary>The top-level request fields the client writes itself and that options may not replace.</summary>
internal static class RequestWriterKeys
{
    /// <summary>Tells whether a top-level key is reserved (<c>messages</c>, <c>stream</c>).</summary>
    /// <param name="key">The key.</param>
    /// <returns>Whether extra fields may not use it.</returns>
    public static bool IsReserved(string key) => key is "messages" or "stream";
}

/// <summary>Writes the body of a <c>/chat/completions</c> request with a <see cref="Utf8JsonWriter"/>.</summary>
/// <remarks>
/// The body is written once per request and kept, so that a retry sends the same bytes without reading media again.
/// Images go out as <c>data:</c> URLs whose base64 text is written straight into the buffer, never as a .NET string.
/// </remarks>
internal static class RequestWriter
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // The body is JSON for a program, not HTML: keep non-ASCII text (Chinese prompts for MiniCPM-V) readable and short.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };

    /// <summary>Writes a request body.</summary>
    /// <param name="model">The model name (the client's, or <see cref="ChatOptions.ModelId"/>).</param>
    /// <param name="messages">The wire messages.</param>
    /// <param name="options">The request options, or <see langword="null"/>.</param>
    /// <param name="extraBody">The client's extra fields.</param>
    /// <param name="stream">Whether to ask for a server-sent event stream.</param>
    /// <returns>The UTF-8 JSON body.</returns>
    /// <exception cref="UnsupportedRequestException">An extra field is reserved or its value cannot be written as JSON.</exception>
    public static ReadOnlyMemory<byte> Write(string model, IReadOnlyList<WireMessage> messages, ChatOptions? options, IDictionary<string, object?> extraBody, bool stream)
    {
        var fields = new List<KeyValuePair<string, object?>>();
        Set(fields, "model", model);
        if (options is not null)
        {
            SetIf(fields, "max_tokens", options.MaxOutputTokens);
            SetIf(fields, "temperature", options.Temperature);
            SetIf(fields, "top_p", options.TopP);
            SetIf(fields, "top_k", options.TopK);
            SetIf(fields, "seed", options.Seed);
            if (options.StopSequences is { Count: > 0 } stops)
            {
                Set(fields, "stop", stops.ToArray());
            }

            SetIf(fields, "frequency_penalty", options.FrequencyPenalty);
            SetIf(fields, "presence_penalty", options.PresencePenalty);
            if (ResponseFormat(options.ResponseFormat) is { } format)
            {
                Set(fields, "response_format", format);
            }
        }

        foreach (var (key, value) in extraBody)
        {
            Set(fields, key, value);
        }

        if (options?.AdditionalProperties is { Count: > 0 } additional)
        {
            foreach (var (key, value) in additional)
            {
                if (RequestWriterKeys.IsReserved(key))
                {
                    throw new UnsupportedRequestException($"ChatOptions.AdditionalProperties must not set '{key}': the client writes it from the request.", "options");
                }

                Set(fields, key, value);
            }
        }

        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();

            // "model" first, then the conversation, then the sampling fields: the order servers log them in.
            WriteField(writer, fields[0]);
            writer.WritePropertyName("messages");
            writer.WriteStartArray();
            foreach (var message in messages)
            {
                WriteMessage(writer, message);
            }

            writer.WriteEndArray();
            for (var i = 1; i < fields.Count; i++)
            {
                WriteField(writer, fields[i]);
            }

            writer.WriteBoolean("stream", stream);
            if (stream && !fields.Exists(f => f.Key == "stream_options"))
            {
                // Without it, OpenAI-compatible servers send no usage in streams.
                writer.WriteStartObject("stream_options");
                writer.WriteBoolean("include_usage", true);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }

    private static void WriteField(Utf8JsonWriter writer, KeyValuePair<string, object?> field)
    {
        writer.WritePropertyName(field.Key);
        WriteValue(writer, field.Value, field.Key);
    }

    private static void WriteMessage(Utf8JsonWriter writer, WireMessage message)
    {
        writer.WriteStartObject();
        writer.WriteString("role", message.Role);
        if (!string.IsNullOrEmpty(message.Name))
        {
            writer.WriteString("name", message.Name);
        }

        if (message.IsTextOnly)
        {
            // A plain string is what every server accepts; parts arrays only where media need them.
            writer.WriteString("content", string.Concat(message.Parts.Cast<WireText>().Select(t => t.Text)));
        }
        else
        {
            writer.WriteStartArray("content");
            foreach (var part in message.Parts)
            {
                WritePart(writer, part);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static void WritePart(Utf8JsonWriter writer, WirePart part)
    {
        writer.WriteStartObject();
        switch (part)
        {
            case WireText text:
                writer.WriteString("type", "text");
                writer.WriteString("text", text.Text);
                break;
            case WireImageData image:
                writer.WriteString("type", "image_url");
                writer.WriteStartObject("image_url");
                writer.WritePropertyName("url");
                WriteDataUrl(writer, image.MediaType, image.Data.Span);
                writer.WriteEndObject();
                break;
            case WireImageUrl url:
                writer.WriteString("type", "image_url");
                writer.WriteStartObject("image_url");
                writer.WriteString("url", url.Url);
                writer.WriteEndObject();
                break;
            case WireVideo video:
                writer.WriteString("type", "video_url");
                writer.WriteStartObject("video_url");
                writer.WritePropertyName("url");
                if (video.Url is not null)
                {
                    writer.WriteStringValue(video.Url);
                }
                else
                {
                    WriteDataUrl(writer, video.MediaType, video.Data.Span);
                }

                if (video.NumFrames is { } frames)
                {
                    writer.WriteNumber("num_frames", frames);
                }

                writer.WriteEndObject();
                break;
            case WireFile file:
                writer.WriteString("type", "file");
                writer.WriteStartObject("file");
                writer.WritePropertyName("file_data");
                WriteDataUrl(writer, MediaTypes.Pdf, file.Data.Span);
                writer.WriteString("filename", file.FileName);
                writer.WriteEndObject();
                if (file.Pages is not null)
                {
                    writer.WriteString("pages", file.Pages);
                }

                break;
            default:
                throw new InvalidOperationException($"Unknown wire part {part.GetType().Name}.");
        }

        writer.WriteEndObject();
    }

    /// <summary>Writes <c>"data:{type};base64,{data}"</c> as a JSON string, encoding the base64 straight into UTF-8.</summary>
    private static void WriteDataUrl(Utf8JsonWriter writer, string mediaType, ReadOnlySpan<byte> data)
    {
        if (!IsSafeMediaType(mediaType))
        {
            mediaType = "application/octet-stream";
        }

        // Base64 and a checked media type need no JSON escaping, so the value can be written raw.
        var prefixLength = 5 + mediaType.Length + 8;   // data: + type + ;base64,
        var length = 2 + prefixLength + Base64.GetMaxEncodedToUtf8Length(data.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var span = rented.AsSpan();
            span[0] = (byte)'"';
            var at = 1;
            at += System.Text.Encoding.ASCII.GetBytes("data:", span[at..]);
            at += System.Text.Encoding.ASCII.GetBytes(mediaType, span[at..]);
            at += System.Text.Encoding.ASCII.GetBytes(";base64,", span[at..]);
            Base64.EncodeToUtf8(data, span[at..], out _, out var written);
            at += written;
            span[at++] = (byte)'"';
            writer.WriteRawValue(span[..at], skipInputValidation: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Accepts only media-type characters (RFC 6838 restricted names and one slash), so that the value needs no escaping.</summary>
    private static bool IsSafeMediaType(string mediaType)
    {
        if (mediaType.Length is 0 or > 127 || mediaType.Count(c => c == '/') != 1)
        {
            return false;
        }

        foreach (var c in mediaType)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '/' or '!' or '#' or '$' or '&' or '^' or '_' or '.' or '+' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static JsonObject? ResponseFormat(ChatResponseFormat? format)
    {
        switch (format)
        {
            case ChatResponseFormatJson { Schema: { } schema } json:
                var inner = new JsonObject
                {
                    ["name"] = json.SchemaName ?? "response",
                    ["schema"] = JsonNode.Parse(schema.GetRawText()),
                };
                if (json.SchemaDescription is { } description)
                {
                    inner["description"] = description;
                }

                return new JsonObject { ["type"] = "json_schema", ["json_schema"] = inner };
            case ChatResponseFormatJson:
                return new JsonObject { ["type"] = "json_object" };
            default:
                // Text is what engines produce by default; saying so adds nothing.
                return null;
        }
    }

    private static void Set(List<KeyValuePair<string, object?>> fields, string key, object? value)
    {
        var index = fields.FindIndex(f => f.Key == key);
        if (index >= 0)
        {
            fields[index] = new(key, value);
        }
        else
        {
            fields.Add(new(key, value));
        }
    }

    private static void SetIf<T>(List<KeyValuePair<string, object?>> fields, string key, T? value)
        where T : struct
    {
        if (value is { } v)
        {
            Set(fields, key, v);
        }
    }

    /// <summary>Writes a field value: JSON primitives, JSON DOM types, dictionaries with string keys and sequences of these.</summary>
    private static void WriteValue(Utf8JsonWriter writer, object? value, string key)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case int or short or sbyte or byte or ushort:
                writer.WriteNumberValue(Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case uint ui:
                writer.WriteNumberValue(ui);
                break;
            case ulong ul:
                writer.WriteNumberValue(ul);
                break;
            case float f:
                WriteFinite(writer, f, key);
                break;
            case double d:
                WriteFinite(writer, d, key);
                break;
            case decimal m:
                writer.WriteNumberValue(m);
                break;
            case Enum e:
                writer.WriteStringValue(e.ToString());
                break;
            case JsonElement element:
                element.WriteTo(writer);
                break;
            case JsonDocument document:
                document.RootElement.WriteTo(writer);
                break;
            case JsonNode node:
                node.WriteTo(writer);
                break;
            case IEnumerable<KeyValuePair<string, object?>> pairs:
                writer.WriteStartObject();
                foreach (var (k, v) in pairs)
                {
                    writer.WritePropertyName(k);
                    WriteValue(writer, v, key + "." + k);
                }

                writer.WriteEndObject();
                break;
            case IDictionary dictionary:
                writer.WriteStartObject();
                foreach (DictionaryEntry entry in dictionary)
                {
                    var name = entry.Key as string ?? throw Unwritable(key, value);
                    writer.WritePropertyName(name);
                    WriteValue(writer, entry.Value, key + "." + name);
                }

                writer.WriteEndObject();
                break;
            case IEnumerable sequence:
                writer.WriteStartArray();
                foreach (var item in sequence)
                {
                    WriteValue(writer, item, key + "[]");
                }

                writer.WriteEndArray();
                break;
            default:
                throw Unwritable(key, value);
        }
    }

    private static void WriteFinite(Utf8JsonWriter writer, double value, string key)
    {
        if (!double.IsFinite(value))
        {
            throw new UnsupportedRequestException($"The request field '{key}' is {value}, which JSON cannot represent.", "options");
        }

        writer.WriteNumberValue(value);
    }

    private static void WriteFinite(Utf8JsonWriter writer, float value, string key)
    {
        if (!float.IsFinite(value))
        {
            throw new UnsupportedRequestException($"The request field '{key}' is {value}, which JSON cannot represent.", "options");
        }

        writer.WriteNumberValue(value);
    }

    private static UnsupportedRequestException Unwritable(string key, object value) =>
        new($"The request field '{key}' holds a {value.GetType().Name}, which the remote client cannot write as JSON. " +
            "Use strings, numbers, booleans, JsonElement, JsonNode, dictionaries with string keys or sequences of these.", "options");
}
