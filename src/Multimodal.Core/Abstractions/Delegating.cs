// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>A vision encoder that forwards to another; derive from it to add behaviour (caching, logging, instrumentation) around an encoder.</summary>
public class DelegatingVisionEncoder : IVisionEncoder
{
    /// <summary>Initializes a delegating encoder.</summary>
    /// <param name="innerEncoder">The encoder to forward to; disposed with this one.</param>
    protected DelegatingVisionEncoder(IVisionEncoder innerEncoder)
    {
        ArgumentNullException.ThrowIfNull(innerEncoder);
        InnerEncoder = innerEncoder;
    }

    /// <summary>Gets the encoder calls are forwarded to.</summary>
    protected IVisionEncoder InnerEncoder { get; }

    /// <inheritdoc />
    public virtual VisionEncoderMetadata Metadata => InnerEncoder.Metadata;

    /// <inheritdoc />
    public virtual ValueTask<IReadOnlyList<DenseTensor<float>>> EncodeAsync(IReadOnlyList<DenseTensor<float>> views, VisionEncodeOptions? options = null, CancellationToken cancellationToken = default) =>
        InnerEncoder.EncodeAsync(views, options, cancellationToken);

    /// <inheritdoc />
    public virtual object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : InnerEncoder.GetService(serviceType, serviceKey);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the inner encoder.</summary>
    /// <param name="disposing">Whether called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            InnerEncoder.Dispose();
        }
    }
}

/// <summary>A language decoder that forwards to another; derive from it to add behaviour around a decoder.</summary>
public class DelegatingLanguageDecoder : ILanguageDecoder
{
    /// <summary>Initializes a delegating decoder.</summary>
    /// <param name="innerDecoder">The decoder to forward to; disposed with this one.</param>
    protected DelegatingLanguageDecoder(ILanguageDecoder innerDecoder)
    {
        ArgumentNullException.ThrowIfNull(innerDecoder);
        InnerDecoder = innerDecoder;
    }

    /// <summary>Gets the decoder calls are forwarded to.</summary>
    protected ILanguageDecoder InnerDecoder { get; }

    /// <inheritdoc />
    public virtual LanguageDecoderMetadata Metadata => InnerDecoder.Metadata;

    /// <inheritdoc />
    public virtual IDecoderState CreateState() => InnerDecoder.CreateState();

    /// <inheritdoc />
    public virtual void Forward(IDecoderState state, DecoderInput input, Span<float> logits, CancellationToken cancellationToken = default) =>
        InnerDecoder.Forward(state, input, logits, cancellationToken);

    /// <inheritdoc />
    public virtual object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : InnerDecoder.GetService(serviceType, serviceKey);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the inner decoder.</summary>
    /// <param name="disposing">Whether called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            InnerDecoder.Dispose();
        }
    }
}
