// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>The language model: prefills text and visual embeddings, then decodes step by step over a KV cache the caller owns.</summary>
/// <remarks>
/// <para>The cache lives in an <see cref="IDecoderState"/> from <see cref="CreateState"/>. A caller can keep a state across
/// conversation turns, <see cref="IDecoderState.Truncate"/> it to rewind, and <see cref="IDecoderState.Fork"/> it for beam search.</para>
/// <para>Thread-safety: <see cref="Forward"/> may run concurrently on different states; one state is used by one caller at a time.</para>
/// <para>Ownership: the decoder owns its weights or sessions; each state owns its cache. Dispose both.</para>
/// </remarks>
public interface ILanguageDecoder : IDisposable
{
    /// <summary>Gets the vocabulary size, context length and hidden size.</summary>
    LanguageDecoderMetadata Metadata { get; }

    /// <summary>Creates an empty KV cache.</summary>
    /// <returns>A state of length 0.</returns>
    IDecoderState CreateState();

    /// <summary>Appends positions to a state and computes the logits of the last one.</summary>
    /// <param name="state">The cache to extend.</param>
    /// <param name="input">Token ids, and visual embeddings that replace the ids in their spans.</param>
    /// <param name="logits">Receives the next-token logits; length <see cref="LanguageDecoderMetadata.VocabularySize"/>.</param>
    /// <param name="cancellationToken">Checked between layers or chunks of a long prefill.</param>
    /// <exception cref="ContextLengthExceededException">The state would grow past the context length.</exception>
    void Forward(IDecoderState state, DecoderInput input, Span<float> logits, CancellationToken cancellationToken = default);

    /// <summary>Asks for an optional service: <see cref="LanguageDecoderMetadata"/>, the native session, or the decoder itself.</summary>
    /// <param name="serviceType">The type of service requested.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The service, or <see langword="null"/>.</returns>
    object? GetService(Type serviceType, object? serviceKey = null);
}

/// <summary>A KV cache: the positions a decoder has seen.</summary>
public interface IDecoderState : IDisposable
{
    /// <summary>Gets the number of cached positions.</summary>
    int Length { get; }

    /// <summary>Drops cached positions from the end.</summary>
    /// <param name="length">The length to keep; at most <see cref="Length"/>.</param>
    void Truncate(int length);

    /// <summary>Copies the state so that both can be extended independently (beam search).</summary>
    /// <returns>The copy, which the caller disposes.</returns>
    IDecoderState Fork();
}

/// <summary>Describes a language decoder.</summary>
/// <param name="ProviderName">The backend, for example <c>managed</c>.</param>
/// <param name="VocabularySize">The number of logits per position.</param>
/// <param name="ContextLength">The maximum number of positions.</param>
/// <param name="HiddenSize">The embedding width visual embeddings must have.</param>
public sealed record LanguageDecoderMetadata(string ProviderName, int VocabularySize, int ContextLength, int HiddenSize);

/// <summary>Positions to feed a decoder: ids, with visual embeddings replacing the ids in their spans.</summary>
public sealed class DecoderInput
{
    /// <summary>Initializes an input.</summary>
    /// <param name="tokenIds">One id per position; positions covered by <paramref name="visualEmbeddings"/> hold a placeholder.</param>
    /// <param name="visualEmbeddings">Embeddings placed at offsets, each <c>[n, hiddenSize]</c>, non-overlapping and in ascending order; <see langword="null"/> for text only.</param>
    /// <exception cref="ArgumentException">A span is out of range or overlaps another.</exception>
    public DecoderInput(ReadOnlyMemory<int> tokenIds, IReadOnlyList<PlacedEmbeddings>? visualEmbeddings = null)
    {
        var end = 0;
        foreach (var v in visualEmbeddings ?? [])
        {
            if (v.Offset < end || v.Offset + v.Embeddings.Dimension(0) > tokenIds.Length)
            {
                throw new ArgumentException($"Visual embeddings at offset {v.Offset} ({v.Embeddings.Dimension(0)} rows) overlap a previous span or run past the {tokenIds.Length} positions.", nameof(visualEmbeddings));
            }

            end = v.Offset + v.Embeddings.Dimension(0);
        }

        TokenIds = tokenIds;
        VisualEmbeddings = visualEmbeddings ?? [];
    }

    /// <summary>Gets one id per position.</summary>
    public ReadOnlyMemory<int> TokenIds { get; }

    /// <summary>Gets the visual embeddings and where they go.</summary>
    public IReadOnlyList<PlacedEmbeddings> VisualEmbeddings { get; }

    /// <summary>Gets the number of positions.</summary>
    public int Length => TokenIds.Length;

    /// <summary>Creates a text-only input of one token (a decode step).</summary>
    /// <param name="tokenId">The token.</param>
    /// <returns>The input.</returns>
    public static DecoderInput Token(int tokenId) => new(new[] { tokenId });
}

/// <summary>Embeddings placed at an offset of a <see cref="DecoderInput"/>.</summary>
/// <param name="Offset">The first position.</param>
/// <param name="Embeddings">A tensor <c>[n, hiddenSize]</c>.</param>
public sealed record PlacedEmbeddings(int Offset, DenseTensor<float> Embeddings);
