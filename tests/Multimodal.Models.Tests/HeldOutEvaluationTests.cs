// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Xunit.Abstractions;

namespace Multimodal.Models.Tests;

/// <summary>The bundled tiny LLaVA-1.5 through the whole C# pipeline against its PyTorch goldens.</summary>
/// <remarks>Parity is required (tokens identical on ≥ 99% of held-out prompts, accuracy within one point of PyTorch's),
/// and so is the ≥ 95% accuracy goal, which this model meets (docs/families.md has today's figure).</remarks>
public sealed class LlavaHeldOutTests(ITestOutputHelper output) : HeldOutEvaluationBase(output)
{
    protected override string Family => "llava";

    [Fact]
    public Task HeldOutAccuracyAndParityWithPyTorch() => EvaluateAsync();

    [Fact]
    public Task SecondChatTurnMatchesAFreshPrefill() => SecondTurnMatchesFreshPrefillAsync();
}

/// <summary>The bundled tiny LLaVA-MPT (MPT decoder with ALiBi, mpt conversations) against its PyTorch goldens.</summary>
/// <remarks>Parity is required, and so is the ≥ 95% accuracy goal, which this model meets (docs/families.md has today's
/// figure).</remarks>
public sealed class LlavaMptHeldOutTests(ITestOutputHelper output) : HeldOutEvaluationBase(output)
{
    protected override string Family => "llava-mpt";

    [Fact]
    public Task HeldOutAccuracyAndParityWithPyTorch() => EvaluateAsync();

    [Fact]
    public Task SecondChatTurnMatchesAFreshPrefill() => SecondTurnMatchesFreshPrefillAsync();
}

/// <summary>The bundled tiny LongVA (Qwen2 decoder, CLIP tower, 2×2 pooling, one video as one image span) against its PyTorch goldens.</summary>
/// <remarks>Parity is required, and so is the ≥ 95% accuracy goal, which this model meets (docs/families.md has today's
/// figure).</remarks>
public sealed class LongVaHeldOutTests(ITestOutputHelper output) : HeldOutEvaluationBase(output)
{
    protected override string Family => "longva";

    [Fact]
    public Task HeldOutAccuracyAndParityWithPyTorch() => EvaluateAsync();

    [Fact]
    public Task SecondChatTurnMatchesAFreshPrefill() => SecondTurnMatchesFreshPrefillAsync();
}

/// <summary>The bundled tiny AuroraCap (xtuner layout: Llama root, CLIP tower with ToMe in every layer, 2-layer projector)
/// against its PyTorch goldens, at the evaluation's token_kept_ratio (0.2, the captioning default).</summary>
/// <remarks>Parity is required, and so is the ≥ 95% accuracy goal, which this model meets (docs/families.md has today's
/// figure).</remarks>
public sealed class AuroraCapHeldOutTests(ITestOutputHelper output) : HeldOutEvaluationBase(output)
{
    protected override string Family => "auroracap";

    [Fact]
    public Task HeldOutAccuracyAndParityWithPyTorch() => EvaluateAsync();

    [Fact]
    public Task SecondChatTurnMatchesAFreshPrefill() => SecondTurnMatchesFreshPrefillAsync();
}

/// <summary>The bundled tiny MiniCPM-V 2 (timm SigLIP-style tower, perceiver resampler, MiniCPM decoder with μP scalars,
/// 224-pixel scenes sliced into a source view and a 2×2 grid) against its PyTorch goldens.</summary>
/// <remarks>Parity is required, and so is the ≥ 95% accuracy goal, which this model meets (docs/families.md has today's
/// figure).</remarks>
public sealed class MiniCpmVHeldOutTests(ITestOutputHelper output) : HeldOutEvaluationBase(output)
{
    protected override string Family => "minicpmv";

    [Fact]
    public Task HeldOutAccuracyAndParityWithPyTorch() => EvaluateAsync();

    [Fact]
    public Task SecondChatTurnMatchesAFreshPrefill() => SecondTurnMatchesFreshPrefillAsync();
}

/// <summary>The bundled tiny Aria (SigLIP-style tower with NaViT positions, cross-attention projector, MoE decoder) against
/// its PyTorch goldens: single scenes, and three-page PDFs split as seed 000 splits them ("What is on page N?").</summary>
/// <remarks>Parity is required, and so is the ≥ 95% accuracy goal, which this model meets (docs/families.md has today's
/// figure).</remarks>
public sealed class AriaHeldOutTests(ITestOutputHelper output) : HeldOutEvaluationBase(output)
{
    protected override string Family => "aria";

    [Fact]
    public Task HeldOutAccuracyAndParityWithPyTorch() => EvaluateAsync();

    [Fact]
    public Task SecondChatTurnMatchesAFreshPrefill() => SecondTurnMatchesFreshPrefillAsync();
}
