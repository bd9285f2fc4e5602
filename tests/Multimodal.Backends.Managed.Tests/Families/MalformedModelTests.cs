// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using System.Text.Json.Nodes;

namespace Multimodal.Backends.Managed.Families;

/// <summary>Broken model folders fail at load with a <see cref="ModelLoadException"/> that says what is wrong.</summary>
public sealed class MalformedModelTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mm-malformed-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void MissingTensor_IsNamed()
    {
        var folder = Copy("llava-1.5");
        RenameTensor(Path.Combine(folder, "model.safetensors"), "language_model.model.norm.weight", "language_model.model.norm.weighX");
        var error = Assert.Throws<ModelLoadException>(() => ManagedModel.Load(folder));
        Assert.Contains("no tensor 'language_model.model.norm.weight'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConfigThatDisagreesWithTheWeights_NamesTheTensorAndBothShapes()
    {
        var folder = Copy("llava-1.5");
        EditConfig(folder, c => c["text_config"]!["intermediate_size"] = 96);
        var error = Assert.Throws<ModelLoadException>(() => ManagedModel.Load(folder));
        Assert.Contains("'language_model.model.layers.0.mlp.gate_proj.weight' has shape [128, 64] but the config implies [96, 64]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownOrUnsupportedConfig_FailsAtLoad()
    {
        var folder = Copy("llava-1.5");
        EditConfig(folder, c => c["model_type"] = "blip");
        Assert.Contains("\"blip\" model", Assert.Throws<ModelLoadException>(() => ManagedModel.Load(folder)).Message, StringComparison.Ordinal);

        EditConfig(folder, c =>
        {
            c["model_type"] = "llava";
            c["text_config"]!["num_attention_heads"] = 5;
        });
        Assert.Contains("\"text_config.num_attention_heads\" is 5", Assert.Throws<ModelLoadException>(() => ManagedModel.Load(folder)).Message, StringComparison.Ordinal);

        EditConfig(folder, c =>
        {
            c["text_config"]!["num_attention_heads"] = 4;
            c["text_config"]!["rope_scaling"] = JsonNode.Parse("""{"type":"yarn","factor":4}""");
        });
        Assert.Contains("only linear RoPE scaling", Assert.Throws<ModelLoadException>(() => ManagedModel.Load(folder)).Message, StringComparison.Ordinal);

        File.Delete(Path.Combine(folder, "config.json"));
        Assert.Contains("config.json", Assert.Throws<ModelLoadException>(() => ManagedModel.Load(folder)).Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", Assert.Throws<ModelLoadException>(() => ManagedModel.Load(Path.Combine(_root, "nothing"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedShard_IsReported()
    {
        var folder = Copy("longva");
        var shard = Path.Combine(folder, "model-00002-of-00002.safetensors");
        var bytes = File.ReadAllBytes(shard);
        File.WriteAllBytes(shard, bytes[..(bytes.Length - 100)]);
        var error = Assert.Throws<ModelLoadException>(() => ManagedModel.Load(folder));
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
        Assert.Contains("model-00002-of-00002.safetensors", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MptWithoutItsClipTower_SaysWhereItLooked()
    {
        var folder = Copy("llava-mpt");
        var error = Assert.Throws<ModelLoadException>(() => ManagedModel.Load(folder));
        Assert.Contains("mm_vision_tower", error.Message, StringComparison.Ordinal);
        Assert.Contains("vision_tower", error.Message, StringComparison.Ordinal);

        // A vision_tower/ subfolder is the documented fallback.
        CopyFolder(Multimodal.Testing.RepositoryPaths.Combine("tests", "data", "models", "tiny-clip-vit-224"), Path.Combine(folder, "vision_tower"));
        using var model = ManagedModel.Load(folder);
        Assert.Equal("llava-mpt", model.FamilyName);
    }

    private string Copy(string family)
    {
        var source = Goldens.For(family).ModelFolder;
        var target = Path.Combine(_root, family);
        CopyFolder(source, target);
        return target;
    }

    private static void CopyFolder(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        foreach (var folder in Directory.GetDirectories(source))
        {
            CopyFolder(folder, Path.Combine(target, Path.GetFileName(folder)));
        }
    }

    private static void EditConfig(string folder, Action<JsonNode> edit)
    {
        var path = Path.Combine(folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!;
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    private static void RenameTensor(string file, string name, string sameLengthName)
    {
        Assert.Equal(name.Length, sameLengthName.Length);
        var bytes = File.ReadAllBytes(file);
        var pattern = Encoding.UTF8.GetBytes($"\"{name}\"");
        var at = bytes.AsSpan().IndexOf(pattern);
        Assert.True(at > 0);
        Encoding.UTF8.GetBytes($"\"{sameLengthName}\"").CopyTo(bytes, at);
        File.WriteAllBytes(file, bytes);
    }
}
