// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.OnnxRuntime.Native;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>
/// An <see cref="IVisionEncoder"/> over <c>vision_encoder.onnx</c>: <c>pixel_values [N, 3, H, W]</c> →
/// <c>image_features [N, tokens, hidden]</c> (the tower and the projector). Views of the same size run as one batch.
/// </summary>
/// <remarks>A graph that also declares <c>pixel_mask</c> (bool <c>[N, H, W]</c>, true on the image, false on padding;
/// Aria's export) gets each view's mask from <see cref="VisionEncodeOptions.AdditionalProperties"/>[<see cref="PixelMaskKey"/>]
/// (one <c>[H, W]</c> <see cref="DenseTensor{T}"/> of <see cref="bool"/> per view, in view order, as the managed
/// engine takes them), or all true when the request carries none. A graph without that input ignores the masks.
/// <para>A graph that also declares <c>tome_r</c> (int64 <c>[num_hidden_layers]</c>; AuroraCap's export) merges tokens
/// inside its layers with ToMe: the encoder passes the same r for every layer, either an explicit
/// <see cref="BipartiteTokenMerger"/>'s <see cref="BipartiteTokenMerger.TokensPerStep"/> or, as the managed engine's
/// AuroraCap encoder, <see cref="BipartiteTokenMerger.TokensPerLayer"/>(patches, <see cref="TokenKeptRatioKey"/> from
/// <see cref="VisionEncodeOptions.AdditionalProperties"/> or <see cref="DefaultTokenKeptRatio"/>, the input's length).
/// r = 0 merges nothing. A graph without that input ignores the ratio and refuses any
/// <see cref="VisionEncodeOptions.LayerMerger"/>, as a graph with it refuses mergers other than
/// <see cref="BipartiteTokenMerger"/> (<see cref="UnsupportedRequestException"/>).</para></remarks>
internal sealed class OnnxVisionEncoder : IVisionEncoder
{
    /// <summary>The name of the optional mask input, which is also the <see cref="VisionEncodeOptions.AdditionalProperties"/>
    /// key of the per-view masks.</summary>
    public const string PixelMaskKey = "pixel_mask";

    /// <summary>The name of the optional ToMe input, int64 <c>[num_hidden_layers]</c>: the tokens each tower layer merges
    /// away (AuroraCap's export, eng/onnx/auroracap_vision.py).</summary>
    public const string MergeInputName = "tome_r";

    /// <summary>The <see cref="VisionEncodeOptions.AdditionalProperties"/> key of AuroraCap's kept-token ratio.</summary>
    public const string TokenKeptRatioKey = BipartiteTokenMerger.TokenKeptRatioKey;

    /// <summary>The kept-token ratio when a request gives none, as the managed engine's AuroraCap encoder (the reference
    /// inference script's default).</summary>
    public const double DefaultTokenKeptRatio = 0.8;

    private readonly OrtSession _session;
    private readonly string _input;
    private readonly string? _mask;
    private readonly string? _merge;
    private readonly int _mergeLayers;
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
        var mask = session.Inputs.FirstOrDefault(i => i.Name == PixelMaskKey);
        var merge = session.Inputs.FirstOrDefault(i => i.Name == MergeInputName);
        if (session.Inputs.Any(i => i != pixels && i != mask && i != merge))
        {
            throw new ModelLoadException($"The vision encoder graph takes {string.Join(", ", session.Inputs.Select(i => i.Name))}; only pixel_values [N, 3, H, W] (with an optional pixel_mask [N, H, W] or {MergeInputName} [layers]) is supported.");
        }

        if (merge is not null && (merge.ElementType != OrtElementType.Int64 || merge.Shape.Length != 1 || merge.Shape[0] <= 0))
        {
            throw new ModelLoadException($"The vision encoder graph's {MergeInputName} input is {merge.ElementType} [{string.Join(", ", merge.Shape)}]; int64 [num_hidden_layers] (ToMe's r per tower layer) was expected. Re-export the graph (eng/onnx/export.py).");
        }

