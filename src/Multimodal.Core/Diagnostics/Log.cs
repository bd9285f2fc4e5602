// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.Logging;

namespace Multimodal;

/// <summary>The library's log events (source-generated, allocation-free when disabled).</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Loading model '{ModelId}' from '{ModelPath}' (family {Family}, backend {Backend}).")]
    public static partial void ModelLoading(ILogger logger, string modelId, string? modelPath, string family, string backend);

    [LoggerMessage(2, LogLevel.Information, "Loaded model '{ModelId}' in {ElapsedMs:F0} ms (vision encoder: {HasVision}, vocabulary {VocabularySize}, context {ContextLength}).")]
    public static partial void ModelLoaded(ILogger logger, string modelId, double elapsedMs, bool hasVision, int vocabularySize, int contextLength);

    [LoggerMessage(3, LogLevel.Error, "Loading model '{ModelId}' failed.")]
    public static partial void ModelLoadFailed(ILogger logger, Exception exception, string modelId);

    [LoggerMessage(4, LogLevel.Debug, "Prepared {Kind} input #{Index}: {Views} view(s), {Tokens} visual tokens.")]
    public static partial void VisualInputPrepared(ILogger logger, VisualInputKind kind, int index, int views, int tokens);

    [LoggerMessage(5, LogLevel.Debug, "Generating for model '{ModelId}': {PromptTokens} prompt positions ({VisualTokens} visual), {Mode}.")]
    public static partial void GenerationStarted(ILogger logger, string modelId, int promptTokens, int visualTokens, string mode);

    [LoggerMessage(6, LogLevel.Information, "Generated {CompletionTokens} tokens for model '{ModelId}' ({FinishReason}); time to first token {TtftMs:F0} ms, {TokensPerSecond:F1} tokens/s.")]
    public static partial void GenerationCompleted(ILogger logger, string modelId, int completionTokens, GenerationFinishReason finishReason, double ttftMs, double tokensPerSecond);

    [LoggerMessage(7, LogLevel.Debug, "Ignoring {ContentType} in a chat message: this model does not use it.")]
    public static partial void ContentIgnored(ILogger logger, string contentType);

    [LoggerMessage(8, LogLevel.Information, "Generation for model '{ModelId}' was cancelled after {CompletionTokens} tokens.")]
    public static partial void GenerationCancelled(ILogger logger, string modelId, int completionTokens);
}
