// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using static Multimodal.Backends.OnnxRuntimeGenAI.Native.GenAiTestEnvironment;

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>The tiny gemma3-type model through GenAI against the numpy goldens of eng/onnx/make_genai_test_models.py.</summary>
[Collection(GenAiCollection.Name)]
public sealed class GenAiGeneratorTests : IDisposable
{
    private readonly GenAiModel _model;

    public GenAiGeneratorTests()
    {
        EnsureConfigured();
        _model = OpenModel();
    }

    public void Dispose() => _model.Dispose();

    [Theory]
    [InlineData("text_only")]
    [InlineData("one_image")]
    [InlineData("two_images")]
    public void GreedyLoop_MatchesGoldenIdsAndPerStepLogits(string name)
    {
        // Arrange
        var scenario = Goldens.Scenarios[name];
        var turn = scenario.Turns[0];
        using var generator = CreateGenerator(_model);

        // Act + Assert
        Prefill(generator, turn.InputIds, scenario.Images);
        Assert.Equal(turn.InputIds.Length, generator.TokenCount);
        RunGreedy(generator, turn, name);
        Assert.Equal([.. turn.InputIds, .. turn.Tokens], generator.GetSequence());
    }

    [Fact]
    public void GreedyLoop_WithoutReadingLogits_GivesTheGoldenIds()
    {
        // Arrange: CopyLogits runs the model lazily; the plain loop must give the same ids without it.
        var scenario = Goldens.Scenarios["two_images"];
        using var generator = CreateGenerator(_model);
        Prefill(generator, scenario.Turns[0].InputIds, scenario.Images);

        // Act
        var tokens = new List<int>();
        while (tokens.Count < scenario.Turns[0].Tokens.Length && !generator.IsDone)
        {
            generator.GenerateNextToken();
            tokens.Add(generator.GetNextToken());
        }

        // Assert
        Assert.Equal(scenario.Turns[0].Tokens, tokens);
    }

    [Fact]
    public void SecondTurn_RewindByOneThenAppendLastPlusTurn_MatchesGoldenContinuation()
    {
        // Arrange: turn 1 with an image, generated with GenerateNextToken (so the last token never ran).
        var scenario = Goldens.Scenarios["two_turns"];
        using var generator = CreateGenerator(_model);
        Prefill(generator, scenario.Turns[0].InputIds, scenario.Images);
        RunGreedy(generator, scenario.Turns[0], "turn 1");

        // Act: the working multi-turn pattern.
        var last = generator.GetSequence()[^1];
        generator.RewindTo(generator.TokenCount - 1);
        generator.AppendTokens([last, .. scenario.Turns[1].InputIds]);

        // Assert
        RunGreedy(generator, scenario.Turns[1], "turn 2");
        Assert.Equal(scenario.HistoryThrough(1).Concat(scenario.Turns[1].Tokens), generator.GetSequence());
    }

    [Fact]
    public void SecondTurn_AfterReadingTheLastTokensLogits_IsAppendedWithoutRewind()
    {
        // Arrange: CopyLogits after the last GenerateNextToken runs the model on that token, so the KV cache already
        // holds it; the rewind-by-one pattern would now double it, and the plain append is the right continuation.
        var scenario = Goldens.Scenarios["two_turns"];
        using var generator = CreateGenerator(_model);
        Prefill(generator, scenario.Turns[0].InputIds, scenario.Images);
        RunGreedy(generator, scenario.Turns[0], "turn 1");
        Logits(generator);

        // Act
        generator.AppendTokens(scenario.Turns[1].InputIds);

        // Assert
        RunGreedy(generator, scenario.Turns[1], "turn 2");
    }

    [Fact]
    public void OwnTokenChoice_AppendingEachChoice_GivesTheGoldenLogits_AcrossTurns()
    {
        // Arrange: how the ILanguageDecoder adapter drives GenAI: read logits, choose, AppendTokens([choice]); never GenerateNextToken.
        var scenario = Goldens.Scenarios["forced"];
        using var generator = CreateGenerator(_model);

        // Act + Assert: turn 1 (image prompt), then turn 2 appended directly: every chosen token has run, so no rewind.
        Prefill(generator, scenario.Turns[0].InputIds, scenario.Images);
        DriveWithOwnChoices(generator, scenario.Turns[0], "forced turn 1");
        generator.AppendTokens(scenario.Turns[1].InputIds);
        DriveWithOwnChoices(generator, scenario.Turns[1], "forced turn 2");
        Assert.Equal(scenario.HistoryThrough(1).Concat(scenario.Turns[1].Tokens), generator.GetSequence());
    }

    [Theory]
    [InlineData("one_image")]
    [InlineData("two_images")]
    [InlineData("text_only")]
    public void OwnTokenChoice_OfTheGreedyIds_GivesTheGoldenLogitsAtEveryStep(string name)
    {
        // Arrange
        var scenario = Goldens.Scenarios[name];
        using var generator = CreateGenerator(_model);

        // Act + Assert
        Prefill(generator, scenario.Turns[0].InputIds, scenario.Images);
        DriveWithOwnChoices(generator, scenario.Turns[0], name);
    }

