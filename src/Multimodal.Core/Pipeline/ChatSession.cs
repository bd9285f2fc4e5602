// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;

namespace Multimodal;

/// <summary>A multi-turn conversation with a <see cref="MultimodalModel"/> that keeps the language model's KV cache between turns, so each turn prefills only what is new.</summary>
/// <remarks>
/// <para>Create one with <see cref="MultimodalModel.CreateChatSession"/>. Each <see cref="SendStreamingAsync"/> adds a user
/// message (text, images, PDF pages or videos, in any turn), formats the whole conversation with the family's template,
/// and compares its positions with those already in the cache: the longest common prefix is kept and only the rest is
/// prefilled. Media of earlier turns are encoded once. The reply is added to <see cref="History"/>.</para>
/// <para>The result is the same as sending the whole history to <see cref="MultimodalModel.GenerateAsync"/>: the cache
/// holds exactly the positions a fresh prefill of the conversation would compute (where the tokenization of a reply
/// differs from the tokens generated, the cache is cut back to where they agree).</para>
/// <para>Thread-safety: one turn runs at a time; a second concurrent call waits. Dispose the session to release its cache.</para>
/// </remarks>
public sealed class ChatSession : IDisposable
{
    private readonly MultimodalModel _model;
    private readonly List<ChatMessage> _history = [];
    private readonly List<PromptMessage> _prompt = [];
    private readonly SemaphoreSlim _turn = new(1, 1);
    private RequestPreparation? _preparation;
    private IDecoderState? _state;
    private long[] _cached = [];
    private bool _disposed;

    internal ChatSession(MultimodalModel model, string? systemPrompt)
    {
        _model = model;
        SystemPrompt = systemPrompt;
        if (systemPrompt is not null)
        {
            _history.Add(new ChatMessage(ChatRole.System, systemPrompt));
        }
    }

    /// <summary>Gets the system prompt the session started with, if any.</summary>
    public string? SystemPrompt { get; }

    /// <summary>Gets the conversation so far (the system prompt, user messages and replies).</summary>
    public IReadOnlyList<ChatMessage> History => _history;

    /// <summary>Gets the number of positions in the KV cache.</summary>
    public int CachedTokens => _state?.Length ?? 0;

    /// <summary>Gets how the last turn used the cache, or <see langword="null"/> before the first turn.</summary>
    public ChatTurnStatistics? LastTurn { get; private set; }

    /// <summary>Sends a user message and streams the reply.</summary>
    /// <param name="message">The user message (text and media parts).</param>
    /// <param name="options">Generation settings for this turn; <see langword="null"/> for the model's defaults.</param>
    /// <param name="cancellationToken">Cancels within one decode step; the turn is then not added to the history and the cache is reset.</param>
    /// <returns>Text updates; the last carries the finish reason, usage and timings.</returns>
    /// <exception cref="UnsupportedRequestException">The message cannot be expressed by the family (for example a second image where only one is allowed).</exception>
    /// <exception cref="ContextLengthExceededException">The conversation no longer fits in the context window; call <see cref="Reset"/>.</exception>
    public IAsyncEnumerable<GenerationUpdate> SendStreamingAsync(ChatMessage message, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (message.Role != ChatRole.User)
        {
            throw new ArgumentException($"A chat session sends user messages; got role '{message.Role}'.", nameof(message));
        }

        return _model.GenerateTurnAsync(this, message, options, cancellationToken);
    }

