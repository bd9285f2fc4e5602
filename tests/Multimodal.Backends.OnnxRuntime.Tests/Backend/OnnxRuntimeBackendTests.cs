// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.OnnxRuntime.Native;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>Loading a model folder through <see cref="OnnxRuntimeBackend"/>: what each kind of broken folder reports.</summary>
public sealed class OnnxRuntimeBackendTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("ort-backend-tests-").FullName;

    public OnnxRuntimeBackendTests() => OrtTestEnvironment.EnsureConfigured();

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task FolderWithoutOnnx_ThrowsModelLoadExceptionNamingTheFolderAndHowToExport()
    {
        // Arrange: a model folder with config.json only.
        File.Copy(Path.Combine(LlavaTinyFixture.ModelFolder, "config.json"), Path.Combine(_temp, "config.json"));

        // Act
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => LoadAsync(_temp));

        // Assert
        Assert.Equal(_temp, error.ModelPath);
        Assert.Contains(Path.Combine(_temp, "onnx"), error.Message, StringComparison.Ordinal);
        Assert.Contains("eng/onnx/export.py", error.Message, StringComparison.Ordinal);
        Assert.Contains("optimum-cli export onnx", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(OnnxRuntimeBackendOptions.OnnxFolder), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VariantThatDoesNotExist_ListsTheOnnxFilesPresent()
    {
        // Act
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => LoadAsync(LlavaTinyFixture.ModelFolder, o => o.Variant = "q4"));

        // Assert
        Assert.Contains("embed_tokens_q4.onnx", error.Message, StringComparison.Ordinal);
        foreach (var present in (string[])["decoder_model_merged.onnx", "embed_tokens.onnx", "vision_encoder.onnx"])
        {
            Assert.Contains(present, error.Message, StringComparison.Ordinal);
        }

        Assert.Contains("Variant 'q4'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FileVariantThatDoesNotExist_NamesTheFile()
    {
        // Act: only the decoder asks for a variant.
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => LoadAsync(LlavaTinyFixture.ModelFolder, o => o.FileVariants[OnnxModelFiles.Decoder] = "fp16"));

        // Assert
        Assert.Contains("decoder_model_merged_fp16.onnx", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("embed_tokens_fp16", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelFolderThatDoesNotExist_ThrowsModelLoadException()
    {
        // Arrange
        var missing = Path.Combine(_temp, "no-such-model");

        // Act
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => LoadAsync(missing));

        // Assert
        Assert.Equal(missing, error.ModelPath);
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("embed_tokens.onnx")]
    [InlineData("decoder_model_merged.onnx")]
    [InlineData("vision_encoder.onnx")]
    public async Task CorruptGraph_ThrowsModelLoadExceptionNamingTheFile(string file)
    {
        // Arrange: a copy of the export with one graph cut in half.
        var onnx = CopyExport();
        var path = Path.Combine(onnx, file);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.SetLength(stream.Length / 2);
        }

        // Act
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => LoadAsync(_temp));

        // Assert: ONNX Runtime's own error is kept as the cause.
        Assert.Equal(_temp, error.ModelPath);
        Assert.Contains(file, error.Message, StringComparison.Ordinal);
        Assert.IsType<OnnxRuntimeException>(error.InnerException);
    }

    [Fact]
    public async Task CorruptGraph_RepeatedFailedLoads_ThenTheFixedFolderLoads()
    {
        // Arrange: the vision encoder is opened last, so each failed load has already opened two sessions it must release.
        var onnx = CopyExport();
        var vision = Path.Combine(onnx, "vision_encoder.onnx");
        var good = File.ReadAllBytes(vision);
        File.WriteAllBytes(vision, good[..(good.Length / 3)]);

        // Act
        for (var i = 0; i < 5; i++)
        {
            await Assert.ThrowsAsync<ModelLoadException>(() => LoadAsync(_temp));
        }

        File.WriteAllBytes(vision, good);
        using var model = new MultimodalModelBuilder().UseModelPath(_temp).UseLlava().UseBackend(LlavaTinyFixture.CreateOnnxBackend()).Build();
        await model.LoadAsync();

        // Assert
        Assert.NotNull(model.Components.VisionEncoder);
        Assert.Equal("onnxruntime:cpu", model.Components.LanguageDecoder.Metadata.ProviderName);
    }

    [Fact]
    public async Task NoModelPath_ThrowsModelLoadException()
    {
        using var model = new MultimodalModelBuilder().UseBackend(new OnnxRuntimeBackend()).Build();

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());

        Assert.Contains("UseModelPath", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Loads the backend alone (no family), so the backend is the first thing that reads the folder.</summary>
    private static async Task LoadAsync(string folder, Action<OnnxRuntimeBackendOptions>? configure = null)
    {
        using var model = new MultimodalModelBuilder().UseModelPath(folder).UseBackend(LlavaTinyFixture.CreateOnnxBackend(configure)).Build();
        await model.LoadAsync();
    }

    /// <summary>Copies config.json, the tokenizer files and the onnx folder of llava-tiny into the temporary folder.</summary>
    private string CopyExport()
    {
        foreach (var file in Directory.EnumerateFiles(LlavaTinyFixture.ModelFolder).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(_temp, Path.GetFileName(file)));
        }

        var onnx = Directory.CreateDirectory(Path.Combine(_temp, "onnx")).FullName;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(LlavaTinyFixture.ModelFolder, "onnx")))
        {
            File.Copy(file, Path.Combine(onnx, Path.GetFileName(file)));
        }

        return onnx;
    }
}
