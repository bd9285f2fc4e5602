// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;

namespace Multimodal.Backends.Managed.Decoder;

/// <summary>Builds decoder weights from a checkpoint's real tensor names.</summary>
/// <remarks>
/// Llama family (Llama, Qwen2, MiniCPM, Aria): <c>{body}embed_tokens.weight</c>,
/// <c>{body}layers.N.{input_layernorm, post_attention_layernorm}.weight</c>,
/// <c>{body}layers.N.self_attn.{q,k,v,o}_proj.weight</c> (+ <c>.bias</c> on q/k/v for Qwen2),
/// <c>{body}layers.N.mlp.{gate,up,down}_proj.weight</c> (Aria: <c>mlp.router.weight</c>,
/// <c>mlp.experts.fc1.weight</c> [E, hidden, 2I], <c>mlp.experts.fc2.weight</c> [E, I, hidden],
/// <c>mlp.shared_experts.{gate,up,down}_proj.weight</c>), <c>{body}norm.weight</c>, and the LM head.
/// MPT: <c>{body}wte.weight</c>, <c>{body}blocks.N.{norm_1, attn.Wqkv, attn.out_proj, norm_2, ffn.up_proj, ffn.down_proj}.weight</c>,
/// <c>{body}norm_f.weight</c>; the LM head is the embedding matrix unless <c>lm_head.weight</c> exists.
/// </remarks>
internal static class DecoderLoader
{
    /// <summary>Loads the weights.</summary>
    /// <param name="loader">The checkpoint.</param>
    /// <param name="config">The decoder config.</param>
    /// <param name="body">The prefix of the body, for example <c>model.</c> or <c>language_model.model.</c>.</param>
    /// <param name="lmHead">The LM head tensor name (used when present; MPT and tied models fall back to the embeddings).</param>
    /// <param name="options">The quantization settings.</param>
    /// <returns>The weights.</returns>
    /// <exception cref="ModelLoadException">A tensor is missing or has the wrong shape.</exception>
    public static DecoderWeights Load(WeightLoader loader, DecoderConfig config, string body, string lmHead, ManagedModelOptions options)
    {
        var linears = new Linears(loader, null);
        if (options.Quantization is { } format)
        {
            // The plan needs the list of layers first (an int4 ratio ranks them), then layers load converted.
            var keys = new List<(string Key, Func<Func<LinearWeight, double>, double> Measure)>();
            var lister = new Linears(loader, null) { Listing = keys };
            _ = config.Architecture == DecoderArchitecture.Mpt ? LoadMpt(lister, config, body, lmHead, headOnly: true) : LoadLlama(lister, config, body, lmHead, headOnly: true);
            linears = new Linears(loader, QuantizationPlan.Create(format, options.GroupSize, options.Int4Ratio, keys));
        }

        return config.Architecture == DecoderArchitecture.Mpt ? LoadMpt(linears, config, body, lmHead, headOnly: false) : LoadLlama(linears, config, body, lmHead, headOnly: false);
    }

