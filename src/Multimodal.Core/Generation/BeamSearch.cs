// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Advanced;

namespace Multimodal;

/// <summary>The bookkeeping of Hugging Face-style beam search: candidates, finished hypotheses and the stopping rule.</summary>
/// <remarks>
/// Per step every beam's logits become log-probabilities, the logits processors (repetition penalty, frequency and
/// presence penalties) act on those, and the best (1 + number of stop ids) × num_beams continuations over all beams are
/// ranked. A stop token among the first num_beams ranks finishes a hypothesis scored
/// sum_logprobs ÷ generated_length^length_penalty, where the length counts the stop token (as Hugging Face's
/// <c>BeamSearchScorer</c>); the best non-stop continuations form the next beams. Without early stopping, search ends
/// when the best candidate of the step cannot beat the worst kept hypothesis.
/// </remarks>
internal sealed class BeamSearch(GenerationSettings settings, int vocabularySize, int[] promptIds, ITokenizer tokenizer)
{
    private readonly HashSet<int> _stopIds = [.. settings.StopTokenIds];
    private readonly List<Hypothesis> _hypotheses = [];
    private readonly float[] _scratch = new float[vocabularySize];

    /// <summary>A running beam: its cache, its tokens, its summed log-probability and the logits for its next token.</summary>
    internal sealed record Beam(IDecoderState State, List<int> Tokens, double Score, float[] Logits);

    /// <summary>A chosen continuation: parent beam index, token and new summed log-probability.</summary>
    internal readonly record struct Candidate(int Parent, int Token, double Score);

    /// <summary>A finished sequence and its length-normalised score.</summary>
    internal sealed record Hypothesis(List<int> Tokens, double Score, bool EndedWithStopToken);

    private int NumBeams => settings.NumBeams;

    /// <summary>Gets the best candidate score of the last step, stop tokens included (Hugging Face's <c>is_done</c> input).</summary>
    public double BestCandidateScore { get; private set; } = double.NegativeInfinity;

    /// <summary>Ranks continuations, files finished hypotheses, and returns the next beams' candidates.</summary>
    public List<Candidate> Step(List<Beam> beams)
    {
        var perBeam = (1 + Math.Max(1, _stopIds.Count)) * NumBeams;
        var all = new List<Candidate>(beams.Count * perBeam);
        for (var b = 0; b < beams.Count; b++)
        {
            var beam = beams[b];
            LogitsProcessing.LogSoftmax(beam.Logits, _scratch);
            if (settings.RepetitionPenalty != 1f)
            {
                int[] seen = settings.RepetitionPenaltyIncludesPrompt ? [.. promptIds, .. beam.Tokens] : [.. beam.Tokens];
                LogitsProcessing.ApplyRepetitionPenalty(_scratch, seen, settings.RepetitionPenalty);
            }

            LogitsProcessing.ApplyFrequencyAndPresencePenalties(_scratch, beam.Tokens.ToArray(), settings.FrequencyPenalty, settings.PresencePenalty);
            foreach (var (token, logp) in TopK(_scratch, perBeam))
            {
                all.Add(new Candidate(b, token, beam.Score + logp));
            }
        }

        all.Sort(static (x, y) =>
        {
            var c = y.Score.CompareTo(x.Score);
            if (c != 0)
            {
                return c;
            }

            c = x.Parent.CompareTo(y.Parent);
            return c != 0 ? c : x.Token.CompareTo(y.Token);
        });

        BestCandidateScore = all.Count > 0 ? all[0].Score : double.NegativeInfinity;
        var next = new List<Candidate>(NumBeams);
        for (var rank = 0; rank < all.Count && rank < perBeam && next.Count < NumBeams; rank++)
        {
            var c = all[rank];
            if (_stopIds.Contains(c.Token))
            {
                // HF only accepts a stop token among the first num_beams ranks; its length counts the stop token.
                if (rank < NumBeams)
                {
                    Add([.. beams[c.Parent].Tokens], c.Score, beams[c.Parent].Tokens.Count + 1, endedWithStopToken: true);
                }

                continue;
            }

            next.Add(c);
        }

        return next;
    }

    /// <summary>Whether search can stop: enough hypotheses, and (without early stopping) no running beam can beat the worst one.</summary>
    public bool IsDone(List<Candidate> next, int generatedLength)
    {
        if (_hypotheses.Count < NumBeams)
        {
            return false;
        }

        if (settings.EarlyStopping || next.Count == 0)
        {
            return true;
        }

        var bestPossible = BestCandidateScore / Math.Pow(Math.Max(1, generatedLength), settings.LengthPenalty);
        return _hypotheses.Min(h => h.Score) >= bestPossible;
    }

    /// <summary>Files the running candidates as hypotheses (at the token or context limit).</summary>
    public void Finalize(List<Candidate> next, List<Beam> beams)
    {
        foreach (var c in next)
        {
            Add([.. beams[c.Parent].Tokens, c.Token], c.Score, beams[c.Parent].Tokens.Count + 1, endedWithStopToken: false);
        }
    }

    /// <summary>Moves beams whose text contains a stop string into the hypotheses and returns the rest.</summary>
    /// <param name="beams">The running beams.</param>
    /// <param name="finished">Receives the beams moved out, whose caches the caller may release.</param>
    public List<Beam> MoveStopStringBeams(List<Beam> beams, List<Beam> finished)
    {
        if (settings.StopStrings.Count == 0)
        {
            return beams;
        }

        var running = new List<Beam>(beams.Count);
        foreach (var b in beams)
        {
            var text = tokenizer.Decode(b.Tokens.ToArray(), skipSpecialTokens: true, cleanUpTokenizationSpaces: false);
            if (settings.StopStrings.Any(s => text.Contains(s, StringComparison.Ordinal)))
            {
                Add(b.Tokens, b.Score, b.Tokens.Count, endedWithStopToken: false);
                finished.Add(b);
            }
            else
            {
                running.Add(b);
            }
        }

        return running;
    }

    /// <summary>Returns the best hypothesis.</summary>
    public Hypothesis? Best() => _hypotheses.Count == 0 ? null : _hypotheses.MaxBy(h => h.Score);

    private void Add(List<int> tokens, double sumLogProbs, int generatedLength, bool endedWithStopToken)
    {
        var score = sumLogProbs / Math.Pow(Math.Max(1, generatedLength), settings.LengthPenalty);
        _hypotheses.Add(new Hypothesis(tokens, score, endedWithStopToken));
        if (_hypotheses.Count > NumBeams)
        {
            _hypotheses.Remove(_hypotheses.MinBy(h => h.Score)!);
        }
    }

    private static List<(int Token, float LogProb)> TopK(float[] values, int k)
    {
        // k is tiny (2 × beams), so a running insertion list beats sorting the vocabulary.
        var best = new List<(int, float)>(k + 1);
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            if (float.IsNegativeInfinity(v) || (best.Count == k && v <= best[^1].Item2))
            {
                continue;
            }

            var at = best.Count;
            while (at > 0 && best[at - 1].Item2 < v)
            {
                at--;
            }

            best.Insert(at, (i, v));
            if (best.Count > k)
            {
                best.RemoveAt(k);
            }
        }

        return best;
    }
}
