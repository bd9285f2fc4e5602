// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Multimodal;

/// <summary>A vision-language model composed from a family, a backend and media decoders; it is also a Microsoft.Extensions.AI <see cref="IChatClient"/>.</summary>
/// <remarks>
/// <para>Create it with <see cref="MultimodalModelBuilder"/> or <c>services.AddMultimodalModel(...)</c>. Nothing is loaded
/// until the first request or <see cref="LoadAsync"/>. A request flows: media parts are decoded (images, PDF pages,
/// video frames), split into views, preprocessed and encoded; the prompt template formats the conversation with each
/// visual input's token count and tokenizes it; the decoder prefills text and visual embeddings; the generation loop
/// streams text.</para>
/// <para>Messages are <see cref="ChatMessage"/>s. Media parts are <see cref="ImageContent"/>, <see cref="PdfContent"/>,
/// <see cref="VideoContent"/>, or <see cref="DataContent"/> with an <c>image/*</c>, <c>application/pdf</c> or <c>video/*</c>
/// media type.</para>
/// <para>Thread-safety: all members are thread-safe, <see cref="Dispose"/> included. Up to
/// <see cref="MultimodalModelOptions.MaxConcurrentRequests"/> requests generate at once; others wait in arrival order.
/// Ownership: the model disposes the vision encoder and language decoder it loaded or was given.</para>
/// </remarks>
public sealed class MultimodalModel : IChatClient, IAsyncDisposable
{
    private readonly ModelDefinition _definition;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    // The semaphores are never disposed: disposing one while a caller waits on it would strand that caller.
    private readonly SemaphoreSlim _loadLock = new(1, 1);
    private readonly SemaphoreSlim _concurrency;
    private readonly CancellationTokenSource _disposing = new();
    private readonly ChatClientMetadata _metadata;
    private volatile ModelComponents? _components;
    private int _disposed;
    private int _inFlight;

