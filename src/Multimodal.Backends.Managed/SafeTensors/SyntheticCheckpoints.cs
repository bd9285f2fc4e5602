// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers.Binary;
using System.Globalization;

namespace Multimodal.Backends.Managed.SafeTensors;

/// <summary>
/// Random-weight checkpoints in real layouts, generated on demand (benchmarks need a ~1B-parameter Llama and a
/// CLIP ViT-L/14-336 that cannot be downloaded here). Values are uniform in ±scale from a fixed seed; norms are 1.
/// </summary>
internal static class SyntheticCheckpoints
{
    /// <summary>Writes a Hugging Face Llama folder (config.json + model.safetensors) unless it already exists.</summary>
    /// <returns>The folder.</returns>
    public static string Llama(string folder, int hidden, int layers, int heads, int kvHeads, int intermediate, int vocab, TensorDType dtype)
    {
        var file = Path.Combine(folder, "model.safetensors");
        if (File.Exists(file))
        {
            return folder;
        }

        Directory.CreateDirectory(folder);
        var kv = hidden / heads * kvHeads;
        var entries = new List<SafeTensorsWriter.Entry> { Random("model.embed_tokens.weight", dtype, [vocab, hidden]) };
        for (var i = 0; i < layers; i++)
        {
            var p = $"model.layers.{i}.";
            entries.Add(Ones(p + "input_layernorm.weight", dtype, hidden));
            entries.Add(Random(p + "self_attn.q_proj.weight", dtype, [hidden, hidden]));
            entries.Add(Random(p + "self_attn.k_proj.weight", dtype, [kv, hidden]));
            entries.Add(Random(p + "self_attn.v_proj.weight", dtype, [kv, hidden]));
            entries.Add(Random(p + "self_attn.o_proj.weight", dtype, [hidden, hidden]));
            entries.Add(Ones(p + "post_attention_layernorm.weight", dtype, hidden));
            entries.Add(Random(p + "mlp.gate_proj.weight", dtype, [intermediate, hidden]));
            entries.Add(Random(p + "mlp.up_proj.weight", dtype, [intermediate, hidden]));
            entries.Add(Random(p + "mlp.down_proj.weight", dtype, [hidden, intermediate]));
        }

        entries.Add(Ones("model.norm.weight", dtype, hidden));
        entries.Add(Random("lm_head.weight", dtype, [vocab, hidden]));
        SafeTensorsWriter.Write(file + ".partial", entries);
        File.WriteAllText(Path.Combine(folder, "config.json"), string.Create(CultureInfo.InvariantCulture, $$"""
            {"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_act":"silu","hidden_size":{{hidden}},"intermediate_size":{{intermediate}},
             "num_attention_heads":{{heads}},"num_key_value_heads":{{kvHeads}},"num_hidden_layers":{{layers}},"rms_norm_eps":1e-5,"rope_theta":10000.0,
             "vocab_size":{{vocab}},"max_position_embeddings":4096,"tie_word_embeddings":false}
            """));
        File.Move(file + ".partial", file);
        return folder;
    }

    /// <summary>Writes a CLIP vision checkpoint (<c>vision_model.*</c>) unless it exists.</summary>
    /// <returns>The safetensors file.</returns>
    public static string ClipVision(string file, int hidden, int layers, int intermediate, int imageSize, int patch, TensorDType dtype)
    {
        if (File.Exists(file))
        {
            return file;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var tokens = 1 + ((imageSize / patch) * (imageSize / patch));
        const string P = "vision_model.";
        var entries = new List<SafeTensorsWriter.Entry>
        {
            Random(P + "embeddings.class_embedding", dtype, [hidden]),
            Random(P + "embeddings.patch_embedding.weight", dtype, [hidden, 3, patch, patch]),
            Random(P + "embeddings.position_embedding.weight", dtype, [tokens, hidden]),
            Ones(P + "pre_layrnorm.weight", dtype, hidden),
            Random(P + "pre_layrnorm.bias", dtype, [hidden]),
        };
        for (var i = 0; i < layers; i++)
        {
            var p = $"{P}encoder.layers.{i}.";
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
            {
                entries.Add(Random($"{p}self_attn.{proj}.weight", dtype, [hidden, hidden]));
                entries.Add(Random($"{p}self_attn.{proj}.bias", dtype, [hidden]));
            }

            entries.Add(Ones(p + "layer_norm1.weight", dtype, hidden));
            entries.Add(Random(p + "layer_norm1.bias", dtype, [hidden]));
            entries.Add(Ones(p + "layer_norm2.weight", dtype, hidden));
            entries.Add(Random(p + "layer_norm2.bias", dtype, [hidden]));
            entries.Add(Random(p + "mlp.fc1.weight", dtype, [intermediate, hidden]));
            entries.Add(Random(p + "mlp.fc1.bias", dtype, [intermediate]));
            entries.Add(Random(p + "mlp.fc2.weight", dtype, [hidden, intermediate]));
            entries.Add(Random(p + "mlp.fc2.bias", dtype, [hidden]));
        }

        SafeTensorsWriter.Write(file + ".partial", entries);
        File.Move(file + ".partial", file);
        return file;
    }

    private static SafeTensorsWriter.Entry Ones(string name, TensorDType dtype, long size) =>
        new(name, dtype, [size], (offset, span) => FillConstant(dtype, span, 1f));

    private static SafeTensorsWriter.Entry Random(string name, TensorDType dtype, long[] shape, float scale = 0.02f)
    {
        // FNV-1a of the name: the same bytes on every run (string.GetHashCode is randomised per process).
        var seed = 14695981039346656037UL;
        foreach (var c in name)
        {
            seed = (seed ^ c) * 1099511628211UL;
        }

        return new(name, dtype, shape, (offset, span) =>
        {
            var state = seed ^ ((ulong)offset * 0x9E3779B97F4A7C15UL) ^ 0xD1B54A32D192ED03UL;
            var size = SafeTensorsHeader.ElementSize(dtype);
            for (var i = 0; i + size <= span.Length; i += size)
            {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                var value = (((state >> 40) / (float)(1 << 24)) * 2f - 1f) * scale;
                Store(dtype, span[i..], value);
            }
        });
    }

    private static void FillConstant(TensorDType dtype, Span<byte> span, float value)
    {
        var size = SafeTensorsHeader.ElementSize(dtype);
        for (var i = 0; i + size <= span.Length; i += size)
        {
            Store(dtype, span[i..], value);
        }
    }

    private static void Store(TensorDType dtype, Span<byte> destination, float value)
    {
        switch (dtype)
        {
            case TensorDType.F32:
                BinaryPrimitives.WriteSingleLittleEndian(destination, value);
                break;
            case TensorDType.F16:
                BinaryPrimitives.WriteHalfLittleEndian(destination, (Half)value);
                break;
            case TensorDType.BF16:
                BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Synthetic checkpoints are F32, F16 or BF16.");
        }
    }
}