    [Fact]
    public void OwnTokenChoice_ThenGenerateNextToken_ContinuesTheGoldenSequence()
    {
        // Arrange: mixing the two styles must agree too (the logits after an append are already computed).
        var scenario = Goldens.Scenarios["one_image"];
        var turn = scenario.Turns[0];
        using var generator = CreateGenerator(_model);
        Prefill(generator, turn.InputIds, scenario.Images);

        // Act
        generator.AppendTokens(turn.Tokens.AsSpan(0, 3));
        AssertLogits(turn.Logits[3], Logits(generator), "after 3 appended ids");
        generator.GenerateNextToken();

        // Assert
        Assert.Equal(turn.Tokens[3], generator.GetNextToken());
        AssertLogits(turn.Logits[4], Logits(generator), "after the generated id");
    }

    [Fact]
    public void NewGenerator_RePrefilledWithTheWholeHistory_EqualsTheContinuousConversation()
    {
        // Arrange: the continuous conversation (one generator, rewind-by-one between turns).
        var scenario = Goldens.Scenarios["two_turns"];
        using var continuous = CreateGenerator(_model);
        Prefill(continuous, scenario.Turns[0].InputIds, scenario.Images);
        RunGreedy(continuous, scenario.Turns[0], "turn 1");
        var last = continuous.GetSequence()[^1];
        continuous.RewindTo(continuous.TokenCount - 1);
        continuous.AppendTokens([last, .. scenario.Turns[1].InputIds]);

        // Act: a fresh generator fed the whole history at once, with the turn-1 image.
        using var fresh = CreateGenerator(_model);
        Prefill(fresh, scenario.HistoryThrough(1), scenario.Images);

        // Assert: same logits as the continuous generator at every step, and both equal the goldens.
        for (var step = 0; step < scenario.Turns[1].Tokens.Length; step++)
        {
            var a = Logits(continuous);
            var b = Logits(fresh);
            AssertLogits(a, b, $"continuous vs re-prefilled, step {step}", 1e-5f);
            AssertLogits(scenario.Turns[1].Logits[step], b, $"re-prefilled vs golden, step {step}");
            continuous.GenerateNextToken();
            fresh.GenerateNextToken();
            Assert.Equal(scenario.Turns[1].Tokens[step], continuous.GetNextToken());
            Assert.Equal(scenario.Turns[1].Tokens[step], fresh.GetNextToken());
        }

        Assert.Equal(continuous.GetSequence(), fresh.GetSequence());
    }

    [Fact]
    public void ImageInTurnTwo_NewGeneratorWithBothImagesAtOnce_MatchesGolden()
    {
        // Arrange: GenAI ignores images after a generator's first prompt, so turn 2's image needs a re-prefill.
        var scenario = Goldens.Scenarios["image_in_turn_two"];
        Assert.Single(scenario.ImagesUpTo(1, Goldens.ImageTokenId));
        Assert.Equal(2, scenario.ImagesUpTo(2, Goldens.ImageTokenId).Length);
        using var generator = CreateGenerator(_model);

        // Act
        Prefill(generator, scenario.HistoryThrough(1), scenario.Images);

        // Assert
        RunGreedy(generator, scenario.Turns[1], "turn 2 with its image");
    }

    [Fact]
    public void ImagesMatter_TheSamePromptWithOtherRowsGivesOtherLogits()
    {
        // Arrange: guards against a splice that silently drops the rows (GenAI skips vision without num_image_tokens).
        var scenario = Goldens.Scenarios["one_image"];
        float[][][] zeros = [[.. scenario.Images[0].Select(row => new float[row.Length])]];
        using var generator = CreateGenerator(_model);

        // Act
        Prefill(generator, scenario.Turns[0].InputIds, zeros);
        var logits = Logits(generator);

        // Assert
        Assert.True(logits.Zip(scenario.Turns[0].Logits[0]).Max(p => MathF.Abs(p.First - p.Second)) > 0.1f);
    }

    [Fact]
    public void TwoGeneratorsOfOneModel_Interleaved_EachMatchesItsGolden()
    {
        // Arrange
        var a = Goldens.Scenarios["one_image"];
        var b = Goldens.Scenarios["text_only"];
        using var first = CreateGenerator(_model);
        using var second = CreateGenerator(_model);
        Prefill(first, a.Turns[0].InputIds, a.Images);
        Prefill(second, b.Turns[0].InputIds, b.Images);

        // Act + Assert
        for (var step = 0; step < a.Turns[0].Tokens.Length; step++)
        {
            AssertLogits(a.Turns[0].Logits[step], Logits(first), $"first, step {step}");
            AssertLogits(b.Turns[0].Logits[step], Logits(second), $"second, step {step}");
            first.GenerateNextToken();
            second.GenerateNextToken();
            Assert.Equal(a.Turns[0].Tokens[step], first.GetNextToken());
            Assert.Equal(b.Turns[0].Tokens[step], second.GetNextToken());
        }
    }

