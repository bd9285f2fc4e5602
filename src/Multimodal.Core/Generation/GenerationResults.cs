// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>Why generation ended.</summary>
public enum GenerationFinishReason
{
    /// <summary>The model produced a stop token (EOS).</summary>
    StopToken,

    /// <summary>A stop string appeared; it is not part of the output.</summary>
    StopString,

    /// <summary>The maximum number of new tokens was reached.</summary>
    MaxTokens,

    /// <summary>The context window is full.</summary>
    ContextLength,
}

/// <summary>Token counts of one request.</summary>
/// <param name="PromptTokens">All prompt positions, text and visual.</param>
/// <param name="VisualTokens">The visual positions among <paramref name="PromptTokens"/>.</param>
/// <param name="CompletionTokens">Generated tokens, including a final stop token.</param>
public sealed record GenerationUsage(int PromptTokens, int VisualTokens, int CompletionTokens)
{
    /// <summary>Gets the text positions of the prompt.</summary>
    public int TextPromptTokens => PromptTokens - VisualTokens;

    /// <summary>Gets prompt plus completion tokens.</summary>
    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>Where the time of one request went.</summary>
public sealed record GenerationTimings
{
    /// <summary>Gets media decoding, splitting and pixel preprocessing.</summary>
    public TimeSpan Preprocess { get; init; }

    /// <summary>Gets the vision encoder and token merging.</summary>
    public TimeSpan VisionEncode { get; init; }

    /// <summary>Gets the prompt forward pass.</summary>
    public TimeSpan Prefill { get; init; }

    /// <summary>Gets the time from the request's start (after the one-time model load; waiting for a slot counts) to the first generated token.</summary>
    public TimeSpan TimeToFirstToken { get; init; }

    /// <summary>Gets the compute time spent producing the tokens after the first (forward passes and sampling; time the consumer spends between updates is not counted).</summary>
    public TimeSpan Decode { get; init; }

    /// <summary>Gets the whole request.</summary>
    public TimeSpan Total { get; init; }

    /// <summary>Gets the decode speed: tokens after the first per second of <see cref="Decode"/> (0 when undefined).</summary>
    public double DecodeTokensPerSecond { get; init; }
}

/// <summary>One piece of a streamed generation.</summary>
public sealed record GenerationUpdate
{
    /// <summary>Gets the new text (possibly empty on the final update).</summary>
    public string Text { get; init; } = string.Empty;

    /// <summary>Gets the ids generated since the previous update.</summary>
    public IReadOnlyList<int> TokenIds { get; init; } = [];

    /// <summary>Gets why generation ended; set on the final update only.</summary>
    public GenerationFinishReason? FinishReason { get; init; }

    /// <summary>Gets token counts; set on the final update only.</summary>
    public GenerationUsage? Usage { get; init; }

    /// <summary>Gets timings; set on the final update only.</summary>
    public GenerationTimings? Timings { get; init; }
}

/// <summary>A whole generation.</summary>
/// <param name="Text">The generated text (stop strings removed).</param>
/// <param name="TokenIds">The generated ids.</param>
/// <param name="FinishReason">Why it ended.</param>
/// <param name="Usage">Token counts.</param>
/// <param name="Timings">Timings.</param>
public sealed record GenerationResult(string Text, IReadOnlyList<int> TokenIds, GenerationFinishReason FinishReason, GenerationUsage Usage, GenerationTimings Timings);

/// <summary>Helpers over streamed generation.</summary>
public static class GenerationUpdateExtensions
{
    /// <summary>Collects a stream of updates into one result.</summary>
    /// <param name="updates">The stream.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The aggregated result.</returns>
    /// <exception cref="InvalidOperationException">The stream ended without a final update.</exception>
    public static async Task<GenerationResult> ToGenerationResultAsync(this IAsyncEnumerable<GenerationUpdate> updates, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(updates);
        var text = new System.Text.StringBuilder();
        var ids = new List<int>();
        await foreach (var u in updates.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            text.Append(u.Text);
            ids.AddRange(u.TokenIds);
            if (u.FinishReason is { } reason)
            {
                return new GenerationResult(text.ToString(), ids, reason, u.Usage!, u.Timings!);
            }
        }

        throw new InvalidOperationException("The generation stream ended without a final update.");
    }
}
