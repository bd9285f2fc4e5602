// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.SafeTensors;

namespace Multimodal.Backends.Managed.Families;

/// <summary>A plain Llama folder loads as a text-only model; its decoder runs and its vision encoder refuses images.</summary>
public sealed class TextOnlyModelTests : IDisposable
{
    private readonly string _folder = Path.Combine(Directory.CreateTempSubdirectory("mm-textonly-").FullName, "llama");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_folder)!, recursive: true);

    [Fact]
    public void SyntheticLlama_LoadsAndDecodes()
    {
        SyntheticCheckpoints.Llama(_folder, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 96, vocab: 100, TensorDType.BF16);
        using var model = ManagedModel.Load(_folder);
        Assert.Equal("llama", model.FamilyName);
        var decoder = model.LanguageDecoder;
        Assert.Equal(100, decoder.Metadata.VocabularySize);
        using var state = decoder.CreateState();
        var logits = new float[100];
        decoder.Forward(state, new DecoderInput(new[] { 1, 2, 3 }), logits);
        Assert.Contains(logits, v => v != 0f);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));

        var error = Assert.Throws<UnsupportedRequestException>(() => model.VisionEncoder.EncodeAsync([new DenseTensor<float>(3, 28, 28)]).AsTask().GetAwaiter().GetResult());
        Assert.Contains("text-only", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LongPrefill_InChunks_EqualsOnePass()
    {
        SyntheticCheckpoints.Llama(_folder, hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 48, vocab: 64, TensorDType.F32);
        using var model = ManagedModel.Load(_folder);
        var decoder = model.Family.Decoder;
        var ids = Enumerable.Range(0, Decoder.TransformerDecoder.PrefillChunk + 190).Select(i => ((i * 13) + 5) % 64).ToArray();

        // Forward chunks the prefill; ForwardAll with an observer runs every position through each layer at once.
        using var chunked = decoder.CreateState();
        var last = new float[64];
        decoder.Forward(chunked, new DecoderInput(ids), last);
        using var whole = decoder.CreateState();
        var all = decoder.ForwardAll(whole, new DecoderInput(ids), (_, _) => { });
        Goldens.AssertClose(all.AsSpan((ids.Length - 1) * 64, 64), last, 1e-5f, "chunked prefill");
        Assert.Equal(ids.Length, chunked.Length);
    }

    [Fact]
    public void SyntheticCheckpoint_IsDeterministic()
    {
        var other = _folder + "-again";
        SyntheticCheckpoints.Llama(_folder, 32, 1, 2, 2, 48, 50, TensorDType.F32);
        SyntheticCheckpoints.Llama(other, 32, 1, 2, 2, 48, 50, TensorDType.F32);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_folder, "model.safetensors")), File.ReadAllBytes(Path.Combine(other, "model.safetensors")));
        Directory.Delete(other, recursive: true);
    }
}
