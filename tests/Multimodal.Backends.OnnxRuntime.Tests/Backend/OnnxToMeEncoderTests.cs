// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed;
using Multimodal.Backends.OnnxRuntime.Native;
using Multimodal.Testing;
using Xunit.Abstractions;
using static Multimodal.Backends.OnnxRuntime.Native.OrtTestEnvironment;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>AuroraCap's ToMe-merging vision graph (tests/data/onnx/auroracap/vision_encoder.onnx, exported by
/// eng/onnx/auroracap_vision.py from tests/data/models/tiny-auroracap: 84 px, 36 patches, a 4-layer tower of which 3
/// run) against the managed engine's encoder of the same checkpoint, at several kept-token ratios.</summary>
public sealed class OnnxToMeEncoderTests : IDisposable
{
    private const float ManagedTolerance = 1e-4f;
    private const int Side = 84;

    private static readonly string Checkpoint = RepositoryPaths.Combine("tests", "data", "models", "tiny-auroracap");
    private static readonly string Graph = RepositoryPaths.Combine("tests", "data", "onnx", "auroracap", "vision_encoder.onnx");

    private readonly ITestOutputHelper _output;
    private readonly ManagedModel _managed;
    private readonly OnnxVisionEncoder _onnx;
    private readonly DenseTensor<float>[] _views;

    public OnnxToMeEncoderTests(ITestOutputHelper output)
    {
        EnsureConfigured();
        _output = output;
        _managed = ManagedModel.Load(Checkpoint);
        _onnx = new OnnxVisionEncoder(OrtSession.Create(Graph, new OnnxRuntimeSessionOptions { IntraOpThreads = 1 }), patchSize: 14, batchSize: 8, "onnxruntime:cpu");
        _views = [.. Enumerable.Range(0, 3).Select(View)];
    }

    public void Dispose()
    {
        _onnx.Dispose();
        _managed.Dispose();
    }

    [Theory]
    [InlineData(0.2, 15)]
    [InlineData(0.5, 24)]
    [InlineData(0.8, 33)]
    [InlineData(1.0, 36)]
    public async Task TokenKeptRatio_MatchesTheManagedEncoder(double ratio, int tokens)
    {
        // Arrange: r = int(36 · (1 − ratio) / 4) merges in each of the 3 layers that run (7, 4, 1, 0).
        var options = Ratio(ratio);

        // Act
        var expected = await _managed.VisionEncoder.EncodeAsync(_views, options);
        var actual = await _onnx.EncodeAsync(_views, options);

        // Assert
        AssertSame(expected, actual, tokens, $"token_kept_ratio {ratio}");
    }

    [Fact]
    public async Task NoOptions_MergesAtTheManagedDefaultRatio()
    {
        var expected = await _managed.VisionEncoder.EncodeAsync(_views);
        var actual = await _onnx.EncodeAsync(_views);

        AssertSame(expected, actual, 33, "no options (0.8)");
    }

    [Fact]
    public async Task OneViewAtATime_MatchesTheBatch()
    {
        // Arrange
        var options = Ratio(0.2);
        var batched = await _onnx.EncodeAsync(_views, options);

        // Act / Assert: every view merges on its own scores inside a batch.
        for (var i = 0; i < _views.Length; i++)
        {
            var alone = Assert.Single(await _onnx.EncodeAsync([_views[i]], options));
            AssertClose(alone.Span, batched[i].Span, 1e-5f, $"view {i} alone vs batched");
        }
    }

    [Theory]
    [InlineData(3, 27)]
    [InlineData(40, 5)]
    public async Task BipartiteTokenMerger_RunsInTheGraphWithItsR(int r, int tokens)
    {
        // Arrange: an r above what a layer can merge is capped at (tokens − 1) / 2, as in the managed merger (37 → 19 → 10 → 6 with the class token).
        var options = new VisionEncodeOptions { LayerMerger = new BipartiteTokenMerger(r) };

        // Act
        var expected = await _managed.VisionEncoder.EncodeAsync(_views, options);
        var actual = await _onnx.EncodeAsync(_views, options);

        // Assert
        AssertSame(expected, actual, tokens, $"BipartiteTokenMerger({r})");
    }

    [Fact]
    public async Task AnotherLayerMerger_ThrowsUnsupportedRequestExceptionThatSaysWhy()
    {
        var options = new VisionEncodeOptions { LayerMerger = new KeepFirstMerger() };

        var error = await Assert.ThrowsAsync<UnsupportedRequestException>(async () => await _onnx.EncodeAsync(_views, options));

        Assert.Contains(nameof(KeepFirstMerger), error.Message, StringComparison.Ordinal);
        Assert.Contains("managed backend", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(-0.1)]
    [InlineData("many")]
    public async Task InvalidRatio_ThrowsArgumentExceptionNamingTheOption(object ratio)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>("options", async () => await _onnx.EncodeAsync(_views, new VisionEncodeOptions { AdditionalProperties = new Dictionary<string, object?> { ["token_kept_ratio"] = ratio } }));

        Assert.Contains("token_kept_ratio", error.Message, StringComparison.Ordinal);
    }

    private static VisionEncodeOptions Ratio(double ratio) =>
        new() { AdditionalProperties = new Dictionary<string, object?> { ["token_kept_ratio"] = ratio } };

    /// <summary>A CLIP-normalised-looking view: smooth colour gradients with noise, different per seed.</summary>
    private static DenseTensor<float> View(int seed)
    {
        var random = new Random(1000 + seed);
        var view = new DenseTensor<float>(3, Side, Side);
        var span = view.Span;
        for (var c = 0; c < 3; c++)
        {
            var (fx, fy) = (random.NextDouble() * 0.2, random.NextDouble() * 0.2);
            for (var y = 0; y < Side; y++)
            {
                for (var x = 0; x < Side; x++)
                {
                    span[(((c * Side) + y) * Side) + x] = (float)(Math.Sin((fx * x) + (fy * y) + c) + (0.5 * (random.NextDouble() - 0.5)));
                }
            }
        }

        return view;
    }

    private void AssertSame(IReadOnlyList<DenseTensor<float>> expected, IReadOnlyList<DenseTensor<float>> actual, int tokens, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        var worst = 0f;
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Shape.ToArray(), actual[i].Shape.ToArray());
            Assert.Equal(tokens, actual[i].Dimension(0));
            AssertClose(expected[i].Span, actual[i].Span, ManagedTolerance, $"{what}, view {i}");
            for (var j = 0; j < expected[i].Span.Length; j++)
            {
                worst = Math.Max(worst, Math.Abs(expected[i].Span[j] - actual[i].Span[j]));
            }
        }

        _output.WriteLine($"{what}: {tokens} tokens per view, max |ONNX Runtime - managed| {worst:E2}");
    }

    /// <summary>A merger the graph cannot express: keeps the first tokens.</summary>
    private sealed class KeepFirstMerger : ITokenMerger
    {
        public TokenMergePlan Plan(TokenMergeRequest request) => throw new NotSupportedException("never planned");
    }
}
