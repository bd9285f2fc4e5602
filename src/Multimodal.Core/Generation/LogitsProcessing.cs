// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Advanced;

/// <summary>Penalties applied to raw logits before sampling or selection.</summary>
public static class LogitsProcessing
{
    /// <summary>Applies Hugging Face's repetition penalty: for every distinct seen token, a positive logit is divided by the penalty and a negative one multiplied by it.</summary>
    /// <param name="logits">The logits, modified in place.</param>
    /// <param name="seenTokens">The tokens seen so far (duplicates are penalised once).</param>
    /// <param name="penalty">The penalty; 1 does nothing.</param>
    public static void ApplyRepetitionPenalty(Span<float> logits, ReadOnlySpan<int> seenTokens, float penalty)
    {
        if (penalty == 1f || seenTokens.IsEmpty)
        {
            return;
        }

        // HF gathers the scores of the seen ids, transforms them, and scatters them back, so a repeated id is penalised once.
        var done = new HashSet<int>();
        foreach (var id in seenTokens)
        {
            if ((uint)id >= (uint)logits.Length || !done.Add(id))
            {
                continue;
            }

            var v = logits[id];
            logits[id] = v < 0 ? v * penalty : v / penalty;
        }
    }

    /// <summary>Applies OpenAI's frequency and presence penalties over the completion so far.</summary>
    /// <param name="logits">The logits, modified in place.</param>
    /// <param name="generatedTokens">The tokens generated so far.</param>
    /// <param name="frequencyPenalty">Subtracted once per occurrence.</param>
    /// <param name="presencePenalty">Subtracted once per distinct token present.</param>
    public static void ApplyFrequencyAndPresencePenalties(Span<float> logits, ReadOnlySpan<int> generatedTokens, float frequencyPenalty, float presencePenalty)
    {
        if ((frequencyPenalty == 0f && presencePenalty == 0f) || generatedTokens.IsEmpty)
        {
            return;
        }

        var counts = new Dictionary<int, int>();
        foreach (var id in generatedTokens)
        {
            if ((uint)id < (uint)logits.Length)
            {
                counts[id] = counts.GetValueOrDefault(id) + 1;
            }
        }

        foreach (var (id, count) in counts)
        {
            logits[id] -= (frequencyPenalty * count) + presencePenalty;
        }
    }

    /// <summary>Writes log-softmax of <paramref name="logits"/> into <paramref name="destination"/>.</summary>
    /// <param name="logits">The logits.</param>
    /// <param name="destination">Receives log-probabilities; may be the same memory as <paramref name="logits"/>.</param>
    public static void LogSoftmax(ReadOnlySpan<float> logits, Span<float> destination)
    {
        var max = float.NegativeInfinity;
        foreach (var v in logits)
        {
            max = Math.Max(max, v);
        }

        double sum = 0;
        foreach (var v in logits)
        {
            sum += Math.Exp(v - max);
        }

        var logSum = (float)Math.Log(sum) + max;
        for (var i = 0; i < logits.Length; i++)
        {
            destination[i] = logits[i] - logSum;
        }
    }
}
