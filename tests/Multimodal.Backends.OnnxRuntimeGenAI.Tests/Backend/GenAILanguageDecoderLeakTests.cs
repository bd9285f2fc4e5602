// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using Multimodal.Backends.OnnxRuntimeGenAI.Native;
using Xunit.Abstractions;
using static Multimodal.Backends.OnnxRuntimeGenAI.LlavaTinyGenAIFixture;

namespace Multimodal.Backends.OnnxRuntimeGenAI;

/// <summary>Creating, prefilling and disposing many GenAI decoder states, and loading and disposing many GenAI models, keeps
/// the resident set bounded (the collection runs alone, so the process is quiet).</summary>
/// <remarks>
/// <para>Calibration (2-core box, llava-tiny, a 106–109-position image prompt and one step per state), growth over a
/// warmed-up baseline: disposing each of 300 states, 0–5 MiB; keeping all 300 alive, 199–220 MiB (about 0.7 MiB of
/// generator and KV cache each). 30 models (GenAI model, vision session, one image prefill each): disposed 2–8 MiB, kept
/// alive 97–99 MiB. The bounds sit between.</para>
/// <para>Dropping states or models without disposing them is not a leak the resident set can show: their SafeHandles are
/// finalized by the GC in <see cref="ResidentBytes"/> (30 dropped models: 9–11 MiB), though 300 dropped states still
/// measure about 220 MiB, because glibc keeps the freed blocks for reuse (a later 300 disposed states do not grow the
/// process, and malloc_trim gives all but 3 MiB back).</para>
/// </remarks>
[Collection(GenAiCollection.Name)]
public sealed class GenAILanguageDecoderLeakTests(LlavaTinyGenAIFixture fixture, ITestOutputHelper output) : IClassFixture<LlavaTinyGenAIFixture>
{
    private const int States = 300;
    private const long GrowthLimit = 24L << 20;
    private const int Models = 30;
    private const long ModelGrowthLimit = 24L << 20;

    [Fact]
    public void CreatingPrefillingAndDisposing300States_KeepsMemoryBounded()
    {
        // Arrange: warm up the allocator pools and ONNX Runtime's arenas before the baseline.
        Run(30, keep: null);
        var before = ResidentBytes();

        // Act
        Run(States, keep: null);
        var growth = ResidentBytes() - before;

        // Assert
        output.WriteLine($"{States} states disposed: {Mib(growth)}");
        Assert.True(growth < GrowthLimit, $"{States} states grew the resident set by {Mib(growth)} (allowed {Mib(GrowthLimit)})");
    }

    [Fact]
    public void KeepingStatesAlive_GrowsMemoryPastTheBound()
    {
        // The calibration the bound above rests on: the same loop holding its states shows what a leak would cost.
        Run(30, keep: null);
        var before = ResidentBytes();
        var kept = new List<IDecoderState>();
        try
        {
            Run(States, kept);
            var growth = ResidentBytes() - before;
            output.WriteLine($"{States} states kept: {Mib(growth)}");
            Assert.True(growth > GrowthLimit, $"{States} live states grew the resident set by only {Mib(growth)}; the leak bound of {Mib(GrowthLimit)} could not catch a leak");
        }
        finally
        {
            foreach (var state in kept)
            {
                state.Dispose();
            }
        }
    }

    [Fact]
    public async Task LoadingUsingAndDisposing30Models_KeepsMemoryBounded()
    {
        // Arrange
        async Task LoadAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                using var model = CreateModel(CreateGenAIBackend());
                await model.LoadAsync();
                var decoder = model.Components.LanguageDecoder;
                using var state = decoder.CreateState();
                decoder.Forward(state, Input(fixture.Prompts[0], fixture.Rows[0]), new float[decoder.Metadata.VocabularySize]);
            }
        }

        await LoadAsync(5);
        var before = ResidentBytes();

        // Act
        await LoadAsync(Models);
        var growth = ResidentBytes() - before;

        // Assert
        output.WriteLine($"{Models} models disposed: {Mib(growth)}");
        Assert.True(growth < ModelGrowthLimit, $"{Models} models grew the resident set by {Mib(growth)} (allowed {Mib(ModelGrowthLimit)})");
    }

    private void Run(int count, List<IDecoderState>? keep)
    {
        var decoder = fixture.Decoder;
        var logits = new float[decoder.Metadata.VocabularySize];
        for (var i = 0; i < count; i++)
        {
            var state = decoder.CreateState();
            decoder.Forward(state, Input(fixture.Prompts[i % 4], fixture.Rows[i % 4]), logits);
            decoder.Forward(state, DecoderInput.Token(Argmax(logits)), logits);
            if (keep is null)
            {
                state.Dispose();
            }
            else
            {
                keep.Add(state);
            }
        }
    }

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB");

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        // /proc/self/statm: size resident shared text lib data dt, in pages.
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }
}
