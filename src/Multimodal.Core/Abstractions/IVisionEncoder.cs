// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>Turns preprocessed pixels of one or more views (tiles, slices, frames) into visual embeddings in the language model's space: the vision tower plus the projector.</summary>
/// <remarks>
/// <para>Output is per view, in input order, so that splitters and token mergers can work on each view.</para>
/// <para>Thread-safety: implementations must allow concurrent <see cref="EncodeAsync"/> calls (serialising internally if the backend requires it).</para>
/// <para>Ownership: the encoder owns its weights or native sessions; dispose it to release them. It does not keep the input tensors.</para>
/// </remarks>
public interface IVisionEncoder : IDisposable
{
    /// <summary>Gets what the encoder expects and produces.</summary>
    VisionEncoderMetadata Metadata { get; }

    /// <summary>Encodes a batch of views.</summary>
    /// <param name="views">One tensor per view, each <c>[channels, height, width]</c>, normalised as <see cref="VisionEncoderMetadata"/> describes. Views may differ in size when the family allows it.</param>
    /// <param name="options">Per-call options such as an in-layer token merger; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels between layers or batches.</param>
    /// <returns>One tensor per view, each <c>[tokens, languageHiddenSize]</c>.</returns>
    /// <exception cref="ArgumentException">A view has the wrong number of channels or an unsupported size.</exception>
    ValueTask<IReadOnlyList<DenseTensor<float>>> EncodeAsync(IReadOnlyList<DenseTensor<float>> views, VisionEncodeOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Asks for an optional service: <see cref="VisionEncoderMetadata"/>, the underlying native session, or the encoder itself.</summary>
    /// <param name="serviceType">The type of service requested.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The service, or <see langword="null"/>.</returns>
    object? GetService(Type serviceType, object? serviceKey = null);
}

/// <summary>Per-call options for <see cref="IVisionEncoder.EncodeAsync"/>.</summary>
public sealed class VisionEncodeOptions
{
    /// <summary>Gets or sets a merger the encoder applies inside its layers (AuroraCap runs ToMe between attention and MLP of every layer); <see langword="null"/> for none.</summary>
    public ITokenMerger? LayerMerger { get; set; }

    /// <summary>Gets or sets free-form options for a specific encoder.</summary>
    public IReadOnlyDictionary<string, object?>? AdditionalProperties { get; set; }
}

/// <summary>Describes a vision encoder.</summary>
/// <param name="ProviderName">The backend, for example <c>managed</c> or <c>onnxruntime</c>.</param>
/// <param name="ImageSize">The square input size in pixels the tower was trained at, or 0 when variable.</param>
/// <param name="PatchSize">The patch size in pixels.</param>
/// <param name="OutputHiddenSize">The width of each output embedding (the language model's hidden size).</param>
/// <param name="TokensPerView">The number of output tokens for a view of <paramref name="ImageSize"/> before any merging, or 0 when it depends on the view size.</param>
public sealed record VisionEncoderMetadata(string ProviderName, int ImageSize, int PatchSize, int OutputHiddenSize, int TokensPerView);
