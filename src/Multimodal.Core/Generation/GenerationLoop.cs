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
        GenerationFinishReason finish;

        while (true)
        {
            ApplyPenalties(logits, settings, promptIds, generated);
            var token = sampler.Next(logits);
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
            decoder.Forward(state, DecoderInput.Token(token), logits, cancellationToken);
        }

        var tail = matcher.Stopped ? string.Empty : matcher.Append(detokenizer.Flush()) + matcher.Flush();
        yield return new GenerationUpdate
        {
            Text = tail,
            TokenIds = [.. pendingIds],
            FinishReason = finish,
            Usage = new GenerationUsage(prompt.Length, info.VisualTokens, completionTokens),
            Timings = BuildTimings(info, prefill, firstTokenTimestamp, completionTokens),
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
        var forks = new List<IDecoderState>();
        try
        {
            // The caller's state is beam 0's cache; the other beams work on forks that are disposed at the end.
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

                // Give each chosen candidate a cache: the parent's own for its first child, a fork for the others.
                var uses = new int[beams.Count];
                foreach (var c in next)
                {
                    uses[c.Parent]++;
                }

                var newBeams = new List<BeamSearch.Beam>(next.Count);
                foreach (var c in next)
                {
                    var parent = beams[c.Parent];
                    IDecoderState childState;
                    if (--uses[c.Parent] > 0)
                    {
                        childState = parent.State.Fork();
                        forks.Add(childState);
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

                beams = search.MoveStopStringBeams(newBeams);
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

            // The caller's state must describe the returned sequence so that a conversation can continue from it:
            // rewind it to the prompt and feed the winning tokens in one pass (cheaper than tracking beam ownership).
            state.Truncate(startLength + prompt.Length);
            if (ids.Count > 0)
            {
                decoder.Forward(state, new DecoderInput(ids.ToArray()), firstLogits, cancellationToken);
            }

            var completion = ids.Count + (best.EndedWithStopToken ? 1 : 0);
            yield return new GenerationUpdate
            {
                Text = visible,
                TokenIds = ids,
                FinishReason = finish,
                Usage = new GenerationUsage(prompt.Length, info.VisualTokens, completion),
                Timings = BuildTimings(info, prefill, firstTokenTimestamp, completion),
            };
        }
        finally
        {
            foreach (var f in forks)
            {
                if (!ReferenceEquals(f, state))
                {
                    f.Dispose();
                }
            }
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

    private static GenerationTimings BuildTimings(GenerationRequestInfo info, TimeSpan prefill, long firstTokenTimestamp, int completionTokens)
    {
        var now = Stopwatch.GetTimestamp();
        var ttft = firstTokenTimestamp == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(info.StartTimestamp, firstTokenTimestamp);
        var decode = firstTokenTimestamp == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(firstTokenTimestamp, now);
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
