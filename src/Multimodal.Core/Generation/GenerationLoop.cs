// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Runtime.CompilerServices;
using Multimodal.Advanced;

namespace Multimodal;

/// <summary>Facts about a request that the generation loop reports with its final update.</summary>
public sealed class GenerationRequestInfo
{
    /// <summary>Gets or sets the <see cref="Stopwatch"/> timestamp at which the request started.</summary>
    public long StartTimestamp { get; set; } = Stopwatch.GetTimestamp();

    /// <summary>Gets or sets the time spent decoding and preprocessing media.</summary>
    public TimeSpan Preprocess { get; set; }

    /// <summary>Gets or sets the time spent in the vision encoder and mergers.</summary>
    public TimeSpan VisionEncode { get; set; }

    /// <summary>Gets or sets the number of visual positions in the prompt.</summary>
    public int VisualTokens { get; set; }
}

/// <summary>The token loop: prefill, then choose and feed one token at a time (greedy, sampling or beam search), streaming text as it becomes final.</summary>
/// <remarks>
/// The loop checks the cancellation token before every forward pass, so cancellation takes effect within one step,
/// and it moves to the thread pool before each step so that a caller on a UI or request thread is never blocked.
/// </remarks>
public static class GenerationLoop
{
    /// <summary>Runs generation on a state.</summary>
    /// <param name="decoder">The language decoder.</param>
    /// <param name="state">The KV cache to extend (it holds the conversation so far, possibly empty).</param>
    /// <param name="prompt">The new positions to prefill.</param>
    /// <param name="tokenizer">The tokenizer, for streaming text.</param>
    /// <param name="settings">Resolved settings.</param>
    /// <param name="info">Request facts for usage and timings, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels within one step.</param>
    /// <returns>Text updates; the last one carries the finish reason, usage and timings.</returns>
    /// <remarks>When the stream ends, <paramref name="state"/> holds what it held before, the prompt, and every chosen token except the last one (a stop token is never fed), on every path.</remarks>
    /// <exception cref="ArgumentException">The prompt is empty and so is the state.</exception>
    /// <exception cref="ContextLengthExceededException">The prompt alone does not leave room for one new token.</exception>
    public static IAsyncEnumerable<GenerationUpdate> RunAsync(
        ILanguageDecoder decoder,
        IDecoderState state,
        DecoderInput prompt,
        ITokenizer tokenizer,
        GenerationSettings settings,
        GenerationRequestInfo? info = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(settings);
        info ??= new GenerationRequestInfo();
        if (prompt.Length == 0 && state.Length == 0)
        {
            throw new ArgumentException("The prompt is empty and the state holds nothing: there is no position to predict from.", nameof(prompt));
        }

        var context = decoder.Metadata.ContextLength;
        var needed = state.Length + prompt.Length + 1;
        if (needed > context)
        {
            throw new ContextLengthExceededException(needed, context, info.VisualTokens);
        }

        return settings.NumBeams > 1
            ? BeamSearchAsync(decoder, state, prompt, tokenizer, settings, info, cancellationToken)
            : SampleAsync(decoder, state, prompt, tokenizer, settings, info, cancellationToken);
    }

