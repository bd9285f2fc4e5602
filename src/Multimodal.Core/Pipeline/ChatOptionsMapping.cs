// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Multimodal;

/// <summary>Maps between Microsoft.Extensions.AI options and results and ours.</summary>
internal static class ChatOptionsMapping
{
    public static GenerationOptions? ToGenerationOptions(ChatOptions? options)
    {
        if (options is null)
        {
            return null;
        }

        var g = new GenerationOptions
        {
            MaxNewTokens = options.MaxOutputTokens,
            Temperature = options.Temperature,
            TopP = options.TopP,
            TopK = options.TopK,
            FrequencyPenalty = options.FrequencyPenalty,
            PresencePenalty = options.PresencePenalty,
            Seed = options.Seed,
            StopStrings = options.StopSequences is null ? null : [.. options.StopSequences],
        };

        if (options.AdditionalProperties is { Count: > 0 } extra)
        {
            var rest = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var (key, value) in extra)
            {
                switch (key)
                {
                    case "max_new_tokens":
                    case "max_tokens":
                        g.MaxNewTokens ??= To<int>(key, value);
                        break;
                    case "do_sample":
                        g.DoSample = To<bool>(key, value);
                        break;
                    case "repetition_penalty":
                        g.RepetitionPenalty = To<float>(key, value);
                        break;
                    case "min_p":
                        g.MinP = To<float>(key, value);
                        break;
                    case "top_k":
                        g.TopK ??= To<int>(key, value);
                        break;
                    case "num_beams":
                        g.NumBeams = To<int>(key, value);
                        break;
                    case "length_penalty":
                        g.LengthPenalty = To<float>(key, value);
                        break;
                    case "early_stopping":
                        g.EarlyStopping = To<bool>(key, value);
                        break;
                    default:
                        rest[key] = value;
                        break;
                }
            }

            g.AdditionalProperties = rest;
        }

        return g;
    }

    public static UsageDetails ToUsageDetails(GenerationUsage usage) => new()
    {
        InputTokenCount = usage.PromptTokens,
        OutputTokenCount = usage.CompletionTokens,
        TotalTokenCount = usage.TotalTokens,
        AdditionalCounts = new AdditionalPropertiesDictionary<long> { ["visual_tokens"] = usage.VisualTokens },
    };

    public static AdditionalPropertiesDictionary ToProperties(GenerationTimings t) => new()
    {
        ["timings"] = t,
        ["preprocess_ms"] = t.Preprocess.TotalMilliseconds,
        ["vision_encode_ms"] = t.VisionEncode.TotalMilliseconds,
        ["prefill_ms"] = t.Prefill.TotalMilliseconds,
        ["time_to_first_token_ms"] = t.TimeToFirstToken.TotalMilliseconds,
        ["decode_tokens_per_second"] = t.DecodeTokensPerSecond,
    };

    private static T To<T>(string key, object? value)
        where T : struct
    {
        var number = value switch
        {
            JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
            JsonElement { ValueKind: JsonValueKind.String } e when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            bool => (double?)null,
            JsonElement => null,
            IConvertible c when value is not string => c.ToDouble(CultureInfo.InvariantCulture),
            _ => null,
        };

        object? result = typeof(T) == typeof(bool)
            ? value switch
            {
                bool b => b,
                JsonElement { ValueKind: JsonValueKind.True } => true,
                JsonElement { ValueKind: JsonValueKind.False } => false,
                string s when bool.TryParse(s, out var b) => b,
                _ => null,
            }
            : number is not { } n || !double.IsFinite(n) ? null
            : typeof(T) == typeof(int) ? (n == Math.Floor(n) && n >= int.MinValue && n <= int.MaxValue ? (int)n : null)
            : typeof(T) == typeof(float) ? (float)n
            : null;

        return result is T typed
            ? typed
            : throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{key}\"] = '{value}' is not a valid {(typeof(T) == typeof(int) ? "integer" : typeof(T).Name)}.", "options");
    }
}