    internal MultimodalModel(ModelDefinition definition, IServiceProvider services, ILoggerFactory? loggerFactory)
    {
        _definition = definition;
        _services = services;
        _logger = (ILogger?)loggerFactory?.CreateLogger<MultimodalModel>() ?? NullLogger.Instance;
        _concurrency = new SemaphoreSlim(definition.Options.MaxConcurrentRequests, definition.Options.MaxConcurrentRequests);
        ModelId = definition.Options.ModelId
            ?? (definition.Options.ModelPath is { } p ? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(p))) : null)
            ?? definition.Family?.Name
            ?? "multimodal";
        _metadata = new ChatClientMetadata("multimodal", null, ModelId);
    }

    /// <summary>Gets the model id reported to clients.</summary>
    public string ModelId { get; }

    /// <summary>Gets the model's options.</summary>
    public MultimodalModelOptions Options => _definition.Options;

    /// <summary>Gets whether the components are loaded.</summary>
    public bool IsLoaded => _components is not null;

    /// <summary>Gets the loaded components.</summary>
    /// <exception cref="InvalidOperationException">The model is not loaded yet.</exception>
    public ModelComponents Components => _components ?? throw new InvalidOperationException($"Model '{ModelId}' is not loaded yet; call LoadAsync or send a request first.");

    /// <summary>Loads the model's components; later calls return at once. Concurrent callers share one load.</summary>
    /// <param name="progress">Receives progress of long stages (weights, quantization), or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the load; a later call starts again.</param>
    /// <returns>A task that completes when the model is ready.</returns>
    /// <exception cref="ModelLoadException">A component is missing or failed to load; the message says which and how to fix it.</exception>
    public async Task LoadAsync(IProgress<ProgressReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_components is not null)
        {
            return;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        try
        {
            await LoadCoreAsync(progress, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_disposed != 0 && !cancellationToken.IsCancellationRequested)
        {
            throw new ObjectDisposedException(ToString(), "The model was disposed while it was loading.");
        }
    }

    private async Task LoadCoreAsync(IProgress<ProgressReport>? progress, CancellationToken cancellationToken)
    {
        await _loadLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_components is not null)
            {
                return;
            }

            var start = Stopwatch.GetTimestamp();
            var options = _definition.Options;
            Log.ModelLoading(_logger, ModelId, options.ModelPath, _definition.Family?.Name ?? "(none)", _definition.Backend?.Name ?? "(none)");
            var context = new ModelLoadContext(options.ModelPath, _services, _logger, progress, options);
            try
            {
                if (_definition.Family is { } family)
                {
                    context.Report($"Configuring {family.Name}");
                    await family.ConfigureAsync(context, cancellationToken).ConfigureAwait(false);
                }

                if (_definition.Backend is { } backend)
                {
                    context.Report($"Loading weights ({backend.Name})");
                    await backend.LoadAsync(context, cancellationToken).ConfigureAwait(false);
                }

                foreach (var component in _definition.Components)
                {
                    component(context);
                }

                foreach (var step in context.PostLoadSteps)
                {
                    await step(context, cancellationToken).ConfigureAwait(false);
                }

                foreach (var step in _definition.LoadSteps)
                {
                    await step(context, cancellationToken).ConfigureAwait(false);
                }

                var components = Validate(context);
                _components = components;
                if (_disposed != 0)
                {
                    // Disposed while loading: release what was just loaded.
                    ReleaseComponents();
                    throw new ObjectDisposedException(ToString(), "The model was disposed while it was loading.");
                }

                context.Report("Ready", 1.0);
                var meta = components.LanguageDecoder.Metadata;
                Log.ModelLoaded(_logger, ModelId, Stopwatch.GetElapsedTime(start).TotalMilliseconds, components.VisionEncoder is not null, meta.VocabularySize, meta.ContextLength);
            }
            catch (Exception ex) when (ex is not ObjectDisposedException)
            {
                context.VisionEncoder?.Dispose();
                context.LanguageDecoder?.Dispose();
                Log.ModelLoadFailed(_logger, ex, ModelId);
                if (ex is MultimodalException or OperationCanceledException)
                {
                    throw;
                }

                throw new ModelLoadException($"Loading model '{ModelId}' failed: {ex.Message}", options.ModelPath, ex);
            }
        }
        finally
        {
            _loadLock.Release();
        }
    }

    /// <summary>Generates a reply, streaming text as it becomes final.</summary>
    /// <param name="messages">The conversation; media parts may appear in any message.</param>
    /// <param name="options">Generation settings; <see langword="null"/> for the model's defaults.</param>
    /// <param name="cancellationToken">Cancels within one decode step.</param>
    /// <returns>Text updates; the last carries the finish reason, usage and timings.</returns>
    /// <exception cref="ModelLoadException">The model could not be loaded.</exception>
    /// <exception cref="InvalidMediaException">A media part is corrupt or unreadable.</exception>
    /// <exception cref="UnsupportedRequestException">The request has media this model cannot take, too many media items, or unsupported content.</exception>
    /// <exception cref="ContextLengthExceededException">The prompt does not fit in the context window.</exception>
    public IAsyncEnumerable<GenerationUpdate> GenerateStreamingAsync(
        IEnumerable<ChatMessage> messages,
        GenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return GuardAsync(token => GenerateCoreAsync(messages, null, null, options, token), cancellationToken);
    }

    /// <summary>Starts a multi-turn conversation that keeps the KV cache between turns.</summary>
    /// <param name="systemPrompt">A system prompt for the whole conversation, or <see langword="null"/> for the family's default.</param>
    /// <returns>The session, which the caller disposes.</returns>
    public ChatSession CreateChatSession(string? systemPrompt = null)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return new ChatSession(this, systemPrompt);
    }

    internal IAsyncEnumerable<GenerationUpdate> GenerateTurnAsync(ChatSession session, ChatMessage message, GenerationOptions? options, CancellationToken cancellationToken) =>
        GuardAsync(token => GenerateCoreAsync([], session, message, options, token), cancellationToken);

    /// <summary>Runs a request's updates under the model's lifetime rules: counted in flight, cancelled on dispose.</summary>
    private async IAsyncEnumerable<GenerationUpdate> GuardAsync(
        Func<CancellationToken, IAsyncEnumerable<GenerationUpdate>> core,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            // Checked after counting this request in, so that Dispose either sees it or it sees Dispose.
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
            var updates = core(linked.Token).GetAsyncEnumerator(linked.Token);
            await using var disposeUpdates = updates.ConfigureAwait(false);
            while (true)
            {
                GenerationUpdate current;
                try
                {
                    if (!await updates.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }

                    current = updates.Current;
                }
                catch (OperationCanceledException) when (_disposed != 0 && !cancellationToken.IsCancellationRequested)
                {
                    throw new ObjectDisposedException(ToString(), "The model was disposed during the request.");
                }

                yield return current;
            }
        }
        finally
        {
            if (Interlocked.Decrement(ref _inFlight) == 0 && _disposed != 0)
            {
                ReleaseComponents();
            }
        }
    }

    private async IAsyncEnumerable<GenerationUpdate> GenerateCoreAsync(
        IEnumerable<ChatMessage> messages,
        ChatSession? session,
        ChatMessage? turnMessage,
        GenerationOptions? options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var activity = MultimodalTelemetry.ActivitySource.StartActivity("multimodal.generate", ActivityKind.Internal);
        activity?.SetTag("gen_ai.operation.name", "chat");
        activity?.SetTag("gen_ai.request.model", ModelId);

        // The one-time load is not part of a request's latency; waiting for a generation slot is.
        await LoadCoreAsync(null, cancellationToken).ConfigureAwait(false);
        var info = new GenerationRequestInfo();
        var components = Components;
        if (session is not null)
        {
            await session.EnterAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await _concurrency.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            session?.Exit();
            throw;
        }

        var finished = false;
        var completionTokens = 0;
        SessionTurn? turn = null;
        var generated = new List<int>();
        var reply = new System.Text.StringBuilder();
        try
        {
            FormattedPrompt formatted;
            DecoderInput input;
            IDecoderState? ownState = null;
            IDecoderState state;
            if (session is null)
            {
                var properties = GenerationSettings.Resolve(options, components.GenerationDefaults).AdditionalProperties;
                var request = new RequestPreparation(components, Options, _logger, info, options?.Progress, properties);
                var conversation = await request.PrepareAsync(messages, cancellationToken).ConfigureAwait(false);
                formatted = components.PromptTemplate.Format(conversation);
                var tokens = components.PromptTemplate.Tokenize(formatted, components.Tokenizer);
                input = request.BuildDecoderInput(tokens, components.LanguageDecoder.Metadata.HiddenSize);
                info.VisualTokens = tokens.VisualTokenCount;
                state = ownState = components.LanguageDecoder.CreateState();
            }
            else
            {
                turn = await session.PrepareTurnAsync(components, Options, _logger, info, options, turnMessage!, cancellationToken).ConfigureAwait(false);
                formatted = turn.Formatted;
                input = turn.Input;
                info.VisualTokens = turn.Tokens.VisualTokenCount;
                state = turn.State;
            }

            using var disposeState = ownState;
            var stopIds = StopIds(components, formatted.StopStrings, options?.StopStrings);
            var settings = GenerationSettings.Resolve(options, components.GenerationDefaults, formatted.StopStrings, stopIds);
            Log.GenerationStarted(_logger, ModelId, input.Length, info.VisualTokens, settings.NumBeams > 1 ? $"beam search ({settings.NumBeams} beams)" : settings.DoSample ? "sampling" : "greedy");

            await foreach (var update in GenerationLoop.RunAsync(components.LanguageDecoder, state, input, components.Tokenizer, settings, info, cancellationToken).ConfigureAwait(false))
            {
                completionTokens += update.TokenIds.Count;
                generated.AddRange(update.TokenIds);
                reply.Append(update.Text);
                if (update.FinishReason is { } reason)
                {
                    finished = true;
                    Record(activity, update.Usage!, update.Timings!, reason);
                    if (turn is not null)
                    {
                        session!.CompleteTurn(turn, generated, reply.ToString());
                    }
                }

                yield return update;
            }
        }
        finally
        {
            _concurrency.Release();
            if (session is not null)
            {
                if (!finished)
                {
                    session.AbandonTurn();
                }

                session.Exit();
            }

            if (!finished)
            {
                MultimodalTelemetry.Requests.Add(1, new("gen_ai.request.model", ModelId), new("outcome", cancellationToken.IsCancellationRequested ? "cancelled" : "error"));
                if (cancellationToken.IsCancellationRequested)
                {
                    Log.GenerationCancelled(_logger, ModelId, completionTokens);
                }
            }
        }
    }

    /// <summary>The tokenizer's EOS ids, plus stop strings that are single special tokens (which never appear in the decoded text).</summary>
    private static List<int> StopIds(ModelComponents components, IReadOnlyList<string> templateStops, IList<string>? requestStops)
    {
        var ids = new List<int>(components.Tokenizer.SpecialTokens.EosTokenIds);
        foreach (var stop in templateStops.Concat(requestStops ?? []).Concat(components.GenerationDefaults.StopStrings ?? []))
        {
            if (components.Tokenizer.TokenToId(stop) is { } id && components.Tokenizer.SpecialTokens.AllSpecialIds.Contains(id))
            {
                ids.Add(id);
            }
        }

        return ids;
    }

    /// <summary>Generates a whole reply.</summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="options">Generation settings; <see langword="null"/> for the model's defaults.</param>
    /// <param name="cancellationToken">Cancels within one decode step.</param>
    /// <returns>The reply, its token ids, finish reason, usage and timings.</returns>
    /// <exception cref="ModelLoadException">The model could not be loaded.</exception>
    /// <exception cref="InvalidMediaException">A media part is corrupt or unreadable.</exception>
    /// <exception cref="UnsupportedRequestException">The request has media this model cannot take, or too many media items.</exception>
    /// <exception cref="ContextLengthExceededException">The prompt does not fit in the context window.</exception>
    public Task<GenerationResult> GenerateAsync(IEnumerable<ChatMessage> messages, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        GenerateStreamingAsync(messages, options, cancellationToken).ToGenerationResultAsync(cancellationToken);

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// <see cref="ChatOptions"/> maps to <see cref="GenerationOptions"/>: <c>MaxOutputTokens</c>, <c>Temperature</c>, <c>TopP</c>,
    /// <c>TopK</c>, <c>FrequencyPenalty</c>, <c>PresencePenalty</c>, <c>Seed</c>, <c>StopSequences</c>, and <c>Instructions</c> as a
    /// system message. <c>AdditionalProperties</c> may carry <c>repetition_penalty</c>, <c>min_p</c>, <c>num_beams</c>,
    /// <c>length_penalty</c>, <c>early_stopping</c>, <c>do_sample</c>, and family options such as <c>token_kept_ratio</c>.
    /// The final update carries the finish reason, a <see cref="UsageContent"/> (with <c>visual_tokens</c> in
    /// <see cref="UsageDetails.AdditionalCounts"/>) and the timings in <see cref="ChatResponseUpdate.AdditionalProperties"/>.
    /// Tools and response formats are not supported by local models and are ignored.
    /// </remarks>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var conversation = messages;
        if (!string.IsNullOrEmpty(options?.Instructions))
        {
            conversation = [new ChatMessage(ChatRole.System, options.Instructions), .. messages];
        }

        var generationOptions = ChatOptionsMapping.ToGenerationOptions(options);
        var responseId = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow;
        await foreach (var update in GenerateStreamingAsync(conversation, generationOptions, cancellationToken).ConfigureAwait(false))
        {
            var chatUpdate = new ChatResponseUpdate(ChatRole.Assistant, update.Text.Length > 0 ? update.Text : null)
            {
                ResponseId = responseId,
                MessageId = responseId,
                CreatedAt = created,
                ModelId = ModelId,
                ConversationId = options?.ConversationId,
            };

            if (update.FinishReason is { } reason)
            {
                chatUpdate.FinishReason = reason is GenerationFinishReason.MaxTokens or GenerationFinishReason.ContextLength ? ChatFinishReason.Length : ChatFinishReason.Stop;
                chatUpdate.Contents.Add(new UsageContent(ChatOptionsMapping.ToUsageDetails(update.Usage!)));
                chatUpdate.AdditionalProperties = ChatOptionsMapping.ToProperties(update.Timings!);
            }

            yield return chatUpdate;
        }
    }

    /// <inheritdoc />
    /// <remarks>Returns <see cref="ChatClientMetadata"/>, the model itself, <see cref="MultimodalModelOptions"/>, and, once loaded, <see cref="ModelComponents"/> and each component by its interface.</remarks>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(ChatClientMetadata))
        {
            return _metadata;
        }

        if (serviceType.IsInstanceOfType(this))
        {
            return this;
        }

        if (serviceType == typeof(MultimodalModelOptions))
        {
            return Options;
        }

        if (_components is not { } c)
        {
            return null;
        }

        if (serviceType == typeof(ModelComponents))
        {
            return c;
        }

        object?[] candidates = [c.Tokenizer, c.PromptTemplate, c.LanguageDecoder, c.VisionEncoder, c.ImageSplitter, c.ImageProcessor, c.TokenMerger, c.ImageDecoder, c.PdfRasterizer, c.VideoFrameSource];
        return candidates.FirstOrDefault(serviceType.IsInstanceOfType);
    }

    /// <summary>Releases the vision encoder and language decoder. Safe to call more than once, and while requests run.</summary>
    /// <remarks>
    /// Requests waiting for a generation slot end at once, and running requests within one decode step, with an
    /// <see cref="ObjectDisposedException"/>; the components are released when the last request has left.
    /// </remarks>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _disposing.Cancel();
        if (Volatile.Read(ref _inFlight) == 0)
        {
            ReleaseComponents();
        }
    }

    private void ReleaseComponents()
    {
#pragma warning disable CS0420 // Interlocked on a volatile field is fine.
        var c = Interlocked.Exchange(ref _components, null);
#pragma warning restore CS0420
        c?.VisionEncoder?.Dispose();
        c?.LanguageDecoder?.Dispose();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override string ToString() => $"MultimodalModel '{ModelId}' ({(IsLoaded ? "loaded" : "not loaded")})";

    private ModelComponents Validate(ModelLoadContext c)
    {
        static string Missing(string what, string fix) => $"{what} Call {fix}.";
        var family = _definition.Family is null ? "UseFamily(...) with a model family package" : $"a family that sets it ({_definition.Family.Name} did not)";
        var tokenizer = c.Tokenizer ?? throw new ModelLoadException(Missing($"Model '{ModelId}' has no tokenizer.", $"{family}, or UseTokenizer(...)"), c.ModelPath);
        var template = c.PromptTemplate ?? throw new ModelLoadException(Missing($"Model '{ModelId}' has no prompt template.", $"{family}, or UsePromptTemplate(...)"), c.ModelPath);
        var decoder = c.LanguageDecoder ?? throw new ModelLoadException(Missing($"Model '{ModelId}' has no language decoder.", "UseBackend(...) with a backend package, or UseLanguageDecoder(...)"), c.ModelPath);
        if (c.VisionEncoder is { } encoder)
        {
            if (c.ImageProcessor is null)
            {
                throw new ModelLoadException(Missing($"Model '{ModelId}' has a vision encoder but no image processor to prepare its pixels.", $"{family}, or UseImageProcessor(...)"), c.ModelPath);
            }

            if (encoder.Metadata.OutputHiddenSize != decoder.Metadata.HiddenSize)
            {
                throw new ModelLoadException($"Model '{ModelId}': the vision encoder outputs {encoder.Metadata.OutputHiddenSize}-wide embeddings but the language decoder's hidden size is {decoder.Metadata.HiddenSize}. The encoder and decoder do not belong together.", c.ModelPath);
            }
        }

        // Option-level defaults sit over the family's; builder callbacks sit over both.
        var g = c.GenerationDefaults;
        var o = _definition.Options;
        g.MaxNewTokens = o.MaxNewTokens ?? g.MaxNewTokens;
        g.Temperature = o.Temperature is { } t ? (float)t : g.Temperature;
        g.TopP = o.TopP is { } p ? (float)p : g.TopP;
        foreach (var configure in _definition.Generation)
        {
            configure(g);
        }

        return new ModelComponents(tokenizer, template, decoder, c.VisionEncoder, c.ImageSplitter, c.ImageProcessor, c.TokenMerger, c.LayerTokenMerger, c.ImageDecoder, c.PdfRasterizer, c.VideoFrameSource, g);
    }

    private void Record(Activity? activity, GenerationUsage usage, GenerationTimings timings, GenerationFinishReason reason)
    {
        KeyValuePair<string, object?> model = new("gen_ai.request.model", ModelId);
        MultimodalTelemetry.Requests.Add(1, model, new("outcome", "ok"));
        MultimodalTelemetry.Tokens.Add(usage.TextPromptTokens, model, new("multimodal.token.type", "prompt"));
        MultimodalTelemetry.Tokens.Add(usage.VisualTokens, model, new("multimodal.token.type", "visual"));
        MultimodalTelemetry.Tokens.Add(usage.CompletionTokens, model, new("multimodal.token.type", "completion"));
        MultimodalTelemetry.TimeToFirstToken.Record(timings.TimeToFirstToken.TotalSeconds, model);
        MultimodalTelemetry.RequestDuration.Record(timings.Total.TotalSeconds, model);
        activity?.SetTag("gen_ai.usage.input_tokens", usage.PromptTokens);
        activity?.SetTag("gen_ai.usage.output_tokens", usage.CompletionTokens);
        activity?.SetTag("multimodal.usage.visual_tokens", usage.VisualTokens);
        activity?.SetTag("gen_ai.response.finish_reasons", reason.ToString());
        Log.GenerationCompleted(_logger, ModelId, usage.CompletionTokens, reason, timings.TimeToFirstToken.TotalMilliseconds, timings.DecodeTokensPerSecond);
    }
}