    /// <summary>Sends a user message and returns the whole reply.</summary>
    /// <param name="message">The user message.</param>
    /// <param name="options">Generation settings for this turn.</param>
    /// <param name="cancellationToken">Cancels within one decode step.</param>
    /// <returns>The reply with usage and timings.</returns>
    public Task<GenerationResult> SendAsync(ChatMessage message, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        SendStreamingAsync(message, options, cancellationToken).ToGenerationResultAsync(cancellationToken);

    /// <summary>Sends text as a user message and returns the whole reply.</summary>
    /// <param name="text">The text.</param>
    /// <param name="options">Generation settings for this turn.</param>
    /// <param name="cancellationToken">Cancels within one decode step.</param>
    /// <returns>The reply.</returns>
    public Task<GenerationResult> SendAsync(string text, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        SendAsync(new ChatMessage(ChatRole.User, text), options, cancellationToken);

    /// <summary>Forgets the conversation (keeping the system prompt) and empties the cache.</summary>
    public void Reset()
    {
        _turn.Wait();
        try
        {
            ResetCore();
            if (SystemPrompt is not null)
            {
                _history.Add(new ChatMessage(ChatRole.System, SystemPrompt));
            }
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>Releases the cache.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _state?.Dispose();
        _state = null;
    }

    internal Task EnterAsync(CancellationToken cancellationToken) => _turn.WaitAsync(cancellationToken);

    internal void Exit() => _turn.Release();

    /// <summary>Prepares a turn: encodes the new message's media, formats the whole conversation, and cuts the cache back to the longest prefix it shares with the new prompt.</summary>
    internal async Task<SessionTurn> PrepareTurnAsync(ModelComponents components, MultimodalModelOptions options, Microsoft.Extensions.Logging.ILogger logger, GenerationRequestInfo info, GenerationOptions? request, ChatMessage message, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var properties = GenerationSettings.Resolve(request, components.GenerationDefaults).AdditionalProperties;
        if (_preparation is null)
        {
            _preparation = new RequestPreparation(components, options, logger, info, request?.Progress, properties);
            if (SystemPrompt is not null)
            {
                _prompt.Add(new PromptMessage(ChatRole.System, [new PromptTextPart(SystemPrompt)]));
            }
        }
        else
        {
            _preparation.BeginRequest(info, properties, request?.Progress);
        }

        var added = await _preparation.PrepareAsync([message], cancellationToken).ConfigureAwait(false);
        var messages = new List<PromptMessage>(_prompt) { added.Messages[0] };
        var formatted = components.PromptTemplate.Format(new PromptConversation(messages));
        var tokens = components.PromptTemplate.Tokenize(formatted, components.Tokenizer);
        var input = _preparation.BuildDecoderInput(tokens, components.LanguageDecoder.Metadata.HiddenSize);
        var keys = Keys(tokens);

        _state ??= components.LanguageDecoder.CreateState();
        var common = 0;
        var limit = Math.Min(Math.Min(_cached.Length, _state.Length), keys.Length - 1); // at least one position is recomputed for the next logits
        while (common < limit && _cached[common] == keys[common])
        {
            common++;
        }

        // Never cut inside a visual run.
        foreach (var span in tokens.VisualSpans)
        {
            if (common > span.Offset && common < span.Offset + span.Segment.TokenCount)
            {
                common = span.Offset;
            }
        }

        _state.Truncate(common);
        var suffix = Slice(input, common);
        return new SessionTurn(message, added.Messages[0], formatted, tokens, keys, suffix, _state, common);
    }

    /// <summary>Records a finished turn: the reply joins the history and the cache keys follow what the decoder was fed.</summary>
    internal void CompleteTurn(SessionTurn turn, IReadOnlyList<int> generated, string reply)
    {
        _history.Add(turn.Message);
        _history.Add(new ChatMessage(ChatRole.Assistant, reply));
        _prompt.Add(turn.PromptMessage);
        _prompt.Add(new PromptMessage(ChatRole.Assistant, [new PromptTextPart(reply)]));
        var fed = new long[turn.State.Length];
        var n = Math.Min(turn.Keys.Length, fed.Length);
        Array.Copy(turn.Keys, fed, n);
        for (var i = n; i < fed.Length; i++)
        {
            fed[i] = generated[i - turn.Keys.Length];
        }

        _cached = fed;
        LastTurn = new ChatTurnStatistics(turn.Reused, turn.Keys.Length - turn.Reused, turn.Keys.Length);
    }

    /// <summary>Forgets a turn that failed or was cancelled: the cache may hold part of it, so it is emptied.</summary>
    internal void AbandonTurn()
    {
        _state?.Truncate(0);
        _cached = [];
    }

    private void ResetCore()
    {
        _history.Clear();
        _prompt.Clear();
        _preparation = null;
        _state?.Dispose();
        _state = null;
        _cached = [];
        LastTurn = null;
    }

    /// <summary>One key per position: the token id, or for a visual position its input and row (two images never compare equal).</summary>
    private static long[] Keys(PromptTokens tokens)
    {
        var keys = new long[tokens.Ids.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = tokens.Ids[i];
        }

        foreach (var span in tokens.VisualSpans)
        {
            for (var r = 0; r < span.Segment.TokenCount; r++)
            {
                keys[span.Offset + r] = long.MinValue + ((long)span.Segment.InputIndex << 32) + ((long)span.Segment.FirstView << 24) + r;
            }
        }

        return keys;
    }

    private static DecoderInput Slice(DecoderInput input, int start)
    {
        if (start == 0)
        {
            return input;
        }

        var placed = input.VisualEmbeddings.Where(p => p.Offset >= start).Select(p => p with { Offset = p.Offset - start }).ToList();
        return new DecoderInput(input.TokenIds[start..], placed);
    }
}

/// <summary>How a chat turn used the KV cache.</summary>
/// <param name="ReusedTokens">Positions kept from earlier turns.</param>
/// <param name="PrefilledTokens">Positions computed for this turn's prompt.</param>
/// <param name="PromptTokens">The whole conversation's prompt length.</param>
public sealed record ChatTurnStatistics(int ReusedTokens, int PrefilledTokens, int PromptTokens);

/// <summary>A prepared chat turn.</summary>
internal sealed record SessionTurn(ChatMessage Message, PromptMessage PromptMessage, FormattedPrompt Formatted, PromptTokens Tokens, long[] Keys, DecoderInput Input, IDecoderState State, int Reused);
