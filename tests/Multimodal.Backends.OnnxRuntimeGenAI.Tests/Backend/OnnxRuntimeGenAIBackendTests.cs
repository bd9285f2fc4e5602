// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json.Nodes;
using Multimodal.Backends.OnnxRuntimeGenAI.Native;

namespace Multimodal.Backends.OnnxRuntimeGenAI;

/// <summary>Loading a model folder through <see cref="OnnxRuntimeGenAIBackend"/>: what each kind of broken export reports.</summary>
[Collection(GenAiCollection.Name)]
public sealed class OnnxRuntimeGenAIBackendTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("genai-backend-tests-").FullName;

    public OnnxRuntimeGenAIBackendTests() => GenAiTestEnvironment.EnsureConfigured();

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task MissingGenAIConfig_ThrowsModelLoadExceptionNamingTheFolder()
    {
        // Arrange: the export without genai_config.json.
        var onnx = CopyExport();
        File.Delete(Path.Combine(onnx, "genai_config.json"));

        // Act
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => LoadAsync(_temp));

        // Assert
        Assert.Equal(_temp, error.ModelPath);
        Assert.Contains($"'{onnx}' has no genai_config.json", error.Message, StringComparison.Ordinal);
        Assert.Contains("eng/onnx/export.py", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(OnnxRuntimeGenAIBackendOptions.OnnxFolder), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelFolderThatDoesNotExist_ThrowsModelLoadException()
    {
        var missing = Path.Combine(_temp, "no-such-model");

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => LoadAsync(missing));

        Assert.Equal(missing, error.ModelPath);
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelTypeLlama_ThrowsModelLoadExceptionExplainingGemma3IsNeeded()
    {
        // Arrange
        var onnx = CopyExport();
        EditConfig(onnx, config => config["model"]!["type"] = "llama");

        // Act
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => LoadAsync(_temp));

        // Assert
        Assert.Equal(_temp, error.ModelPath);
        Assert.Contains("model.type \"llama\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("needs \"gemma3\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigWithoutSizes_ThrowsModelLoadExceptionNamingTheKeys()
    {
        // Arrange
        var onnx = CopyExport();
        EditConfig(onnx, config => config["model"]!.AsObject().Remove("vocab_size"));

        // Act
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => LoadAsync(_temp));

        // Assert
        Assert.Contains("model.vocab_size", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("vision_encoder.onnx")]
    [InlineData("decoder_model_merged.onnx")]
    public async Task CorruptGraph_ThrowsModelLoadExceptionNamingTheFile(string file)
    {
        // Arrange: a copy of the export with one graph cut in half.
        var onnx = CopyExport();
        using (var stream = new FileStream(Path.Combine(onnx, file), FileMode.Open, FileAccess.ReadWrite))
        {
            stream.SetLength(stream.Length / 2);
        }

        // Act
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => LoadAsync(_temp));

        // Assert
        Assert.Equal(_temp, error.ModelPath);
        Assert.Contains(file, error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.InnerException);
    }

    [Fact]
    public async Task Load_GivesTheGenAIDecoderAndAnOnnxRuntimeVisionEncoder()
    {
        using var model = LlavaTinyGenAIFixture.CreateModel(LlavaTinyGenAIFixture.CreateGenAIBackend());

        await model.LoadAsync();

        Assert.Equal("onnxruntime-genai:cpu", model.Components.LanguageDecoder.Metadata.ProviderName);
        Assert.Equal(new VisionEncoderMetadata("onnxruntime:cpu", 112, 14, 128, 64), model.Components.VisionEncoder!.Metadata);
    }

    /// <summary>Loads the backend alone (no family), so the backend is the first thing that reads the folder.</summary>
    private static async Task LoadAsync(string folder)
    {
        using var model = new MultimodalModelBuilder().UseModelPath(folder).UseBackend(LlavaTinyGenAIFixture.CreateGenAIBackend()).Build();
        await model.LoadAsync();
    }

    private static void EditConfig(string onnx, Action<JsonNode> edit)
    {
        var path = Path.Combine(onnx, "genai_config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!;
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    /// <summary>Copies config.json and the onnx folder of llava-tiny into the temporary folder.</summary>
    private string CopyExport()
    {
        File.Copy(Path.Combine(LlavaTinyGenAIFixture.ModelFolder, "config.json"), Path.Combine(_temp, "config.json"));
        var onnx = Directory.CreateDirectory(Path.Combine(_temp, "onnx")).FullName;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(LlavaTinyGenAIFixture.ModelFolder, "onnx")))
        {
            File.Copy(file, Path.Combine(onnx, Path.GetFileName(file)));
        }

        return onnx;
    }
}
