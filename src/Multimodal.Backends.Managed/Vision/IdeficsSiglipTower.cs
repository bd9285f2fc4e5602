// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Numerics.Tensors;
using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;

namespace Multimodal.Backends.Managed.Vision;

/// <summary>
/// The Idefics2/3-style SigLIP tower Aria uses (NaViT position handling): a patch convolution with bias, a learned
/// <c>[G², C]</c> position table indexed by bucketized fractional patch coordinates of the valid region, pre-LN
/// layers where invalid (padding) patches are masked as keys, and no post-LayerNorm (Aria replaces it with an
/// identity).
/// </summary>
internal sealed class IdeficsSiglipTower
{
    private readonly LinearLayer _patch;
    private readonly float[] _positions;
    private readonly ComputeContext _context;

    private IdeficsSiglipTower(VisionConfig config, LinearLayer patch, float[] positions, VitEncoder encoder, ComputeContext context)
    {
        Config = config;
        _patch = patch;
        _positions = positions;
        Encoder = encoder;
        _context = context;
    }

    /// <summary>Gets the dimensions.</summary>
    public VisionConfig Config { get; }

    /// <summary>Gets the encoder layers.</summary>
    public VitEncoder Encoder { get; }

    /// <summary>Loads <c>{prefix}embeddings.*</c> and the first <paramref name="layersNeeded"/> encoder layers.</summary>
    /// <param name="loader">The checkpoint.</param>
    /// <param name="config">The dimensions.</param>
    /// <param name="prefix"><c>vision_tower.vision_model.</c> (original naming) or <c>vision_tower.</c>
    /// (transformers-converted).</param>
    /// <param name="layersNeeded">How many layers to load.</param>
    /// <param name="context">The threading settings.</param>
    /// <returns>The tower.</returns>
    public static IdeficsSiglipTower Load(WeightLoader loader, VisionConfig config, string prefix, int layersNeeded, ComputeContext context)
    {
        var c = config.HiddenSize;
        var side = config.GridSide;
        var layers = VitLayer.LoadHuggingFace(loader, config, prefix + "encoder.layers.", layersNeeded);

        return new IdeficsSiglipTower(
            config,
            loader.PatchConvolution(prefix + "embeddings.patch_embedding.weight", prefix + "embeddings.patch_embedding.bias", c, 3, config.PatchSize),
            loader.Tensor(prefix + "embeddings.position_embedding.weight", side * side, c),
            new VitEncoder(layers, c, config.Heads, config.Activation, context),
            context);
    }

    /// <summary>The patch validity of a view: a patch is valid when any of its pixels is (Idefics
    /// <c>_create_patch_attention_mask</c>).</summary>
    /// <param name="pixelMask">The <c>[H, W]</c> pixel mask (true = valid), or <see langword="null"/> for all valid.</param>
    /// <param name="height">The view height H.</param>
    /// <param name="width">The view width W.</param>
    /// <param name="patch">The patch side.</param>
    /// <returns>Per patch, row-major, whether it is valid.</returns>
    public static bool[] PatchMask(DenseTensor<bool>? pixelMask, int height, int width, int patch)
    {
        var rows = height / patch;
        var columns = width / patch;
        var valid = new bool[rows * columns];
        if (pixelMask is null)
        {
            Array.Fill(valid, true);
            return valid;
        }

        if (pixelMask.Rank != 2 || pixelMask.Dimension(0) != height || pixelMask.Dimension(1) != width)
        {
            throw new ArgumentException($"A pixel mask must be [{height}, {width}] to match its {width}x{height} view; got {pixelMask}.", nameof(pixelMask));
        }

        var m = pixelMask.Span;
        for (var y = 0; y < height; y++)
        {
            var line = m.Slice(y * width, width);
            var patchRow = (y / patch) * columns;
            for (var x = 0; x < width; x++)
            {
                if (line[x])
                {
                    valid[patchRow + (x / patch)] = true;
                }
            }
        }

        return valid;
    }

    /// <summary>Idefics2/3 NaViT position ids: with nh valid patches in the first column and nw in the first row,
    /// the fractional coordinates <c>arange(0, 1 − 1e-6, 1/n)</c> are bucketized onto the table's
    /// <paramref name="perSide"/> boundaries <c>arange(1/perSide, 1, 1/perSide)</c> (right = true), and the ids
    /// <c>bucket_h·perSide + bucket_w</c> are written, row-major, into the valid patches; invalid patches get 0.</summary>
    /// <param name="patchValid">Per patch, row-major, whether it is valid.</param>
    /// <param name="rows">The grid height.</param>
    /// <param name="columns">The grid width.</param>
    /// <param name="perSide">The table's side (image_size / patch_size).</param>
    /// <returns>The position id of every patch.</returns>
    /// <remarks>The float32 values reproduce PyTorch's CPU <c>torch.arange</c> exactly (see <see cref="TorchArange"/>),
    /// since some coordinates sit on bucket boundaries (the 490-pixel mode gives exactly 2j).</remarks>
    public static int[] PositionIds(bool[] patchValid, int rows, int columns, int perSide)
    {
        ArgumentNullException.ThrowIfNull(patchValid);
        var validRows = 0;
        for (var r = 0; r < rows; r++)
        {
            validRows += patchValid[r * columns] ? 1 : 0;
        }

        var validColumns = 0;
        for (var c = 0; c < columns; c++)
        {
            validColumns += patchValid[c] ? 1 : 0;
        }

        var total = patchValid.Count(v => v);
        if (validRows == 0 || validColumns == 0 || total != validRows * validColumns)
        {
            throw new ArgumentException($"The valid pixels of a view must form a non-empty rectangle that includes the top-left patch (found {total} valid patches, {validRows} in the first column and {validColumns} in the first row).", nameof(patchValid));
        }

        var boundaries = TorchArange(1.0 / perSide, 1.0, 1.0 / perSide);
        var bucketH = Buckets(validRows, boundaries);
        var bucketW = Buckets(validColumns, boundaries);
        var ids = new int[patchValid.Length];
        var next = 0;
        for (var i = 0; i < ids.Length; i++)
        {
            if (patchValid[i])
            {
                ids[i] = (bucketH[next / validColumns] * perSide) + bucketW[next % validColumns];
                next++;
            }
        }

        return ids;
    }