    private static async IAsyncEnumerable<GenerationUpdate> SampleAsync(
        ILanguageDecoder decoder,
        IDecoderState state,
        DecoderInput prompt,
        ITokenizer tokenizer,
        GenerationSettings settings,
        GenerationRequestInfo info,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await default(ThreadPoolYield);
        cancellationToken.ThrowIfCancellationRequested();

        var vocab = decoder.Metadata.VocabularySize;
        var logits = new float[vocab];
        var prefillStart = Stopwatch.GetTimestamp();
        decoder.Forward(state, prompt, logits, cancellationToken);
        var prefill = Stopwatch.GetElapsedTime(prefillStart);

        var sampler = new TokenSampler(settings);
        var detokenizer = new IncrementalDetokenizer(tokenizer);
        var matcher = new StopStringMatcher(settings.StopStrings);
        var stopIds = new HashSet<int>(settings.StopTokenIds);
        var promptIds = settings.RepetitionPenaltyIncludesPrompt ? TextIds(prompt) : [];
        var generated = new List<int>();
        var pendingIds = new List<int>();
        var completionTokens = 0;
        long firstTokenTimestamp = 0;
        var decodeCompute = TimeSpan.Zero;
        GenerationFinishReason finish;

        while (true)
        {
            var stepStart = Stopwatch.GetTimestamp();
            ApplyPenalties(logits, settings, promptIds, generated);
            var token = sampler.Next(logits);
            if (completionTokens > 0)
            {
                decodeCompute += Stopwatch.GetElapsedTime(stepStart);
            }

            completionTokens++;
            if (firstTokenTimestamp == 0)
            {
                firstTokenTimestamp = Stopwatch.GetTimestamp();
            }

            if (stopIds.Contains(token))
            {
                finish = GenerationFinishReason.StopToken;
                break;
            }

            generated.Add(token);
            pendingIds.Add(token);
            var text = matcher.Append(detokenizer.Add(token));
            if (text.Length > 0)
            {
                yield return new GenerationUpdate { Text = text, TokenIds = [.. pendingIds] };
                pendingIds.Clear();
            }

            if (matcher.Stopped)
            {
                finish = GenerationFinishReason.StopString;
                break;
            }

            if (generated.Count >= settings.MaxNewTokens)
            {
                finish = GenerationFinishReason.MaxTokens;
                break;
            }

            if (state.Length + 1 > decoder.Metadata.ContextLength)
            {
                finish = GenerationFinishReason.ContextLength;
                break;
            }

            await default(ThreadPoolYield);
            cancellationToken.ThrowIfCancellationRequested();
            var forwardStart = Stopwatch.GetTimestamp();
            decoder.Forward(state, DecoderInput.Token(token), logits, cancellationToken);

            // Decode speed counts our work (forward and sampling), not the time the consumer spends on each update.
            decodeCompute += Stopwatch.GetElapsedTime(forwardStart);
        }

        var tail = matcher.Stopped ? string.Empty : matcher.Append(detokenizer.Flush()) + matcher.Flush();
        yield return new GenerationUpdate
        {
            Text = tail,
            TokenIds = [.. pendingIds],
            FinishReason = finish,
            Usage = new GenerationUsage(prompt.Length, info.VisualTokens, completionTokens),
            Timings = BuildTimings(info, prefill, firstTokenTimestamp, completionTokens, decodeCompute),
        };
    }

