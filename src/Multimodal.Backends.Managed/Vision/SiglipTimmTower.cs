// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Numerics.Tensors;
using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;

namespace Multimodal.Backends.Managed.Vision;

/// <summary>
/// timm's SigLIP <c>VisionTransformer</c> as MiniCPM-V 2 runs it (<c>vpm.*</c>): a patch convolution with bias, a
/// learned <c>pos_embed</c> table <c>[1, G², C]</c> resampled to the view's patch grid with PyTorch's antialiased
/// bicubic when the grid differs, pre-LN blocks with a fused <c>qkv</c>, exact GELU, and the final <c>vpm.norm</c>
/// (<c>forward_features</c>, no prefix tokens). Views may have any size that is a multiple of the patch.
/// </summary>
internal sealed class SiglipTimmTower
{
    private readonly LinearLayer _patch;
    private readonly float[] _positions;
    private readonly int _tableSide;
    private readonly NormLayer _norm;
    private readonly ComputeContext _context;

    private SiglipTimmTower(VisionConfig config, LinearLayer patch, float[] positions, int tableSide, NormLayer norm, VitEncoder encoder, ComputeContext context)
    {
        Config = config;
        _patch = patch;
        _positions = positions;
        _tableSide = tableSide;
        _norm = norm;
        Encoder = encoder;
        _context = context;
    }

    /// <summary>Gets the dimensions (<see cref="VisionConfig.Layers"/> is the number of stored blocks).</summary>
    public VisionConfig Config { get; }

    /// <summary>Gets the block stack.</summary>
    public VitEncoder Encoder { get; }

    /// <summary>Loads <c>{prefix}patch_embed.proj</c>, <c>{prefix}pos_embed</c>, <c>{prefix}blocks.N.*</c> and
    /// <c>{prefix}norm</c>.</summary>
    /// <param name="loader">The checkpoint.</param>
    /// <param name="config">The dimensions; <see cref="VisionConfig.Layers"/> = the blocks stored in the checkpoint.</param>
    /// <param name="prefix">The tower's prefix, <c>vpm.</c> in MiniCPM-V.</param>
    /// <param name="context">The threading settings.</param>
    /// <returns>The tower.</returns>
    public static SiglipTimmTower Load(WeightLoader loader, VisionConfig config, string prefix, ComputeContext context)
    {
        var c = config.HiddenSize;
        var side = config.GridSide;
        var layers = new VitLayer[config.Layers];
        for (var i = 0; i < layers.Length; i++)
        {
            var p = $"{prefix}blocks.{i}.";
            var qkv = p + "attn.qkv.weight";
            var qkvBias = p + "attn.qkv.bias";
            layers[i] = new VitLayer
            {
                Norm1 = loader.LayerNorm(p + "norm1", c, config.LayerNormEpsilon),
                Norm2 = loader.LayerNorm(p + "norm2", c, config.LayerNormEpsilon),
                Query = loader.LinearSlice(qkv, qkvBias, 3 * c, 0, c, c),
                Key = loader.LinearSlice(qkv, qkvBias, 3 * c, c, c, c),
                Value = loader.LinearSlice(qkv, qkvBias, 3 * c, 2 * c, c, c),
                Output = loader.Linear(p + "attn.proj.weight", p + "attn.proj.bias", c, c),
                Fc1 = loader.Linear(p + "mlp.fc1.weight", p + "mlp.fc1.bias", config.IntermediateSize, c),
                Fc2 = loader.Linear(p + "mlp.fc2.weight", p + "mlp.fc2.bias", c, config.IntermediateSize),
            };
        }

        return new SiglipTimmTower(
            config,
            loader.PatchConvolution(prefix + "patch_embed.proj.weight", prefix + "patch_embed.proj.bias", c, 3, config.PatchSize),
            loader.Tensor(prefix + "pos_embed", 1, side * side, c),
            side,
            loader.LayerNorm(prefix + "norm", c, config.LayerNormEpsilon),
            new VitEncoder(layers, c, config.Heads, config.Activation, context),
            context);
    }