        if (mask is not null && (mask.ElementType != OrtElementType.Bool || mask.Shape.Length != 3))
        {
            throw new ModelLoadException($"The vision encoder graph's pixel_mask input is {mask.ElementType} [{string.Join(", ", mask.Shape)}]; a bool [N, H, W] mask was expected. Re-export the graph (eng/onnx/export.py).");
        }

        var features = session.Outputs.FirstOrDefault(o => o.Name == "image_features") ?? session.Outputs[0];
        if (pixels.Shape.Length != 4 || features.Shape.Length != 3 || features.Shape[2] <= 0)
        {
            throw new ModelLoadException($"The vision encoder must map pixel_values [N, 3, H, W] to image_features [N, tokens, hidden]; it maps {pixels.Name} [{string.Join(", ", pixels.Shape)}] to {features.Name} [{string.Join(", ", features.Shape)}].");
        }

        _input = pixels.Name;
        _mask = mask?.Name;
        _merge = merge?.Name;
        _mergeLayers = merge is null ? 0 : (int)merge.Shape[0];
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
        var merging = Merging(options);
        for (var i = 0; i < views.Count; i++)
        {
            if (Problem(views[i]) is { } problem)
            {
                throw new ArgumentException($"View {i}: {problem}", nameof(views));
            }
        }

        var masks = _mask is null ? null : PixelMasks(views, options);
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

            Run(views, masks, merging, start, end, results, cancellationToken);
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

    /// <summary>Reads the views' pixel masks from <see cref="VisionEncodeOptions.AdditionalProperties"/>[<see cref="PixelMaskKey"/>],
    /// checking that there is one <c>[H, W]</c> mask per view; <see langword="null"/> when the request carries none (all valid).</summary>
    /// <exception cref="ArgumentException">The value is not a list of bool tensors, or its count or a mask's shape does not match the views.</exception>
    private static IReadOnlyList<DenseTensor<bool>>? PixelMasks(IReadOnlyList<DenseTensor<float>> views, VisionEncodeOptions? options)
    {
        if (options?.AdditionalProperties is not { } properties || !properties.TryGetValue(PixelMaskKey, out var value) || value is null)
        {
            return null;
        }

        if (value is not IReadOnlyList<DenseTensor<bool>> masks)
        {
            throw new ArgumentException($"AdditionalProperties[\"{PixelMaskKey}\"] must be an IReadOnlyList<DenseTensor<bool>> (one [H, W] mask per view); got {value.GetType().Name}.", nameof(options));
        }

        if (masks.Count != views.Count)
        {
            throw new ArgumentException($"AdditionalProperties[\"{PixelMaskKey}\"] has {masks.Count} masks for {views.Count} views; pass exactly one [H, W] mask per view, in view order.", nameof(options));
        }

        for (var i = 0; i < masks.Count; i++)
        {
            var (h, w) = (views[i].Dimension(1), views[i].Dimension(2));
            if (masks[i] is not { } mask || mask.Rank != 2 || mask.Dimension(0) != h || mask.Dimension(1) != w)
            {
                throw new ArgumentException($"AdditionalProperties[\"{PixelMaskKey}\"][{i}] is {masks[i]?.ToString() ?? "null"}; view {i} is {w}x{h}, so its mask must be [{h}, {w}].", nameof(options));
            }
        }

        return masks;
    }

    /// <summary>The <c>[count, H, W]</c> pixel mask of views <paramref name="start"/>.., all true when the request has no masks.</summary>
    private static bool[] MaskBatch(IReadOnlyList<DenseTensor<bool>>? masks, int start, int count, int h, int w)
    {
        var per = h * w;
        var valid = new bool[count * per];
        if (masks is null)
        {
            Array.Fill(valid, true);
            return valid;
        }

        for (var i = 0; i < count; i++)
        {
            masks[start + i].Span[..per].CopyTo(valid.AsSpan(i * per, per));
        }

        return valid;
    }

