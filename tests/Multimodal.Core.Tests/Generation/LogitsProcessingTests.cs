// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Advanced;

namespace Multimodal.Generation;

public class LogitsProcessingTests
{
    [Fact]
    public void RepetitionPenalty_DividesPositiveAndMultipliesNegativeLogits_OncePerDistinctToken()
    {
        // Worked example of Hugging Face's RepetitionPenaltyLogitsProcessor with penalty 2:
        // seen {0, 1, 1, 3}: 2.0 -> 1.0, -1.0 -> -2.0 (once, though seen twice), 3.0 -> 1.5; unseen 0.5 stays.
        float[] logits = [2.0f, -1.0f, 0.5f, 3.0f];
        LogitsProcessing.ApplyRepetitionPenalty(logits, [0, 1, 1, 3], 2.0f);
        Assert.Equal([1.0f, -2.0f, 0.5f, 1.5f], logits);
    }

    [Fact]
    public void RepetitionPenalty_OfOne_ChangesNothing()
    {
        float[] logits = [2.0f, -1.0f];
        LogitsProcessing.ApplyRepetitionPenalty(logits, [0, 1], 1.0f);
        Assert.Equal([2.0f, -1.0f], logits);
    }

    [Fact]
    public void FrequencyAndPresencePenalties_FollowOpenAIsDefinition()
    {
        // logit -= count * frequency + (count > 0) * presence; token 0 seen 3 times, token 2 once.
        float[] logits = [1f, 1f, 1f];
        LogitsProcessing.ApplyFrequencyAndPresencePenalties(logits, [0, 0, 2, 0], 0.5f, 0.25f);
        Assert.Equal([1f - 1.5f - 0.25f, 1f, 1f - 0.5f - 0.25f], logits);
    }

    [Fact]
    public void LogSoftmax_SumsToOneInProbability()
    {
        float[] logits = [1f, 2f, 3f, -4f];
        var logp = new float[4];
        LogitsProcessing.LogSoftmax(logits, logp);
        Assert.Equal(1.0, logp.Sum(v => Math.Exp(v)), 5);
        Assert.Equal(Math.Log(Math.Exp(3) / (Math.Exp(1) + Math.Exp(2) + Math.Exp(3) + Math.Exp(-4))), logp[2], 5);
    }
}