    /// <summary>The position table for a <paramref name="rows"/> × <paramref name="columns"/> patch grid: the stored
    /// table when the grid is the table's own square, else timm's <c>resample_abs_pos_embed</c> (antialiased bicubic,
    /// <c>align_corners=False</c>), applied separably.</summary>
    /// <param name="rows">The grid height in patches.</param>
    /// <param name="columns">The grid width in patches.</param>
    /// <returns><c>[rows·columns, C]</c>, row-major over the grid.</returns>
    public float[] PositionsFor(int rows, int columns)
    {
        var c = Config.HiddenSize;
        var g = _tableSide;
        if (rows == g && columns == g)
        {
            return (float[])_positions.Clone();
        }

        var wy = AntialiasedBicubicWeights(g, rows);
        var wx = AntialiasedBicubicWeights(g, columns);

        // Width first: [g, g, C] -> [g, columns, C]; then height: -> [rows, columns, C].
        var temp = new double[g * columns * c];
        for (var y = 0; y < g; y++)
        {
            for (var x = 0; x < columns; x++)
            {
                var dst = temp.AsSpan(((y * columns) + x) * c, c);
                for (var j = 0; j < g; j++)
                {
                    var w = wx[(x * g) + j];
                    if (w == 0)
                    {
                        continue;
                    }

                    var src = _positions.AsSpan(((y * g) + j) * c, c);
                    for (var k = 0; k < c; k++)
                    {
                        dst[k] += w * src[k];
                    }
                }
            }
        }

        var result = new float[rows * columns * c];
        var acc = new double[c];
        for (var y = 0; y < rows; y++)
        {
            for (var x = 0; x < columns; x++)
            {
                Array.Clear(acc);
                for (var j = 0; j < g; j++)
                {
                    var w = wy[(y * g) + j];
                    if (w == 0)
                    {
                        continue;
                    }

                    var src = temp.AsSpan(((j * columns) + x) * c, c);
                    for (var k = 0; k < c; k++)
                    {
                        acc[k] += w * src[k];
                    }
                }

                var dst = result.AsSpan(((y * columns) + x) * c, c);
                for (var k = 0; k < c; k++)
                {
                    dst[k] = (float)acc[k];
                }
            }
        }

        return result;
    }

    /// <summary>PyTorch's antialiased bicubic resampling (<c>F.interpolate(mode="bicubic", antialias=True,
    /// align_corners=False)</c>, the PIL-style kernel) along one axis as an <c>[outSize, inSize]</c> matrix.</summary>
    /// <param name="inSize">The input length.</param>
    /// <param name="outSize">The output length.</param>
    /// <returns>Row i holds the normalised weights of output i.</returns>
    public static double[] AntialiasedBicubicWeights(int inSize, int outSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outSize, 1);
        var scale = (double)inSize / outSize;
        var support = scale >= 1 ? 2 * scale : 2.0;
        var inverse = scale >= 1 ? 1 / scale : 1.0;
        var m = new double[outSize * inSize];
        for (var i = 0; i < outSize; i++)
        {
            var center = scale * (i + 0.5);
            var min = Math.Max((int)(center - support + 0.5), 0);
            var max = Math.Min((int)(center + support + 0.5), inSize);
            var row = m.AsSpan(i * inSize, inSize);
            var total = 0.0;
            for (var j = min; j < max; j++)
            {
                var w = Cubic((j - center + 0.5) * inverse);
                row[j] = w;
                total += w;
            }

            if (total != 0)
            {
                for (var j = min; j < max; j++)
                {
                    row[j] /= total;
                }
            }
        }

        return m;
    }

    /// <summary>The patch rows plus their (resampled) positions.</summary>
    /// <param name="view">A <c>[3, H, W]</c> view, H and W multiples of the patch.</param>
    /// <param name="rows">Receives the grid height in patches.</param>
    /// <param name="columns">Receives the grid width in patches.</param>
    /// <param name="positions">Receives the position rows that were added.</param>
    /// <returns><c>[rows·columns, C]</c>.</returns>
    public float[] Embed(DenseTensor<float> view, out int rows, out int columns, out float[] positions)
    {
        ArgumentNullException.ThrowIfNull(view);
        var (h, w) = PatchEmbedding.CheckView(view, Config.PatchSize, side: null);
        rows = h / Config.PatchSize;
        columns = w / Config.PatchSize;
        var x = PatchEmbedding.Embed(view.Span, h, w, Config.PatchSize, _patch, _context);
        positions = PositionsFor(rows, columns);
        TensorPrimitives.Add(x, positions, x);
        return x;
    }

    /// <summary>Runs the whole tower: embeddings, every stored block, the final norm.</summary>
    /// <param name="view">A <c>[3, H, W]</c> view.</param>
    /// <param name="rows">Receives the grid height in patches.</param>
    /// <param name="columns">Receives the grid width in patches.</param>
    /// <param name="observer">Receives (block, rows) after each block.</param>
    /// <returns>The features <c>[rows·columns, C]</c>.</returns>
    public float[] Forward(DenseTensor<float> view, out int rows, out int columns, Action<int, float[]>? observer = null)
    {
        var hidden = Embed(view, out rows, out columns, out _);
        (hidden, _) = Encoder.Forward(hidden, Encoder.Layers.Length, keyValid: null, merger: null, protectedPrefix: 0, observer is null ? null : (layer, x, _) => observer(layer, x));
        _norm.Forward(hidden, hidden);
        return hidden;
    }

    private static double Cubic(double x)
    {
        const double A = -0.5;
        x = Math.Abs(x);
        if (x < 1)
        {
            return ((((A + 2) * x) - (A + 3)) * x * x) + 1;
        }

        return x < 2 ? ((((((x - 5) * x) + 8) * x) - 4) * A) : 0;
    }
}
