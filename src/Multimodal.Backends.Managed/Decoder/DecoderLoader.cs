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
    /// <returns>The weights.</returns>
    /// <exception cref="ModelLoadException">A tensor is missing or has the wrong shape.</exception>
    public static DecoderWeights Load(WeightLoader loader, DecoderConfig config, string body, string lmHead)
    {
        return config.Architecture == DecoderArchitecture.Mpt ? LoadMpt(loader, config, body, lmHead) : LoadLlama(loader, config, body, lmHead);
    }

    private static DecoderWeights LoadLlama(WeightLoader loader, DecoderConfig config, string body, string lmHead)
    {
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
                Query = loader.Linear(p + "self_attn.q_proj.weight", bias ? p + "self_attn.q_proj.bias" : null, qWidth, h),
                Key = loader.Linear(p + "self_attn.k_proj.weight", bias ? p + "self_attn.k_proj.bias" : null, kvWidth, h),
                Value = loader.Linear(p + "self_attn.v_proj.weight", bias ? p + "self_attn.v_proj.bias" : null, kvWidth, h),
                Output = loader.Linear(p + "self_attn.o_proj.weight", null, h, qWidth),
            };

            if (config.Architecture == DecoderArchitecture.AriaMoe)
            {
                layer.Moe = LoadMoe(loader, config, p + "mlp.");
            }
            else
            {
                layer.Gate = loader.Linear(p + "mlp.gate_proj.weight", null, config.IntermediateSize, h);
                layer.Up = loader.Linear(p + "mlp.up_proj.weight", null, config.IntermediateSize, h);
                layer.Down = loader.Linear(p + "mlp.down_proj.weight", null, h, config.IntermediateSize);
            }

            layers[i] = layer;
        }

        var embeddings = EmbeddingTable.Load(loader, body + "embed_tokens.weight", config.VocabularySize, h);
        return new DecoderWeights
        {
            Embeddings = embeddings,
            Layers = layers,
            FinalNorm = loader.RmsNorm(body + "norm", h, config.NormEpsilon),
            LmHead = HeadOrTied(loader, lmHead, embeddings, config, allowTied: config.TiedEmbeddings),
        };
    }

    private static MoeWeights LoadMoe(WeightLoader loader, DecoderConfig config, string p)
    {
        var h = config.HiddenSize;
        var e = config.Experts;
        var inner = config.ExpertIntermediateSize;
        var expertIn = new LinearLayer[e];
        var expertOut = new LinearLayer[e];
        for (var i = 0; i < e; i++)
        {
            // Stored as [E, in, out] and used as x @ W: transposed once at load into nn.Linear layout.
            expertIn[i] = loader.TransposedLinear(p + "experts.fc1.weight", h, 2 * inner, [e, h, 2 * inner], i);
            expertOut[i] = loader.TransposedLinear(p + "experts.fc2.weight", inner, h, [e, inner, h], i);
        }

        var shared = inner * config.SharedExperts;
        return new MoeWeights
        {
            Router = loader.Linear(p + "router.weight", null, e, h),
            ExpertIn = expertIn,
            ExpertOut = expertOut,
            TopK = config.ExpertsPerToken,
            SharedGate = loader.Linear(p + "shared_experts.gate_proj.weight", null, shared, h),
            SharedUp = loader.Linear(p + "shared_experts.up_proj.weight", null, shared, h),
            SharedDown = loader.Linear(p + "shared_experts.down_proj.weight", null, h, shared),
        };
    }

    private static DecoderWeights LoadMpt(WeightLoader loader, DecoderConfig config, string body, string lmHead)
    {
        var h = config.HiddenSize;
        var layers = new DecoderLayerWeights[config.Layers];
        for (var i = 0; i < layers.Length; i++)
        {
            var p = $"{body}blocks.{i}.";
            layers[i] = new DecoderLayerWeights
            {
                Norm1 = loader.LayerNorm(p + "norm_1", h, config.NormEpsilon),
                Norm2 = loader.LayerNorm(p + "norm_2", h, config.NormEpsilon),
                FusedQkv = loader.Linear(p + "attn.Wqkv.weight", null, 3 * h, h),
                Output = loader.Linear(p + "attn.out_proj.weight", null, h, h),
                Up = loader.Linear(p + "ffn.up_proj.weight", null, config.IntermediateSize, h),
                Down = loader.Linear(p + "ffn.down_proj.weight", null, h, config.IntermediateSize),
            };
        }

        var embeddings = EmbeddingTable.Load(loader, body + "wte.weight", config.VocabularySize, h);
        return new DecoderWeights
        {
            Embeddings = embeddings,
            Layers = layers,
            FinalNorm = loader.LayerNorm(body + "norm_f", h, config.NormEpsilon),
            LmHead = HeadOrTied(loader, lmHead, embeddings, config, allowTied: true),
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
}
