// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Configuration;

namespace Multimodal.Backends.Managed.Decoder;

/// <summary>The decoder architectures the managed backend runs.</summary>
internal enum DecoderArchitecture
{
    /// <summary>Llama / Vicuna: RMSNorm, RoPE, SwiGLU, no biases.</summary>
    Llama,

    /// <summary>Qwen2: Llama with biases on q/k/v and grouped-query attention.</summary>
    Qwen2,

    /// <summary>MiniCPM: Llama with μP scalars (<c>scale_emb</c>, <c>scale_depth</c>, <c>dim_model_base</c>).</summary>
    MiniCpm,

    /// <summary>MPT: ALiBi, fused Wqkv, bias-free LayerNorm, GELU FFN, no biases, tied embeddings.</summary>
    Mpt,

    /// <summary>Aria: Llama attention with a mixture-of-experts MLP in every layer (top-k router, shared experts).</summary>
    AriaMoe,
}

/// <summary>A decoder's dimensions and settings, read from its config.json section.</summary>
internal sealed record DecoderConfig
{
    public required DecoderArchitecture Architecture { get; init; }

    public required int HiddenSize { get; init; }

    public required int Layers { get; init; }

    public required int Heads { get; init; }

    public required int KvHeads { get; init; }

    public required int IntermediateSize { get; init; }

    public required int VocabularySize { get; init; }

    public required int MaxPositions { get; init; }

    public required float NormEpsilon { get; init; }

    public double RopeTheta { get; init; } = 10000;

    /// <summary>Gets the linear RoPE scaling factor (positions are divided by it), 1 for none.</summary>
    public double RopeLinearFactor { get; init; } = 1;

    public bool TiedEmbeddings { get; init; }

    /// <summary>Gets the factor on token embeddings (MiniCPM <c>scale_emb</c>).</summary>
    public float EmbeddingScale { get; init; } = 1;

    /// <summary>Gets the factor on each residual branch (MiniCPM <c>scale_depth / √layers</c>).</summary>
    public float ResidualScale { get; init; } = 1;

    /// <summary>Gets the divisor of the final hidden state before the LM head (MiniCPM <c>hidden / dim_model_base</c>).</summary>
    public float LogitDivisor { get; init; } = 1;

    public float AlibiBiasMax { get; init; } = 8;

    public int Experts { get; init; }

    public int ExpertsPerToken { get; init; }

    public int ExpertIntermediateSize { get; init; }

    public int SharedExperts { get; init; }

    public int HeadDim => HiddenSize / Heads;