    [Fact]
    public void Generator_KeepsTheModelAlive_AfterTheModelIsDisposed()
    {
        // Arrange
        var scenario = Goldens.Scenarios["one_image"];
        var model = OpenModel();
        using var generator = CreateGenerator(model);

        // Act
        model.Dispose();
        Prefill(generator, scenario.Turns[0].InputIds, scenario.Images);

        // Assert
        RunGreedy(generator, scenario.Turns[0], "after the model was disposed");
        Assert.Throws<ObjectDisposedException>(() => CreateGenerator(model));
    }

    [Fact]
    public void Tensors_CopyIn_AndReportTypeAndShape()
    {
        // Arrange + Act
        using var floats = GenAiTensor.Create<float>([1.5f, -2f, 3.25f, 0f, 5f, 6f], [2, 3]);
        using var ints = GenAiTensor.Create<int>([7, 8], [1, 2]);
        using var longs = GenAiTensor.Create<long>([long.MaxValue], [1]);
        using var empty = GenAiTensor.Create<float>([], [0, 16]);
        using var scalar = GenAiTensor.Create<long>([42], []);

        // Assert
        Assert.Equal(GenAiElementType.Float32, floats.GetElementType());
        Assert.Equal([2L, 3L], floats.GetShape());
        var back = new float[6];
        Assert.Equal(6, floats.CopyTo<float>(back));
        Assert.Equal([1.5f, -2f, 3.25f, 0f, 5f, 6f], back);
        Assert.Equal(GenAiElementType.Int32, ints.GetElementType());
        var intsBack = new int[2];
        ints.CopyTo<int>(intsBack);
        Assert.Equal([7, 8], intsBack);
        Assert.Equal(GenAiElementType.Int64, longs.GetElementType());
        var longsBack = new long[1];
        longs.CopyTo<long>(longsBack);
        Assert.Equal(long.MaxValue, longsBack[0]);
        Assert.Equal([0L, 16L], empty.GetShape());
        Assert.Equal(0, empty.CopyTo<float>([]));
        Assert.Empty(scalar.GetShape());
        Assert.Throws<InvalidOperationException>(() => ints.CopyTo<float>(new float[2]));
        Assert.Throws<ArgumentException>("destination", () => floats.CopyTo<float>(new float[5]));
    }

    [Fact]
    public void Tensors_RejectBadShapesAndTypes()
    {
        Assert.Throws<ArgumentException>("data", () => GenAiTensor.Create<float>([1f, 2f, 3f], [2, 2]));
        Assert.Throws<ArgumentException>("shape", () => GenAiTensor.Create<float>([], [-1, 0]));
        Assert.Throws<NotSupportedException>(() => GenAiTensor.Create<double>([1.0], [1]));
        var disposed = GenAiTensor.Create<int>([1], [1]);
        disposed.Dispose();
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => disposed.GetShape());
        using var named = new GenAiNamedTensors();
        Assert.Throws<ObjectDisposedException>(() => named.Set("input_ids", disposed));
    }

    [Fact]
    public void NamedTensors_CountTheirEntries_AndReplaceByName()
    {
        // Arrange
        using var a = GenAiTensor.Create<int>([1], [1, 1]);
        using var b = GenAiTensor.Create<int>([2], [1, 1]);
        using var named = new GenAiNamedTensors();

        // Act
        named.Set("input_ids", a);
        named.Set("input_ids", b);
        named.Set("num_image_tokens", a);

        // Assert
        Assert.Equal(2, named.Count);
        Assert.Throws<ArgumentException>(() => named.Set(string.Empty, a));
    }

    private static void RunGreedy(GenAiGenerator generator, GenAiTurn turn, string what)
    {
        for (var step = 0; step < turn.Tokens.Length; step++)
        {
            Assert.False(generator.IsDone);
            AssertLogits(turn.Logits[step], Logits(generator), $"{what}, step {step}");
            generator.GenerateNextToken();
            Assert.Equal(turn.Tokens[step], generator.GetNextToken());
        }
    }

    private static void DriveWithOwnChoices(GenAiGenerator generator, GenAiTurn turn, string what)
    {
        for (var step = 0; step < turn.Tokens.Length; step++)
        {
            var before = generator.TokenCount;
            AssertLogits(turn.Logits[step], Logits(generator), $"{what}, step {step}");

            // Reading the logits twice must not advance anything.
            AssertLogits(turn.Logits[step], Logits(generator), $"{what}, step {step}, read again");
            Assert.Equal(before, generator.TokenCount);
            generator.AppendTokens([turn.Tokens[step]]);
            Assert.Equal(before + 1, generator.TokenCount);
        }
    }
}