    /// <summary>PyTorch's float32 <c>torch.arange(start, end, step)</c> on the CPU: the length is
    /// ⌈(end − start) / step⌉ in double; values come in blocks of 16 (two AVX2 vectors of 8), each vector computed as float(float(start + step·i₀) + k·step)
    /// from its first index i₀, and the tail (fewer than 16) as float(start + step·i). This matches the reference
    /// machine's kernel (the goldens' 70×70 bucket table); a scalar float(start + step·i) differs for n = 49 and 58.</summary>
    /// <param name="start">The start.</param>
    /// <param name="end">The (exclusive) end.</param>
    /// <param name="step">The step.</param>
    /// <returns>The values.</returns>
    internal static float[] TorchArange(double start, double end, double step)
    {
        const int Vector = 8;
        var count = (int)Math.Ceiling((end - start) / step);
        var values = new float[Math.Max(count, 0)];
        var i = 0;
        for (; i + (2 * Vector) <= count; i += 2 * Vector)
        {
            // Two vectors per iteration, each from its own float base.
            for (var first = i; first < i + (2 * Vector); first += Vector)
            {
                var vectorBase = (double)(float)(start + (step * first));
                for (var k = 0; k < Vector; k++)
                {
                    values[first + k] = (float)(vectorBase + (k * step));
                }
            }
        }

        for (; i < count; i++)
        {
            values[i] = (float)(start + (step * i));
        }

        return values;
    }

    /// <summary>The patch rows plus their positions.</summary>
    /// <param name="view">A <c>[3, H, W]</c> view.</param>
    /// <param name="patchValid">Per patch, whether it is valid (<see cref="PatchMask"/>).</param>
    /// <param name="positionIds">Receives the position ids.</param>
    /// <returns><c>[patches, C]</c>.</returns>
    public float[] Embed(DenseTensor<float> view, bool[] patchValid, out int[] positionIds)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(patchValid);
        var (h, w) = PatchEmbedding.CheckView(view, Config.PatchSize, side: null);
        var rows = h / Config.PatchSize;
        var columns = w / Config.PatchSize;
        if (patchValid.Length != rows * columns)
        {
            throw new ArgumentException($"The patch mask has {patchValid.Length} entries; the view has {rows * columns} patches.", nameof(patchValid));
        }

        var x = PatchEmbedding.Embed(view.Span, h, w, Config.PatchSize, _patch, _context);
        positionIds = PositionIds(patchValid, rows, columns, Config.GridSide);
        var c = Config.HiddenSize;
        for (var t = 0; t < positionIds.Length; t++)
        {
            var id = positionIds[t];
            TensorPrimitives.Add(x.AsSpan(t * c, c), _positions.AsSpan(id * c, c), x.AsSpan(t * c, c));
        }

        return x;
    }

    /// <summary>Runs the embeddings and the first <paramref name="layers"/> layers, invalid patches masked as keys.</summary>
    /// <param name="view">A <c>[3, H, W]</c> view.</param>
    /// <param name="patchValid">Per patch, whether it is valid.</param>
    /// <param name="layers">How many layers to run.</param>
    /// <param name="observer">Receives (layer, rows) after each layer.</param>
    /// <returns>The features <c>[patches, C]</c> (every patch, valid or not).</returns>
    public float[] Forward(DenseTensor<float> view, bool[] patchValid, int layers, Action<int, float[]>? observer = null)
    {
        if (layers > Encoder.Layers.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(layers), layers, $"Only {Encoder.Layers.Length} layers are loaded.");
        }

        var hidden = Embed(view, patchValid, out _);
        var keyValid = patchValid.All(v => v) ? null : patchValid;
        (hidden, _) = Encoder.Forward(hidden, layers, keyValid, merger: null, protectedPrefix: 0, observer is null ? null : (layer, x, _) => observer(layer, x));
        return hidden;
    }

    private static int[] Buckets(int valid, float[] boundaries)
    {
        // The step 1/n is a float32 tensor in the reference (an integer tensor true-divided).
        var step = (double)(1f / valid);
        var fractions = TorchArange(0, 1 - 1e-6, step);
        var buckets = new int[fractions.Length];
        for (var i = 0; i < fractions.Length; i++)
        {
            // bucketize(right=True): the number of boundaries <= the value.
            var count = 0;
            while (count < boundaries.Length && boundaries[count] <= fractions[i])
            {
                count++;
            }

            buckets[i] = count;
        }

        if (buckets.Length < valid)
        {
            throw new InvalidOperationException($"Position bucketing produced {buckets.Length} coordinates for {valid} patches.");
        }

        return buckets;
    }
}