    private static async IAsyncEnumerable<GenerationUpdate> BeamSearchAsync(
        ILanguageDecoder decoder,
        IDecoderState state,
        DecoderInput prompt,
        ITokenizer tokenizer,
        GenerationSettings settings,
        GenerationRequestInfo info,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await default(ThreadPoolYield);
        cancellationToken.ThrowIfCancellationRequested();

        var vocab = decoder.Metadata.VocabularySize;
        var contextLength = decoder.Metadata.ContextLength;
        var startLength = state.Length;
        var prefillStart = Stopwatch.GetTimestamp();
        var firstLogits = new float[vocab];
        decoder.Forward(state, prompt, firstLogits, cancellationToken);
        var prefill = Stopwatch.GetElapsedTime(prefillStart);
        long firstTokenTimestamp = 0;

        var search = new BeamSearch(settings, vocab, TextIds(prompt), tokenizer);

        // Caches this search created (never the caller's state); each is released as soon as no beam uses it.
        var owned = new HashSet<IDecoderState>(ReferenceEqualityComparer.Instance);
        void Release(IDecoderState s)
        {
            if (owned.Remove(s))
            {
                s.Dispose();
            }
        }

        try
        {
            // The caller's state is beam 0's cache; the other beams work on forks.
            var beams = new List<BeamSearch.Beam> { new(state, [], 0.0, firstLogits) };
            GenerationFinishReason finish = GenerationFinishReason.MaxTokens;
            for (var step = 0; ; step++)
            {
                var next = search.Step(beams);
                if (firstTokenTimestamp == 0)
                {
                    firstTokenTimestamp = Stopwatch.GetTimestamp();
                }

                if (search.IsDone(next, step + 1) || next.Count == 0)
                {
                    finish = GenerationFinishReason.StopToken;
                    break;
                }

                if (step + 1 >= settings.MaxNewTokens)
                {
                    search.Finalize(next, beams);
                    break;
                }

                if (next.Any(c => beams[c.Parent].State.Length + 1 > contextLength))
                {
                    search.Finalize(next, beams);
                    finish = GenerationFinishReason.ContextLength;
                    break;
                }

                // Parents that got no child are done with; releasing them before forking bounds the caches by the beam count.
                var uses = new int[beams.Count];
                foreach (var c in next)
                {
                    uses[c.Parent]++;
                }

                for (var b = 0; b < beams.Count; b++)
                {
                    if (uses[b] == 0)
                    {
                        Release(beams[b].State);
                    }
                }

                // Each chosen candidate gets a cache: forks for all but its parent's last child, which takes the parent's own.
                var newBeams = new List<BeamSearch.Beam>(next.Count);
                foreach (var c in next)
                {
                    var parent = beams[c.Parent];
                    IDecoderState childState;
                    if (--uses[c.Parent] > 0)
                    {
                        childState = parent.State.Fork();
                        owned.Add(childState);
                    }
                    else
                    {
                        childState = parent.State;
                    }

                    newBeams.Add(new BeamSearch.Beam(childState, [.. parent.Tokens, c.Token], c.Score, new float[vocab]));
                }

                await default(ThreadPoolYield);
                foreach (var b in newBeams)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    decoder.Forward(b.State, DecoderInput.Token(b.Tokens[^1]), b.Logits, cancellationToken);
                }

                var stopped = new List<BeamSearch.Beam>();
                beams = search.MoveStopStringBeams(newBeams, stopped);
                foreach (var b in stopped)
                {
                    Release(b.State);
                }

                if (beams.Count == 0)
                {
                    finish = GenerationFinishReason.StopString;
                    break;
                }
            }

            var best = search.Best() ?? throw new InvalidOperationException("Beam search ended without a hypothesis.");
            var ids = best.Tokens;
            var text = tokenizer.Decode(ids.ToArray(), skipSpecialTokens: true, cleanUpTokenizationSpaces: false);
            var matcher = new StopStringMatcher(settings.StopStrings);
            var visible = matcher.Append(text);
            visible += matcher.Flush();
            if (matcher.Stopped)
            {
                finish = GenerationFinishReason.StopString;
            }
            else if (best.EndedWithStopToken)
            {
                finish = GenerationFinishReason.StopToken;
            }

            // Leave the caller's state as the sampling path does: the prompt plus every chosen token but the last one
            // (a stop token is never fed). Rewinding and feeding them in one pass is cheaper than tracking beam ownership.
            var fed = best.EndedWithStopToken ? ids.Count : ids.Count - 1;
            state.Truncate(startLength + prompt.Length);
            if (fed > 0)
            {
                decoder.Forward(state, new DecoderInput(ids.Take(fed).ToArray()), firstLogits, cancellationToken);
            }

            var completion = ids.Count + (best.EndedWithStopToken ? 1 : 0);
            yield return new GenerationUpdate
            {
                Text = visible,
                TokenIds = ids,
                FinishReason = finish,
                Usage = new GenerationUsage(prompt.Length, info.VisualTokens, completion),
                Timings = BuildTimings(info, prefill, firstTokenTimestamp, completion, decodeCompute: null),
            };
        }
        finally
        {
            foreach (var s in owned)
            {
                s.Dispose();
            }

            owned.Clear();
        }
    }

    private static void ApplyPenalties(Span<float> logits, GenerationSettings settings, int[] promptIds, List<int> generated)
    {
        var generatedSpan = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(generated);
        if (settings.RepetitionPenalty != 1f)
        {
            if (promptIds.Length > 0)
            {
                LogitsProcessing.ApplyRepetitionPenalty(logits, [.. promptIds, .. generatedSpan], settings.RepetitionPenalty);
            }
            else
            {
                LogitsProcessing.ApplyRepetitionPenalty(logits, generatedSpan, settings.RepetitionPenalty);
            }
        }

        LogitsProcessing.ApplyFrequencyAndPresencePenalties(logits, generatedSpan, settings.FrequencyPenalty, settings.PresencePenalty);
    }

    /// <summary>The prompt's text ids (visual placeholder positions excluded), for penalties that count the prompt.</summary>
    internal static int[] TextIds(DecoderInput prompt)
    {
        var ids = prompt.TokenIds.Span;
        var result = new List<int>(ids.Length);
        var next = 0;
        foreach (var v in prompt.VisualEmbeddings)
        {
            for (; next < v.Offset; next++)
            {
                result.Add(ids[next]);
            }

            next = v.Offset + v.Embeddings.Dimension(0);
        }

        for (; next < ids.Length; next++)
        {
            result.Add(ids[next]);
        }

        return [.. result];
    }

    private static GenerationTimings BuildTimings(GenerationRequestInfo info, TimeSpan prefill, long firstTokenTimestamp, int completionTokens, TimeSpan? decodeCompute)
    {
        var now = Stopwatch.GetTimestamp();
        var ttft = firstTokenTimestamp == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(info.StartTimestamp, firstTokenTimestamp);
        var decode = decodeCompute ?? (firstTokenTimestamp == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(firstTokenTimestamp, now));
        return new GenerationTimings
        {
            Preprocess = info.Preprocess,
            VisionEncode = info.VisionEncode,
            Prefill = prefill,
            TimeToFirstToken = ttft,
            Decode = decode,
            Total = Stopwatch.GetElapsedTime(info.StartTimestamp, now),
            DecodeTokensPerSecond = completionTokens > 1 && decode > TimeSpan.Zero ? (completionTokens - 1) / decode.TotalSeconds : 0,
        };
    }
}
