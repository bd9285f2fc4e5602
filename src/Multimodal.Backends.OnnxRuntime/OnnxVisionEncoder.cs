// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.OnnxRuntime.Native;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>
/// An <see cref="IVisionEncoder"/> over <c>vision_encoder.onnx</c>: <c>pixel_values [N, 3, H, W]</c> →
/// <c>image_features [N, tokens, hidden]</c> (the tower and the projector). Views of the same size run as one batch.
/// </summary>
internal sealed class OnnxVisionEncoder : IVisionEncoder
{
    private readonly OrtSession _session;
    private readonly string _input;
    private readonly string _output;
    private readonly int _batch;
    private readonly int _height;
    private readonly int _width;
    private int _disposed;

    public OnnxVisionEncoder(OrtSession session, int patchSize, int batchSize, string providerName)
    {
        _session = session;
        _batch = Math.Max(1, batchSize);
        var pixels = session.Inputs.FirstOrDefault(i => i.Name == "pixel_values") ?? (session.Inputs.Count == 1 ? session.Inputs[0] : null)
            ?? throw new ModelLoadException($"The vision encoder graph has no pixel_values input (it has {string.Join(", ", session.Inputs.Select(i => i.Name))}).");
        if (session.Inputs.Count != 1)
        {
            throw new ModelLoadException($"The vision encoder graph takes {string.Join(", ", session.Inputs.Select(i => i.Name))}; only a graph with the single input pixel_values [N, 3, H, W] is supported.");
        }

        var features = session.Outputs.FirstOrDefault(o => o.Name == "image_features") ?? session.Outputs[0];
        if (pixels.Shape.Length != 4 || features.Shape.Length != 3 || features.Shape[2] <= 0)
        {
            throw new ModelLoadException($"The vision encoder must map pixel_values [N, 3, H, W] to image_features [N, tokens, hidden]; it maps {pixels.Name} [{string.Join(", ", pixels.Shape)}] to {features.Name} [{string.Join(", ", features.Shape)}].");
        }

        _input = pixels.Name;
        _output = features.Name;
        (_height, _width) = ((int)Math.Max(0, pixels.Shape[2]), (int)Math.Max(0, pixels.Shape[3]));
        var size = pixels.Shape[2] > 0 && pixels.Shape[2] == pixels.Shape[3] ? (int)pixels.Shape[2] : 0;
        Metadata = new VisionEncoderMetadata(providerName, size, patchSize, (int)features.Shape[2], features.Shape[1] > 0 ? (int)features.Shape[1] : 0);
    }

    public VisionEncoderMetadata Metadata { get; }

    public ValueTask<IReadOnlyList<DenseTensor<float>>> EncodeAsync(IReadOnlyList<DenseTensor<float>> views, VisionEncodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(views);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (options?.LayerMerger is not null)
        {
            throw new UnsupportedRequestException("The ONNX Runtime vision encoder runs a fixed graph and cannot merge tokens inside its layers (AuroraCap's token_kept_ratio below 1). Use the managed backend for merged encodings, or a token_kept_ratio of 1.");
        }

        for (var i = 0; i < views.Count; i++)
        {
            if (Problem(views[i]) is { } problem)
            {
                throw new ArgumentException($"View {i}: {problem}", nameof(views));
            }
        }

        var results = new DenseTensor<float>[views.Count];
        var start = 0;
        while (start < views.Count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var first = views[start];
            var end = start + 1;
            while (end < views.Count && end - start < _batch && SameShape(views[end], first))
            {
                end++;
            }

            Run(views, start, end, results, cancellationToken);
            start = end;
        }

        return ValueTask.FromResult<IReadOnlyList<DenseTensor<float>>>(results);
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType == typeof(VisionEncoderMetadata) ? Metadata
            : null;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _session.Dispose();
        }
    }

    /// <summary>Says what is wrong with a view for this graph, or <see langword="null"/>: it needs three channels, and the
    /// graph's height and width where they are fixed (ONNX Runtime would otherwise fail the whole batch with an error about
    /// dimensions that does not name the view).</summary>
    private string? Problem(DenseTensor<float>? view) =>
        view is null ? "the view is null."
        : view.Rank != 3 || view.Dimension(0) != 3 ? $"a view must be [3, height, width]; got {view}."
        : (_height > 0 && view.Dimension(1) != _height) || (_width > 0 && view.Dimension(2) != _width)
            ? $"this vision encoder's graph takes {_width}x{_height} views; got {view.Dimension(2)}x{view.Dimension(1)}. Preprocess with the family's processor."
        : null;

    private static bool SameShape(DenseTensor<float> a, DenseTensor<float> b) => a.Dimension(1) == b.Dimension(1) && a.Dimension(2) == b.Dimension(2);

    private void Run(IReadOnlyList<DenseTensor<float>> views, int start, int end, DenseTensor<float>[] results, CancellationToken cancellationToken)
    {
        var first = views[start];
        var (h, w) = (first.Dimension(1), first.Dimension(2));
        var count = end - start;
        var per = 3 * h * w;
        var pixels = new float[count * per];
        for (var i = 0; i < count; i++)
        {
            views[start + i].Span[..per].CopyTo(pixels.AsSpan(i * per, per));
        }

        using var input = OrtValue.CreateTensor<float>(pixels, [count, 3, h, w]);
        var outputs = _session.Run([_input], [input], [_output], null, cancellationToken);
        using var features = outputs[0];
        var shape = features.Shape;
        if (shape.Length != 3 || shape[0] != count || shape[2] != Metadata.OutputHiddenSize)
        {
            throw new InvalidOperationException($"The vision encoder returned [{string.Join(", ", shape)}] for {count} views; [{count}, tokens, {Metadata.OutputHiddenSize}] was expected.");
        }

        var tokens = (int)shape[1];
        var data = features.GetReadOnlySpan<float>();
        var size = tokens * Metadata.OutputHiddenSize;
        for (var i = 0; i < count; i++)
        {
            var rows = new float[size];
            data.Slice(i * size, size).CopyTo(rows);
            results[start + i] = new DenseTensor<float>(rows, tokens, Metadata.OutputHiddenSize);
        }
    }
}
