// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>A merger that keeps every token (the default for families without merging).</summary>
public sealed class IdentityTokenMerger : ITokenMerger
{
    /// <summary>Gets the shared instance.</summary>
    public static IdentityTokenMerger Instance { get; } = new();

    /// <inheritdoc />
    public TokenMergePlan Plan(TokenMergeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new IdentityPlan(request);
    }

    private sealed class IdentityPlan(TokenMergeRequest request) : TokenMergePlan(request.TokenCount, request.TokenCount)
    {
        public override int OutputGridHeight => request.GridHeight;

        public override int OutputGridWidth => request.GridWidth;

        protected override void ApplyCore(ReadOnlySpan<float> source, int width, Span<float> destination, float[]? sizes) => source.CopyTo(destination);
    }
}

/// <summary>Average pooling of a token grid with a square window and equal stride (LongVA-style 2×2 pooling: a 24×24 grid becomes 12×12).</summary>
/// <remarks>Grid sides that are not multiples of the window drop the remainder, as <c>nn.AvgPool2d</c> with default <c>ceil_mode=False</c> does. Tokens before the grid (<see cref="TokenMergeRequest.ProtectedPrefix"/>) are kept as they are.</remarks>
public sealed class AveragePoolingTokenMerger : ITokenMerger
{
    /// <summary>Initializes a pooling merger.</summary>
    /// <param name="window">The window side and stride, at least 1.</param>
    public AveragePoolingTokenMerger(int window = 2)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        Window = window;
    }

    /// <summary>Gets the window side and stride.</summary>
    public int Window { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The request has no grid.</exception>
    public TokenMergePlan Plan(TokenMergeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.GridHeight == 0 || request.GridWidth == 0 || request.ProtectedPrefix + (request.GridHeight * request.GridWidth) != request.TokenCount)
        {
            throw new ArgumentException($"Pooling needs the tokens laid out as prefix + grid; got {request.TokenCount} tokens, prefix {request.ProtectedPrefix}, grid {request.GridHeight}x{request.GridWidth}.", nameof(request));
        }

        return new PoolPlan(request, Window);
    }

    private sealed class PoolPlan : TokenMergePlan
    {
        private readonly int _prefix;
        private readonly int _height;
        private readonly int _width;
        private readonly int _window;

        public PoolPlan(TokenMergeRequest r, int window)
            : base(r.TokenCount, r.ProtectedPrefix + ((r.GridHeight / window) * (r.GridWidth / window)))
        {
            _prefix = r.ProtectedPrefix;
            _height = r.GridHeight;
            _width = r.GridWidth;
            _window = window;
        }

        public override int OutputGridHeight => _height / _window;

        public override int OutputGridWidth => _width / _window;

        protected override void ApplyCore(ReadOnlySpan<float> source, int width, Span<float> destination, float[]? sizes)
        {
            source[..(_prefix * width)].CopyTo(destination);
            var scale = 1f / (_window * _window);
            var outRow = _prefix;
            for (var oy = 0; oy < OutputGridHeight; oy++)
            {
                for (var ox = 0; ox < OutputGridWidth; ox++, outRow++)
                {
                    var dst = destination.Slice(outRow * width, width);
                    dst.Clear();
                    for (var dy = 0; dy < _window; dy++)
                    {
                        for (var dx = 0; dx < _window; dx++)
                        {
                            var inRow = _prefix + (((oy * _window) + dy) * _width) + (ox * _window) + dx;
                            System.Numerics.Tensors.TensorPrimitives.Add(dst, source.Slice(inRow * width, width), dst);
                        }
                    }

                    System.Numerics.Tensors.TensorPrimitives.Multiply(dst, scale, dst);
                }
            }
        }
    }
}

/// <summary>How 8-bit values become [0, 1] floats before normalisation; the two references round differently.</summary>
public enum RescaleMode
{
    /// <summary>Hugging Face image processors: <c>(v.astype(float64) * (1/255)).astype(float32)</c> (LLaVA, LongVA, AuroraCap).</summary>
    HuggingFace,

    /// <summary>torchvision's <c>ToTensor</c>: <c>float32(v) / 255</c> in single precision (MiniCPM-V, Aria).</summary>
    Torchvision,
}

/// <summary>Converts a view to a <c>[3, H, W]</c> float tensor: rescale to [0, 1], then normalise per channel with a mean and standard deviation in float32 (no resizing).</summary>
/// <remarks>Resizing belongs to the family processors; this is the last step they share, and the whole processor for views that are already the right size.</remarks>
public sealed class NormalizingImageProcessor : IImageProcessor
{
    private readonly float[] _lookup;

