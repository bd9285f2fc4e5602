// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Configuration;
using Multimodal.Backends.Managed.Decoder;
using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;
using Multimodal.Backends.Managed.SafeTensors;

namespace Multimodal.Backends.Managed.Families;

/// <summary>What the vision side of a family does with one preprocessed view.</summary>
internal interface IViewEncoder
{
    /// <summary>Gets the tokens' width (the language model's hidden size).</summary>
    int OutputWidth { get; }

    /// <summary>Gets the side of square views, or 0 when views may vary (MiniCPM-V).</summary>
    int ImageSize { get; }

    /// <summary>Gets the patch side.</summary>
    int PatchSize { get; }

    /// <summary>Gets the tokens one full view produces with default options.</summary>
    int TokensPerView { get; }

    /// <summary>Encodes one view into visual tokens <c>[tokens, OutputWidth]</c>.</summary>
    float[] Encode(DenseTensor<float> view, int index, VisionEncodeOptions? options);
}

/// <summary>A loaded family: its checkpoints, its vision side and its decoder.</summary>
internal abstract class FamilyModel : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    protected FamilyModel(string folder, ManagedModelOptions options)
    {
        Folder = folder;
        Options = options;
        Context = options.CreateContext();
    }

    public string Folder { get; }

    public ManagedModelOptions Options { get; }

    public ComputeContext Context { get; }

    public abstract string Name { get; }

    public abstract IViewEncoder Vision { get; }

    public abstract TransformerDecoder Decoder { get; }

    public void Dispose()
    {
        foreach (var item in _owned)
        {
            item.Dispose();
        }

        _owned.Clear();
    }

    /// <summary>Opens a checkpoint that lives as long as the model.</summary>
    protected WeightLoader Open(string path)
    {
        var checkpoint = SafeTensorsCheckpoint.Open(path);
        _owned.Add(checkpoint);
        return new WeightLoader(checkpoint);
    }

    /// <summary>Builds the decoder and applies the quantization option.</summary>
    protected TransformerDecoder CreateDecoder(WeightLoader loader, DecoderConfig config, string body, string lmHead)
    {
        var weights = DecoderLoader.Load(loader, config, body, lmHead, Options);
        var contextLength = Options.ContextLength > 0 ? Math.Min(Options.ContextLength, config.MaxPositions) : config.MaxPositions;
        return new TransformerDecoder(config, weights, contextLength, Context);
    }

    /// <summary>Reads <c>config.json</c> of a folder.</summary>
    protected static ConfigSection LoadConfig(string folder) => ConfigSection.Load(Path.Combine(folder, "config.json"));
}