    /// <summary>Reads a Llama-family config (Llama, Qwen2, MiniCPM, Aria's text model).</summary>
    /// <param name="section">The section holding <c>hidden_size</c> etc.</param>
    /// <param name="architecture">Which variant.</param>
    /// <returns>The config.</returns>
    /// <exception cref="ModelLoadException">A key is missing or has an unsupported value.</exception>
    public static DecoderConfig FromLlama(ConfigSection section, DecoderArchitecture architecture)
    {
        var hidden = section.Int("hidden_size");
        var heads = section.Int("num_attention_heads");
        var kvHeads = section.Int("num_key_value_heads", heads);
        var layers = section.Int("num_hidden_layers");
        CheckHeads(section, hidden, heads, kvHeads);
        if (section.String("hidden_act", "silu") is not "silu")
        {
            throw section.Fail("hidden_act", $"is \"{section.String("hidden_act")}\"; only \"silu\" (SwiGLU) is supported for {architecture}");
        }

        var factor = 1.0;
        if (section.Section("rope_scaling") is { } scaling)
        {
            var type = scaling.String("type") ?? scaling.String("rope_type");
            if (type is not ("linear" or "default"))
            {
                throw scaling.Fail("type", $"is \"{type}\"; only linear RoPE scaling is supported");
            }

            factor = type == "linear" ? scaling.Number("factor") : 1.0;
        }

        var config = new DecoderConfig
        {
            Architecture = architecture,
            HiddenSize = hidden,
            Layers = layers,
            Heads = heads,
            KvHeads = kvHeads,
            IntermediateSize = section.Int("intermediate_size", 0),
            VocabularySize = section.Int("vocab_size"),
            MaxPositions = section.Int("max_position_embeddings", 4096),
            NormEpsilon = (float)section.Number("rms_norm_eps", 1e-6),
            RopeTheta = section.Number("rope_theta", 10000),
            RopeLinearFactor = factor,
            TiedEmbeddings = section.Bool("tie_word_embeddings", false),
        };

        if (architecture == DecoderArchitecture.MiniCpm)
        {
            var baseDim = section.Number("dim_model_base", hidden);
            config = config with
            {
                EmbeddingScale = (float)section.Number("scale_emb", 1),
                ResidualScale = (float)(section.Number("scale_depth", 1) / Math.Sqrt(layers)),
                LogitDivisor = (float)(hidden / baseDim),
            };
        }

        if (architecture == DecoderArchitecture.AriaMoe)
        {
            config = config with
            {
                Experts = section.Int("moe_num_experts"),
                ExpertsPerToken = section.Int("moe_topk"),
                ExpertIntermediateSize = section.Int("moe_intermediate_size", section.Int("intermediate_size", 0)),
                SharedExperts = section.Int("moe_num_shared_experts", 2),
            };
            if (config.ExpertsPerToken < 1 || config.ExpertsPerToken > config.Experts)
            {
                throw section.Fail("moe_topk", $"is {config.ExpertsPerToken}; it must be between 1 and moe_num_experts ({config.Experts})");
            }
        }
        else if (config.IntermediateSize <= 0)
        {
            throw section.Fail("intermediate_size", "is missing or not positive");
        }

        return config;
    }

    /// <summary>Reads an MPT config (<c>d_model</c>, <c>n_heads</c>, <c>attn_config</c> ...).</summary>
    /// <param name="section">The root config.</param>
    /// <returns>The config.</returns>
    /// <exception cref="ModelLoadException">A key is missing or has an unsupported value.</exception>
    public static DecoderConfig FromMpt(ConfigSection section)
    {
        var hidden = section.Int("d_model");
        var heads = section.Int("n_heads");
        CheckHeads(section, hidden, heads, heads);
        if (!section.Bool("no_bias", true))
        {
            throw section.Fail("no_bias", "is false; only bias-free MPT checkpoints (as MPT-7B) are supported");
        }

        var attention = section.Section("attn_config");
        if (attention is not null)
        {
            if (!attention.Bool("alibi", true))
            {
                throw attention.Fail("alibi", "is false; only ALiBi positions are supported for MPT");
            }

            if (attention.Has("clip_qkv") || attention.Bool("qk_ln", false))
            {
                throw attention.Fail(attention.Has("clip_qkv") ? "clip_qkv" : "qk_ln", "is set; clipped or normalised q/k are not supported");
            }
        }

        return new DecoderConfig
        {
            Architecture = DecoderArchitecture.Mpt,
            HiddenSize = hidden,
            Layers = section.Int("n_layers"),
            Heads = heads,
            KvHeads = heads,
            IntermediateSize = hidden * section.Int("expansion_ratio", 4),
            VocabularySize = section.Int("vocab_size"),
            MaxPositions = section.Int("max_seq_len", 2048),
            NormEpsilon = (float)section.Number("layer_norm_epsilon", 1e-5),
            TiedEmbeddings = true,
            AlibiBiasMax = (float)(attention?.Number("alibi_bias_max", 8) ?? 8),
        };
    }

    private static void CheckHeads(ConfigSection section, int hidden, int heads, int kvHeads)
    {
        if (heads <= 0 || hidden % heads != 0)
        {
            throw section.Fail("num_attention_heads", $"is {heads}, which does not divide the hidden size {hidden}");
        }

        if (kvHeads <= 0 || heads % kvHeads != 0)
        {
            throw section.Fail("num_key_value_heads", $"is {kvHeads}, which does not divide the {heads} attention heads");
        }
    }
}