    private static DecoderWeights LoadLlama(Linears linears, DecoderConfig config, string body, string lmHead, bool headOnly)
    {
        var loader = linears.Loader;
        var h = config.HiddenSize;
        var d = config.HeadDim;
        var qWidth = config.Heads * d;
        var kvWidth = config.KvHeads * d;
        var layers = new DecoderLayerWeights[config.Layers];
        var bias = config.Architecture == DecoderArchitecture.Qwen2;
        for (var i = 0; i < layers.Length; i++)
        {
            var p = $"{body}layers.{i}.";
            var layer = new DecoderLayerWeights
            {
                Norm1 = loader.RmsNorm(p + "input_layernorm", h, config.NormEpsilon),
                Norm2 = loader.RmsNorm(p + "post_attention_layernorm", h, config.NormEpsilon),
                Output = linears.Get(p + "self_attn.o_proj.weight", null, h, qWidth),
            };

            string[] qkv = [p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight", p + "self_attn.v_proj.weight"];
            string[]? qkvBias = bias ? [p + "self_attn.q_proj.bias", p + "self_attn.k_proj.bias", p + "self_attn.v_proj.bias"] : null;
            if (linears.CanFuse)
            {
                // Quantized copies are owned anyway: one matrix per step instead of three small ones.
                layer.FusedQkv = linears.Fused(qkv, qkvBias, [qWidth, kvWidth, kvWidth], h);
            }
            else
            {
                layer.Query = linears.Get(qkv[0], qkvBias?[0], qWidth, h);
                layer.Key = linears.Get(qkv[1], qkvBias?[1], kvWidth, h);
                layer.Value = linears.Get(qkv[2], qkvBias?[2], kvWidth, h);
            }

            if (config.Architecture == DecoderArchitecture.AriaMoe)
            {
                layer.Moe = LoadMoe(linears, config, p + "mlp.");
            }
            else if (linears.CanFuse)
            {
                layer.FusedGateUp = linears.Fused([p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"], null, [config.IntermediateSize, config.IntermediateSize], h);
                layer.Down = linears.Get(p + "mlp.down_proj.weight", null, h, config.IntermediateSize);
            }
            else
            {
                layer.Gate = linears.Get(p + "mlp.gate_proj.weight", null, config.IntermediateSize, h);
                layer.Up = linears.Get(p + "mlp.up_proj.weight", null, config.IntermediateSize, h);
                layer.Down = linears.Get(p + "mlp.down_proj.weight", null, h, config.IntermediateSize);
            }

            layers[i] = layer;
        }

        if (headOnly)
        {
            return null!;
        }

        var embeddings = EmbeddingTable.Load(loader, body + "embed_tokens.weight", config.VocabularySize, h);
        return new DecoderWeights
        {
            Embeddings = embeddings,
            Layers = layers,
            FinalNorm = loader.RmsNorm(body + "norm", h, config.NormEpsilon),
            LmHead = linears.Head(lmHead, body + "embed_tokens.weight", config, () => HeadOrTied(loader, lmHead, embeddings, config, allowTied: config.TiedEmbeddings)),
        };
    }

    private static MoeWeights LoadMoe(Linears linears, DecoderConfig config, string p)
    {
        var loader = linears.Loader;
        var h = config.HiddenSize;
        var e = config.Experts;
        var inner = config.ExpertIntermediateSize;
        var expertIn = new LinearLayer[e];
        var expertOut = new LinearLayer[e];
        for (var i = 0; i < e; i++)
        {
            // Stored as [E, in, out] and used as x @ W: transposed once at load into nn.Linear layout.
            var index = i;
            expertIn[i] = linears.Convert($"{p}experts.fc1.weight#{i}", () => loader.TransposedLinear(p + "experts.fc1.weight", h, 2 * inner, [e, h, 2 * inner], index));
            expertOut[i] = linears.Convert($"{p}experts.fc2.weight#{i}", () => loader.TransposedLinear(p + "experts.fc2.weight", inner, h, [e, inner, h], index));
        }

        var shared = inner * config.SharedExperts;
        return new MoeWeights
        {
            Router = loader.Linear(p + "router.weight", null, e, h),
            ExpertIn = expertIn,
            ExpertOut = expertOut,
            TopK = config.ExpertsPerToken,
            SharedGate = linears.Get(p + "shared_experts.gate_proj.weight", null, shared, h),
            SharedUp = linears.Get(p + "shared_experts.up_proj.weight", null, shared, h),
            SharedDown = linears.Get(p + "shared_experts.down_proj.weight", null, h, shared),
        };
    }

    private static DecoderWeights LoadMpt(Linears linears, DecoderConfig config, string body, string lmHead, bool headOnly)
    {
        var loader = linears.Loader;
        var h = config.HiddenSize;
        var layers = new DecoderLayerWeights[config.Layers];
        for (var i = 0; i < layers.Length; i++)
        {
            var p = $"{body}blocks.{i}.";
            layers[i] = new DecoderLayerWeights
            {
                Norm1 = loader.LayerNorm(p + "norm_1", h, config.NormEpsilon),
                Norm2 = loader.LayerNorm(p + "norm_2", h, config.NormEpsilon),
                FusedQkv = linears.Get(p + "attn.Wqkv.weight", null, 3 * h, h),
                Output = linears.Get(p + "attn.out_proj.weight", null, h, h),
                Up = linears.Get(p + "ffn.up_proj.weight", null, config.IntermediateSize, h),
                Down = linears.Get(p + "ffn.down_proj.weight", null, h, config.IntermediateSize),
            };
        }

        if (headOnly)
        {
            return null!;
        }

        var embeddings = EmbeddingTable.Load(loader, body + "wte.weight", config.VocabularySize, h);
        return new DecoderWeights
        {
            Embeddings = embeddings,
            Layers = layers,
            FinalNorm = loader.LayerNorm(body + "norm_f", h, config.NormEpsilon),
            LmHead = linears.Head(lmHead, body + "wte.weight", config, () => HeadOrTied(loader, lmHead, embeddings, config, allowTied: true)),
        };
    }

    private static LinearLayer HeadOrTied(WeightLoader loader, string lmHead, EmbeddingTable embeddings, DecoderConfig config, bool allowTied)
    {
        if (loader.Contains(lmHead) || !allowTied)
        {
            return loader.Linear(lmHead, null, config.VocabularySize, config.HiddenSize);
        }

        return new LinearLayer(LinearWeight.FromBytes(embeddings.Data, embeddings.DType, config.VocabularySize, config.HiddenSize), null);
    }

    /// <summary>Loads linear layers as stored, through a quantization plan, or only lists them for the plan.</summary>
    private sealed class Linears(WeightLoader loader, QuantizationPlan? plan)
    {
        public WeightLoader Loader { get; } = loader;

        /// <summary>Gets or sets the list to fill instead of loading (the plan's first pass).</summary>
        public List<(string Key, Func<Func<LinearWeight, double>, double> Measure)>? Listing { get; init; }

        public LinearLayer Get(string weight, string? bias, int rows, int columns)
        {
            if (Listing is not null)
            {
                var info = Loader.Checkpoint.CheckShape(weight, rows, columns);
                Listing.Add((weight, measure => QuantizationPlan.WithStoredBytes(Loader, info, rows, columns, measure)));
                return Placeholder;
            }

            return plan is null ? Loader.Linear(weight, bias, rows, columns) : plan.Load(Loader, weight, bias, rows, columns);
        }

        /// <summary>Gets whether row-concatenated (fused) layers can be built: when quantizing without an int4 ratio
        /// (which ranks layers one by one).</summary>
        public bool CanFuse => Listing is null && plan is not null && !plan.RanksLayers;

        /// <summary>Loads layers with the same input width as one matrix, their rows stacked in order (q|k|v, gate|up).</summary>
        public LinearLayer Fused(string[] weights, string?[]? biases, int[] rows, int columns)
        {
            var total = rows.Sum();
            var infos = weights.Select((w, i) => Loader.Checkpoint.CheckShape(w, rows[i], columns)).ToArray();
            float[]? bias = null;
            if (biases is not null)
            {
                bias = biases.SelectMany((b, i) => b is null ? new float[rows[i]] : Loader.Tensor(b, rows[i])).ToArray();
            }

            return new LinearLayer(QuantizationPlan.WithStoredBytes(Loader, infos, total, columns, w => plan!.Apply(weights[0], w)), bias);
        }

        public LinearLayer Convert(string key, Func<LinearLayer> read)
        {
            if (Listing is not null)
            {
                Listing.Add((key, measure => measure(read().Weight)));
                return Placeholder;
            }

            var layer = read();
            return plan is null ? layer : layer with { Weight = plan.Apply(key, layer.Weight) };
        }

        /// <summary>The LM head as stored, or quantized from a file read of the head (or of the tied embeddings).</summary>
        public LinearLayer Head(string head, string embeddings, DecoderConfig config, Func<LinearLayer> stored)
        {
            var layer = stored();
            if (plan is null)
            {
                return layer;
            }

            var info = Loader.Checkpoint.GetInfo(Loader.Contains(head) ? head : embeddings);
            return layer with { Weight = QuantizationPlan.WithStoredBytes(Loader, info, config.VocabularySize, config.HiddenSize, plan.ApplyToHead) };
        }

        private static LinearLayer Placeholder { get; } = new(LinearWeight.FromSingle([0f], 1, 1), null);
    }
}