    /// <summary>Decides what the graph's <see cref="MergeInputName"/> input gets for a request: an explicit
    /// <see cref="BipartiteTokenMerger"/>'s r, or r from the request's kept-token ratio (<see cref="TokenKeptRatioKey"/>,
    /// default <see cref="DefaultTokenKeptRatio"/>), as the managed engine's AuroraCap encoder decides it. A graph
    /// without that input merges nothing and ignores the ratio.</summary>
    /// <exception cref="UnsupportedRequestException">The request has a layer merger the graph cannot run: any merger for a
    /// graph without the input, or one other than <see cref="BipartiteTokenMerger"/>.</exception>
    /// <exception cref="ArgumentException">The kept-token ratio is not a number in [0, 1].</exception>
    private LayerMerging Merging(VisionEncodeOptions? options)
    {
        if (options?.LayerMerger is { } merger)
        {
            if (_merge is null)
            {
                throw new UnsupportedRequestException($"This ONNX Runtime vision encoder graph has no {MergeInputName} input, so it cannot merge tokens inside its layers (AuroraCap's token_kept_ratio below 1). Re-export it with eng/onnx/export.py (AuroraCap's graph takes {MergeInputName}), or use the managed backend for merged encodings.");
            }

            return merger is BipartiteTokenMerger bipartite
                ? new LayerMerging(bipartite.TokensPerStep, 0)
                : throw new UnsupportedRequestException($"The ONNX Runtime vision encoder's graph can only merge tokens with ToMe's bipartite matching (its {MergeInputName} input takes a BipartiteTokenMerger's r); {merger.GetType().Name} cannot run in it. Use the managed backend to merge tokens with this merger.");
        }

        if (_merge is null)
        {
            return default;
        }

        return new LayerMerging(null, BipartiteTokenMerger.ReadTokenKeptRatio(options, DefaultTokenKeptRatio));
    }

    /// <summary>The patch tokens of an <paramref name="h"/> x <paramref name="w"/> view (without the class token).</summary>
    private int Patches(int h, int w) => (h / Metadata.PatchSize) * (w / Metadata.PatchSize);

    private void Run(IReadOnlyList<DenseTensor<float>> views, IReadOnlyList<DenseTensor<bool>>? masks, LayerMerging merging, int start, int end, DenseTensor<float>[] results, CancellationToken cancellationToken)
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
        using var mask = _mask is null ? null : OrtValue.CreateTensor<bool>(MaskBatch(masks, start, count, h, w), [count, h, w]);
        using var merge = _merge is null ? null : OrtValue.CreateTensor<long>(merging.PerLayer(Patches(h, w), _mergeLayers), [_mergeLayers]);
        List<string> names = [_input];
        List<OrtValue> values = [input];
        if (mask is not null)
        {
            names.Add(_mask!);
            values.Add(mask);
        }

        if (merge is not null)
        {
            names.Add(_merge!);
            values.Add(merge);
        }

        var outputs = _session.Run(names, values, [_output], null, cancellationToken);

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

    /// <summary>What a request merges: a fixed r per layer (<paramref name="TokensPerStep"/>, an explicit
    /// <see cref="BipartiteTokenMerger"/>) or AuroraCap's r from a kept-token ratio.</summary>
    /// <param name="TokensPerStep">The explicit r, or <see langword="null"/> to derive it from <paramref name="Ratio"/>.</param>
    /// <param name="Ratio">The kept-token ratio, in [0, 1].</param>
    private readonly record struct LayerMerging(int? TokensPerStep, double Ratio)
    {
        /// <summary>The <see cref="MergeInputName"/> values: the same r for every tower layer, r = int(patches ·
        /// (1 − ratio) / layers) (<see cref="BipartiteTokenMerger.TokensPerLayer"/>), the layer count being the input's
        /// length (the tower's <c>num_hidden_layers</c>).</summary>
        public long[] PerLayer(int patches, int layers)
        {
            var r = TokensPerStep ?? BipartiteTokenMerger.TokensPerLayer(patches, Ratio, layers);
            var values = new long[layers];
            Array.Fill(values, r);
            return values;
        }
    }
}
