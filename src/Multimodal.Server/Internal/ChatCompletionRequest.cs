// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Multimodal.Server.Internal;

/// <summary>A parsed, validated <c>POST /v1/chat/completions</c> request.</summary>
internal sealed class ChatCompletionRequest
{
    public required string Model { get; init; }

    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    public required ChatOptions Options { get; init; }

    public bool Stream { get; init; }

    public bool IncludeUsage { get; init; }

    /// <summary>Reads the <c>model</c> member, which is needed before the rest (to find the model and its defaults).</summary>
    /// <exception cref="ApiError">400: the body is not an object, or <c>model</c> is missing or not a non-empty string.</exception>
    public static string ReadModel(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw ApiError.BadRequest("The request body must be a JSON object.", null, "invalid_json");
        }

        if (!root.TryGetProperty("model", out var model) || model.ValueKind == JsonValueKind.Null)
        {
            throw ApiError.BadRequest("'model' is required: the id of one of the models in GET /v1/models.", "model", "missing_required_parameter");
        }

        if (model.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(model.GetString()))
        {
            throw ApiError.BadRequest("'model' must be a non-empty string.", "model", "invalid_type");
        }

        return model.GetString()!;
    }

    /// <summary>Parses the rest of the request for a served model.</summary>
    /// <exception cref="ApiError">400: a member is missing, of the wrong type, out of range, unsupported, or over a media limit.</exception>
    public static async Task<ChatCompletionRequest> ParseAsync(
        JsonElement root,
        ServedModel model,
        MultimodalServerOptions options,
        RemoteMediaFetcher fetcher,
        CancellationToken cancellationToken)
    {
        var chatOptions = ReadOptions(root, model.Id);
        var stream = ReadBool(root, "stream") ?? false;
        var includeUsage = false;
        if (root.TryGetProperty("stream_options", out var streamOptions) && streamOptions.ValueKind != JsonValueKind.Null)
        {
            if (streamOptions.ValueKind != JsonValueKind.Object)
            {
                throw ApiError.BadRequest("'stream_options' must be an object.", "stream_options", "invalid_type");
            }

            includeUsage = ReadBool(streamOptions, "include_usage", "stream_options.include_usage") ?? false;
        }

        var reader = new MessageReader(model, options, fetcher);
        var messages = await reader.ReadAsync(root, cancellationToken).ConfigureAwait(false);
        return new ChatCompletionRequest
        {
            Model = model.Id,
            Messages = messages,
            Options = chatOptions,
            Stream = stream,
            IncludeUsage = includeUsage,
        };
    }

    /// <summary>Maps the sampling parameters onto <see cref="ChatOptions"/>, the way <see cref="MultimodalModel"/> reads them.</summary>
    private static ChatOptions ReadOptions(JsonElement root, string modelId)
    {
        var n = ReadInteger(root, "n");
        if (n is not null and not 1)
        {
            throw ApiError.BadRequest($"Only one choice per request is supported; got n = {n}. Send n = 1 (or leave it out) and repeat the request for more.", "n", "unsupported_value");
        }

        var maxTokens = ReadInteger(root, "max_completion_tokens") ?? ReadInteger(root, "max_tokens");
        if (maxTokens is < 1 or > int.MaxValue)
        {
            var name = root.TryGetProperty("max_completion_tokens", out var m) && m.ValueKind != JsonValueKind.Null ? "max_completion_tokens" : "max_tokens";
            throw ApiError.BadRequest($"'{name}' must be at least 1; got {maxTokens}.", name, "invalid_value");
        }

        var temperature = ReadNumber(root, "temperature", min: 0, max: 100);
        var topP = ReadNumber(root, "top_p", min: 0, max: 1, minExclusive: true);
        var frequencyPenalty = ReadNumber(root, "frequency_penalty", min: -2, max: 2);
        var presencePenalty = ReadNumber(root, "presence_penalty", min: -2, max: 2);
        var topK = ReadInteger(root, "top_k");
        if (topK is < -1 or > int.MaxValue)
        {
            throw ApiError.BadRequest($"'top_k' must be -1 (off), 0 (off) or a positive number of tokens; got {topK}.", "top_k", "invalid_value");
        }

        var options = new ChatOptions
        {
            ModelId = modelId,
            MaxOutputTokens = (int?)maxTokens,

            // Temperature 0 asks for greedy decoding: MultimodalModel maps it to GenerationOptions.Temperature = 0, which turns sampling off.
            Temperature = (float?)temperature,
            TopP = (float?)topP,
            TopK = topK is null ? null : (int)Math.Max(topK.Value, 0),
            FrequencyPenalty = (float?)frequencyPenalty,
            PresencePenalty = (float?)presencePenalty,
            Seed = ReadInteger(root, "seed"),
            StopSequences = ReadStop(root),
        };

        // vLLM's sampling extras and our family options travel in AdditionalProperties, which MultimodalModel reads by these names.
        var extra = new AdditionalPropertiesDictionary();
        if (ReadNumber(root, "repetition_penalty", min: 0, max: 100, minExclusive: true) is { } repetition)
        {
            extra["repetition_penalty"] = (float)repetition;
        }

        if (ReadNumber(root, "min_p", min: 0, max: 1) is { } minP)
        {
            extra["min_p"] = (float)minP;
        }

        if (ReadNumber(root, "token_kept_ratio", min: 0, max: 1) is { } ratio)
        {
            extra["token_kept_ratio"] = ratio;
        }

        if (extra.Count > 0)
        {
            options.AdditionalProperties = extra;
        }

        return options;
    }

    private static List<string>? ReadStop(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (stop.ValueKind == JsonValueKind.String)
        {
            return stop.GetString() is { Length: > 0 } s ? [s] : null;
        }

        if (stop.ValueKind != JsonValueKind.Array)
        {
            throw ApiError.BadRequest("'stop' must be a string or an array of strings.", "stop", "invalid_type");
        }

        var list = new List<string>();
        var index = 0;
        foreach (var item in stop.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw ApiError.BadRequest($"'stop[{index}]' must be a string.", $"stop[{index}]", "invalid_type");
            }

            if (item.GetString() is { Length: > 0 } s)
            {
                list.Add(s);
            }

            index++;
        }

        if (list.Count > 16)
        {
            throw ApiError.BadRequest($"'stop' may hold at most 16 strings; got {list.Count}.", "stop", "invalid_value");
        }

        return list.Count == 0 ? null : list;
    }

    internal static bool? ReadBool(JsonElement parent, string name, string? param = null)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiError.BadRequest($"'{param ?? name}' must be true or false.", param ?? name, "invalid_type"),
        };
    }

    internal static long? ReadInteger(JsonElement parent, string name, string? param = null)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number)
        {
            if (value.TryGetInt64(out var integer))
            {
                return integer;
            }

            // 3.0 is an integer too.
            if (value.TryGetDouble(out var d) && d == Math.Floor(d) && d >= long.MinValue && d <= long.MaxValue)
            {
                return (long)d;
            }
        }

        throw ApiError.BadRequest($"'{param ?? name}' must be an integer.", param ?? name, "invalid_type");
    }

    private static double? ReadNumber(JsonElement parent, string name, double min, double max, bool minExclusive = false)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number))
        {
            throw ApiError.BadRequest($"'{name}' must be a number.", name, "invalid_type");
        }

        if (number > max || number < min || (minExclusive && number == min))
        {
            var range = string.Create(CultureInfo.InvariantCulture, $"{(minExclusive ? "(" : "[")}{min}, {max}]");
            throw ApiError.BadRequest(string.Create(CultureInfo.InvariantCulture, $"'{name}' must be in {range}; got {number}."), name, "invalid_value");
        }

        return number;
    }
}
