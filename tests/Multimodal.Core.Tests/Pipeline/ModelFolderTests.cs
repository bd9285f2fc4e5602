// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Pipeline;

public sealed class ModelFolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-folder-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MissingFolder_NamesThePath()
    {
        var ex = Assert.Throws<ModelLoadException>(() => ModelFolder.Open(Path.Combine(_dir, "nope")));
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("nope", ex.ModelPath, StringComparison.Ordinal);
    }

    [Fact]
    public void FolderWithoutConfig_SaysWhatIsMissing()
    {
        var ex = Assert.Throws<ModelLoadException>(() => ModelFolder.Open(_dir));
        Assert.Contains("no config.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedConfig_ReportsTheLine()
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), "{\n  \"model_type\": \"llava\",\n  oops\n}");
        var ex = Assert.Throws<ModelLoadException>(() => ModelFolder.Open(_dir));
        Assert.Contains("line 3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidConfig_ExposesModelTypeAndArchitectures_AndUnknownFamiliesAreListed()
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"model_type": "llava", "architectures": ["LlavaForConditionalGeneration"]}""");
        var folder = ModelFolder.Open(_dir);
        Assert.Equal("llava", folder.ModelType);
        Assert.Equal(["LlavaForConditionalGeneration"], folder.Architectures);
        var ex = Assert.Throws<ModelLoadException>(() => folder.DetectFamily([]));
        Assert.Contains("model_type 'llava'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Installed families: none", ex.Message, StringComparison.Ordinal);
    }
}