    /// <summary>Initializes a processor.</summary>
    /// <param name="mean">The per-channel mean (RGB), after rescaling to [0, 1].</param>
    /// <param name="std">The per-channel standard deviation (RGB).</param>
    /// <param name="rescale">Which reference's rescaling to reproduce.</param>
    public NormalizingImageProcessor(ReadOnlySpan<float> mean, ReadOnlySpan<float> std, RescaleMode rescale = RescaleMode.HuggingFace)
    {
        if (mean.Length != 3 || std.Length != 3)
        {
            throw new ArgumentException("Mean and std need three values (R, G, B).", nameof(mean));
        }

        foreach (var s in std)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(s, nameof(std));
        }

        Mean = mean.ToArray();
        Std = std.ToArray();
        Rescale = rescale;

        // One float per (channel, byte value): exact for either reference, and a table lookup per pixel.
        _lookup = new float[3 * 256];
        for (var c = 0; c < 3; c++)
        {
            for (var v = 0; v < 256; v++)
            {
                var rescaled = rescale == RescaleMode.HuggingFace ? (float)(v * (1.0 / 255.0)) : v / 255f;
                _lookup[(c * 256) + v] = (rescaled - Mean[c]) / Std[c];
            }
        }
    }

    /// <summary>Gets the rescaling rule.</summary>
    public RescaleMode Rescale { get; }

    /// <summary>Gets the OpenAI CLIP mean.</summary>
    public static ReadOnlySpan<float> ClipMean => [0.48145466f, 0.4578275f, 0.40821073f];

    /// <summary>Gets the OpenAI CLIP standard deviation.</summary>
    public static ReadOnlySpan<float> ClipStd => [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>Gets the per-channel mean.</summary>
    public IReadOnlyList<float> Mean { get; }

    /// <summary>Gets the per-channel standard deviation.</summary>
    public IReadOnlyList<float> Std { get; }

    /// <inheritdoc />
    public DenseTensor<float> Process(ImageView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        // Every element is written below, so the buffer need not be zeroed first.
        var h = view.Image.Height;
        var w = view.Image.Width;
        var tensor = new DenseTensor<float>(GC.AllocateUninitializedArray<float>(3 * h * w), 3, h, w);
        ProcessInto(view.Image, tensor.Span);
        return tensor;
    }

    /// <summary>Normalises several images of one size into one <c>[N, 3, H, W]</c> tensor.</summary>
    /// <param name="images">The images, all the same size.</param>
    /// <returns>The batch.</returns>
    /// <exception cref="ArgumentException">The images differ in size or the list is empty.</exception>
    public DenseTensor<float> ProcessBatch(IReadOnlyList<ImageFrame> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(images));
        }

        int w = images[0].Width, h = images[0].Height;
        var batch = new DenseTensor<float>(GC.AllocateUninitializedArray<float>(images.Count * 3 * h * w), images.Count, 3, h, w);
        var plane = 3 * w * h;
        for (var i = 0; i < images.Count; i++)
        {
            if (images[i].Width != w || images[i].Height != h)
            {
                throw new ArgumentException($"Image {i} is {images[i].Width}x{images[i].Height}; the batch is {w}x{h}.", nameof(images));
            }

            ProcessInto(images[i], batch.Span.Slice(i * plane, plane));
        }

        return batch;
    }

    private void ProcessInto(ImageFrame image, Span<float> dst)
    {
        var w = image.Width;
        var h = image.Height;
        var plane = w * h;
        var lut = _lookup.AsSpan();
        var lutR = lut[..256];
        var lutG = lut.Slice(256, 256);
        var lutB = lut.Slice(512, 256);
        var dstR = dst[..plane];
        var dstG = dst.Slice(plane, plane);
        var dstB = dst.Slice(2 * plane, plane);
        var bpp = image.BytesPerPixel;
        for (var y = 0; y < h; y++)
        {
            var row = image.GetRow(y);
            var o = y * w;
            if (bpp == 1)
            {
                for (var x = 0; x < w; x++)
                {
                    var v = row[x];
                    dstR[o + x] = lutR[v];
                    dstG[o + x] = lutG[v];
                    dstB[o + x] = lutB[v];
                }
            }
            else
            {
                // Straight-line RGB(A): one table lookup per channel, planes written sequentially.
                for (int x = 0, i = 0; x < w; x++, i += bpp)
                {
                    dstR[o + x] = lutR[row[i]];
                    dstG[o + x] = lutG[row[i + 1]];
                    dstB[o + x] = lutB[row[i + 2]];
                }
            }
        }
    }
}
