// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json.Nodes;
using static Multimodal.Backends.OnnxRuntimeGenAI.Native.GenAiTestEnvironment;

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

[Collection(GenAiCollection.Name)]
public sealed class GenAiErrorTests : IDisposable
{
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "genai-tests-" + Guid.NewGuid().ToString("N"));

    public GenAiErrorTests() => EnsureConfigured();

    public void Dispose()
    {
        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }

    [Fact]
    public void MissingFolder_ThrowsNamingTheFolder()
    {
        var folder = Path.Combine(_scratch, "no-such-model");

        var ex = Assert.Throws<OnnxRuntimeGenAIException>(() => GenAiModel.FromDirectory(folder));

        Assert.Contains(folder, ex.Message, StringComparison.Ordinal);
        Assert.Null(ex.NativeMessage);
    }

    [Fact]
    public void FolderWithoutGenAIConfig_ThrowsNamingTheFileAndFolder()
    {
        Directory.CreateDirectory(_scratch);

        var ex = Assert.Throws<OnnxRuntimeGenAIException>(() => GenAiConfig.FromDirectory(_scratch));

        Assert.Contains(_scratch, ex.Message, StringComparison.Ordinal);
        Assert.Contains("genai_config.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedGenAIConfig_ThrowsWithGenAIsMessage()
    {
        var folder = CopyModel(config => config.Replace("\"model\"", "\"model\" [", StringComparison.Ordinal));

        var ex = Assert.Throws<OnnxRuntimeGenAIException>(() => GenAiModel.FromDirectory(folder));

        Assert.Contains(folder, ex.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(ex.NativeMessage));
        Assert.EndsWith(ex.NativeMessage!, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownKeyInGenAIConfig_Throws()
    {
        var folder = CopyModel(config =>
        {
            var json = JsonNode.Parse(config)!;
            json["model"]!["decoder"]!["no_such_setting"] = 1;
            return json.ToJsonString();
        });

        var ex = Assert.Throws<OnnxRuntimeGenAIException>(() => GenAiModel.FromDirectory(folder));

        Assert.Contains("no_such_setting", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsupportedModelType_ThrowsWhenTheModelIsCreated()
    {
        var folder = CopyModel(config =>
        {
            var json = JsonNode.Parse(config)!;
            json["model"]!["type"] = "no_such_type";
            return json.ToJsonString();
        });
        using var config = GenAiConfig.FromDirectory(folder);

        var ex = Assert.Throws<OnnxRuntimeGenAIException>(() => GenAiModel.Create(config));

        Assert.Contains("no_such_type", ex.Message, StringComparison.Ordinal);
        Assert.Contains(folder, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingGraph_ThrowsWhenTheModelIsCreated()
    {
        var folder = CopyModel(config => config);
        File.Delete(Path.Combine(folder, "embedding.onnx"));

        var ex = Assert.Throws<OnnxRuntimeGenAIException>(() => GenAiModel.FromDirectory(folder));

        Assert.Contains("embedding.onnx", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Overlay_AppliesKnownSettings_AndRejectsBadJson()
    {
        // Arrange
        using var config = GenAiConfig.FromDirectory(ModelDirectory);

        // Act
        config.Overlay("""{"search": {"max_length": 12}}""");
        var bad = Assert.Throws<OnnxRuntimeGenAIException>(() => config.Overlay("{ not json"));
        using var model = GenAiModel.Create(config);
        using var generator = CreateGenerator(model);
        generator.AppendTokens([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

        // Assert: the overlay's max_length holds, so one more token is refused.
        Assert.NotNull(bad.NativeMessage);
        Assert.Throws<OnnxRuntimeGenAIException>(() => generator.AppendTokens([13]));
    }

    [Fact]
    public void Providers_CpuOnlyConfiguration_StillLoads()
    {
        using var config = GenAiConfig.FromDirectory(ModelDirectory);
        config.ClearProviders();
        using var model = GenAiModel.Create(config);

        Assert.Equal("gemma3", model.Type);
    }

    [Fact]
    public void UnknownSearchOption_Throws()
    {
        using var model = OpenModel();
        using var parameters = new GenAiGeneratorParams(model);

        var ex = Assert.Throws<OnnxRuntimeGenAIException>(() => parameters.SetSearchOption("no_such_option", 1.0));
        Assert.Throws<OnnxRuntimeGenAIException>(() => parameters.SetSearchOption("no_such_flag", true));

        Assert.Contains("no_such_option", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AppendTokensPastMaxLength_Throws_AndFaultsTheGenerator()
    {
        // Arrange
        using var model = OpenModel();
        var generator = CreateGenerator(model, maxLength: 10);
        generator.AppendTokens([1, 5, 9, 13, 17, 21, 25, 29]);

        // Act
        var ex = Assert.Throws<OnnxRuntimeGenAIException>(() => generator.AppendTokens([3, 4, 5]));

        // Assert: GenAI's message, then every later call refuses without touching native state.
        Assert.Contains("max length", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.True(generator.IsFaulted);
        var later = Assert.Throws<InvalidOperationException>(() => generator.AppendTokens([3]));
        Assert.Same(ex, later.InnerException);
        Assert.Contains("Dispose it and create a new one", later.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => generator.TokenCount);
        Assert.Throws<InvalidOperationException>(() => generator.IsDone);
        Assert.Throws<InvalidOperationException>(() => generator.GenerateNextToken());
        Assert.Throws<InvalidOperationException>(() => generator.GetNextToken());
        Assert.Throws<InvalidOperationException>(() => generator.CopyLogits(new float[64]));
        Assert.Throws<InvalidOperationException>(() => generator.GetSequence());
        Assert.Throws<InvalidOperationException>(() => generator.RewindTo(0));
        generator.Dispose();
        generator.Dispose();
        Assert.Throws<ObjectDisposedException>(() => generator.TokenCount);
    }

    [Fact]
    public void GenerateNextTokenAtMaxLength_Throws_AndFaultsTheGenerator()
    {
        using var model = OpenModel();
        using var generator = CreateGenerator(model, maxLength: 4);
        generator.AppendTokens([1, 5, 9]);
        generator.GenerateNextToken();

        // The search reports done at max_length; pushing on is GenAI's error, and it faults the generator.
        Assert.True(generator.IsDone);
        Assert.Throws<OnnxRuntimeGenAIException>(() => generator.GenerateNextToken());
        Assert.True(generator.IsFaulted);
    }

    [Fact]
    public void ArgumentAndStateChecks_DoNotFaultTheGenerator()
    {
        using var model = OpenModel();
        using var generator = CreateGenerator(model);

        Assert.Throws<InvalidOperationException>(() => generator.GenerateNextToken());
        Assert.Throws<InvalidOperationException>(() => generator.CopyLogits(new float[64]));
        Assert.Throws<ArgumentException>("tokens", () => generator.AppendTokens([]));
        generator.AppendTokens([1, 5, 9]);
        Assert.Throws<ArgumentOutOfRangeException>("length", () => generator.RewindTo(4));
        Assert.Throws<ArgumentOutOfRangeException>("length", () => generator.RewindTo(-1));
        Assert.Throws<ArgumentException>("destination", () => generator.CopyLogits(new float[10]));

        Assert.False(generator.IsFaulted);
        Assert.Equal([1, 5, 9], generator.GetSequence());
    }

    [Fact]
    public void TerminateSession_BlocksEveryCall_WithoutReachingGenAIsUncaughtThrow_UntilCleared()
    {
        // Arrange
        var scenario = Goldens.Scenarios["one_image"];
        var turn = scenario.Turns[0];
        using var model = OpenModel();
        using var generator = CreateGenerator(model);
        Prefill(generator, turn.InputIds, scenario.Images);
        generator.GenerateNextToken();

        // Act: terminated, GenAI's OgaGenerator_IsDone would throw through its C boundary (std::terminate).
        generator.SetRuntimeOption(GenAiGenerator.TerminateSession, "1");

        // Assert
        Assert.Throws<InvalidOperationException>(() => generator.IsDone);
        Assert.Throws<InvalidOperationException>(() => generator.GenerateNextToken());
        Assert.Throws<OnnxRuntimeGenAIException>(() => generator.SetRuntimeOption(GenAiGenerator.TerminateSession, "2"));
        Assert.False(generator.IsFaulted);
        generator.SetRuntimeOption(GenAiGenerator.TerminateSession, "0");
        Assert.False(generator.IsDone);
        Assert.Equal(turn.Tokens[0], generator.GetNextToken());
        AssertLogits(turn.Logits[1], Logits(generator), "after clearing terminate_session");
        generator.GenerateNextToken();
        Assert.Equal(turn.Tokens[1], generator.GetNextToken());
    }

    [Fact]
    public void SetInputsWithAMisnamedVisionInput_Throws_AndFaultsTheGenerator()
    {
        // Arrange: vision runs (num_image_tokens > 0) but GenAI drops the misnamed input, so pixel_values is unbound.
        using var model = OpenModel();
        using var generator = CreateGenerator(model);
        using var ids = GenAiTensor.Create<int>([1, Goldens.ImageTokenId, 3], [1, 3]);
        using var pixels = GenAiTensor.Create<float>(new float[Goldens.HiddenSize], [1, Goldens.HiddenSize]);
        using var counts = GenAiTensor.Create<long>([1], [1]);
        using var inputs = new GenAiNamedTensors();
        inputs.Set("input_ids", ids);
        inputs.Set("pixels_misspelled", pixels);
        inputs.Set("num_image_tokens", counts);

        // Act
        var ex = Assert.Throws<OnnxRuntimeGenAIException>(() => generator.SetInputs(inputs));

        // Assert: ONNX Runtime's complaint about the unbound input (its wording depends on the vision graph).
        Assert.StartsWith("Running a GenAI prompt (SetInputs): ", ex.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(ex.NativeMessage));
        Assert.True(generator.IsFaulted);
    }

    private string CopyModel(Func<string, string> editConfig)
    {
        var folder = Path.Combine(_scratch, "model");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(ModelDirectory))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        var configPath = Path.Combine(folder, GenAiConfig.FileName);
        File.WriteAllText(configPath, editConfig(File.ReadAllText(configPath)));
        return folder;
    }
}
