// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.Managed.Families;

/// <summary>The <see cref="IVisionEncoder"/> of a managed family: each view through the tower and projector (and the
/// family's per-view merging), returning <c>[tokens, hidden]</c> per view.</summary>
internal sealed class ManagedVisionEncoder(IViewEncoder encoder, string family) : IVisionEncoder
{
    public VisionEncoderMetadata Metadata { get; } = new("managed:" + family, encoder.ImageSize, encoder.PatchSize, encoder.OutputWidth, encoder.TokensPerView);

    public ValueTask<IReadOnlyList<DenseTensor<float>>> EncodeAsync(IReadOnlyList<DenseTensor<float>> views, VisionEncodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(views);
        var results = new DenseTensor<float>[views.Count];
        for (var i = 0; i < views.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ArgumentNullException.ThrowIfNull(views[i], nameof(views));
            var tokens = encoder.Encode(views[i], i, options);
            results[i] = new DenseTensor<float>(tokens, tokens.Length / encoder.OutputWidth, encoder.OutputWidth);
        }

        return ValueTask.FromResult<IReadOnlyList<DenseTensor<float>>>(results);
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this
            : serviceKey is null && serviceType == typeof(VisionEncoderMetadata) ? Metadata
            : null;
    }

    /// <summary>Gets or sets what disposing the encoder releases (the model's shared lifetime).</summary>
    internal IDisposable? Owner { get; set; }

    public void Dispose()
    {
        // Release the shared weights once, however often Dispose is called.
        var owner = Owner;
        Owner = null;
        owner?.Dispose();
    }
}
