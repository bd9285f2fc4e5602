// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.CommandLine;
using Multimodal.Backends.Managed;
using Multimodal.Media.Images;
using Multimodal.Models.Aria;
using Multimodal.Models.AuroraCap;
using Multimodal.Models.Llava;
using Multimodal.Models.LongVA;
using Multimodal.Models.MiniCpmV;

namespace Multimodal.Cli;

/// <summary>Builds a model for the verbs that run one: the five family packages (detected from config.json), the managed backend, and the image decoder.</summary>
internal static class CliModels
{
    /// <summary>Gets the installed families, in detection order.</summary>
    internal static IReadOnlyList<IModelFamily> Families { get; } =
        [LlavaFamily.Instance, LongVaFamily.Instance, AuroraCapFamily.Instance, MiniCpmVFamily.Instance, AriaFamily.Instance];

    /// <summary>Gets the <c>--model</c> option.</summary>
    internal static Option<DirectoryInfo> ModelOption() => new("--model", "-m") { Description = "The model folder (Hugging Face layout; the family is detected from config.json).", Required = true };

    /// <summary>Gets the <c>--quantize</c> option.</summary>
    internal static Option<string?> QuantizeOption()
    {
        var option = new Option<string?>("--quantize") { Description = "Quantize the language model's weights while loading: int8 or int4." };
        option.AcceptOnlyFromAmong("int8", "int4");
        return option;
    }

    /// <summary>Creates (but does not load) the model for a folder.</summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="quantize">int8, int4 or <see langword="null"/>.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ModelLoadException">The folder is not a model of an installed family.</exception>
    internal static MultimodalModel Create(DirectoryInfo folder, string? quantize)
    {
        // Detect now, once, so that a wrong folder fails before anything else happens, with the family list in the message.
        var family = new DetectingModelFamily(Families).Detect(folder.FullName);
        var options = new ManagedModelOptions
        {
            Quantization = quantize switch
            {
                "int8" => WeightFormat.Int8,
                "int4" => WeightFormat.Int4Symmetric,
                _ => null,
            },
        };
        return new MultimodalModelBuilder()
            .UseModelPath(folder.FullName)
            .UseFamily(family)
            .UseBackend(new ManagedBackend(options))
            .UseImageDecoder(new ImageDecoder())
            .UsePdf()
            .UseVideo()
            .Build();
    }
}
