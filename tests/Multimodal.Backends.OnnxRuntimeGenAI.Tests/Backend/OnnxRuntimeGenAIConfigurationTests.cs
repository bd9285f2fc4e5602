// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Multimodal.Backends.OnnxRuntime;
using Multimodal.Backends.OnnxRuntimeGenAI.Native;
using Multimodal.Media.Images;

namespace Multimodal.Backends.OnnxRuntimeGenAI;

/// <summary><c>UseOnnxRuntimeGenAI(IConfiguration)</c>: backend options bound from a configuration section, checked with
/// messages that name the key, and in effect when the model registered with dependency injection loads and answers.</summary>
[Collection(GenAiCollection.Name)]
public sealed class OnnxRuntimeGenAIConfigurationTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("genai-config-tests-").FullName;

    public OnnxRuntimeGenAIConfigurationTests() => GenAiTestEnvironment.EnsureConfigured();

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void EveryKey_OfTheDocumentedJson_IsBound()
    {
        // Arrange
        var native = GenAiTestEnvironment.NativeDirectory.Replace("\\", "\\\\", StringComparison.Ordinal);
        var json = $$"""
            {
              "Multimodal": {
                "OnnxRuntimeGenAI": {
                  "OnnxFolder": "genai",
                  "IntraOpThreads": 4,
                  "ExecutionProvider": "Cuda",
                  "CudaDeviceId": 1,
                  "VisionBatchSize": 2,
                  "NativeLibraryDirectory": "{{native}}",
                  "VisionSession": { "IntraOpThreads": 2, "GraphOptimizationLevel": "Basic", "ConfigEntries": { "session.intra_op.allow_spinning": "0" } }
                }
              }
            }
            """;
        var section = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build().GetSection("Multimodal:OnnxRuntimeGenAI");

        // Act
        var options = OnnxRuntimeGenAIConfiguration.Bind(section);

        // Assert
        Assert.Equal("genai", options.OnnxFolder);
        Assert.Equal(4, options.IntraOpThreads);
        Assert.Equal(OnnxRuntimeExecutionProvider.Cuda, options.ExecutionProvider);
        Assert.Equal(1, options.CudaDeviceId);
        Assert.Equal(2, options.VisionBatchSize);
        Assert.Equal(2, options.VisionSession.IntraOpThreads);
        Assert.Equal(OnnxRuntimeGraphOptimizationLevel.Basic, options.VisionSession.GraphOptimizationLevel);
        Assert.Equal(OnnxRuntimeExecutionProvider.Cpu, options.VisionSession.ExecutionProvider);
        Assert.Equal("0", options.VisionSession.ConfigEntries["session.intra_op.allow_spinning"]);
        var full = Path.GetFullPath(GenAiTestEnvironment.NativeDirectory);
        Assert.Contains(OnnxRuntimeGenAILibraryOptions.Shared.SearchDirectories, d => Path.GetFullPath(d) == full);
        Assert.Contains(OnnxRuntimeLibraryOptions.Shared.SearchDirectories, d => Path.GetFullPath(d) == full);
    }

    [Fact]
    public void TheJsonInDocsBackendsMd_Binds()
    {
        // Arrange: the example of docs/backends.md's "Configuration" section, without its process-wide library folder.
        var doc = File.ReadAllText(Multimodal.Testing.RepositoryPaths.Combine("docs", "backends.md"));
        var start = doc.IndexOf("```json", doc.IndexOf("## Configuration", StringComparison.Ordinal), StringComparison.Ordinal) + "```json".Length;
        var json = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)]))).Build();
        var section = Memory(json.AsEnumerable().Where(kv => !kv.Key.Contains(":NativeLibrary", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value))
            .GetSection("Multimodal:OnnxRuntimeGenAI");

        // Act
        var options = OnnxRuntimeGenAIConfiguration.Bind(section);

        // Assert
        Assert.Equal(4, options.IntraOpThreads);
        Assert.Equal(OnnxRuntimeExecutionProvider.Cpu, options.ExecutionProvider);
        Assert.Equal(4, options.VisionSession.IntraOpThreads);
    }

    [Theory]
    [InlineData("IntraOpThreads", "-1", "Multimodal:OnnxRuntimeGenAI:IntraOpThreads must be 0 or more; it is -1.")]
    [InlineData("CudaDeviceId", "-2", "Multimodal:OnnxRuntimeGenAI:CudaDeviceId must be 0 or more; it is -2.")]
    [InlineData("ExecutionProvider", "DirectML", "Multimodal:OnnxRuntimeGenAI:ExecutionProvider must be one of Cpu, Cuda; it is 'DirectML'.")]
    [InlineData("VisionBatchSize", "0", "Multimodal:OnnxRuntimeGenAI:VisionBatchSize must be 1 or more; it is 0.")]
    [InlineData("VisionSession:IntraOpThreads", "-1", "Multimodal:OnnxRuntimeGenAI:VisionSession:IntraOpThreads must be 0 or more; it is -1.")]
    [InlineData("VisionSession:ExecutionProvider", "Gpu", "Multimodal:OnnxRuntimeGenAI:VisionSession:ExecutionProvider must be one of Cpu, Cuda; it is 'Gpu'.")]
    [InlineData("OnnxFolder", "", "Multimodal:OnnxRuntimeGenAI:OnnxFolder must be a folder path")]
    [InlineData("IntraOpThreads", "many", "'Multimodal:OnnxRuntimeGenAI:IntraOpThreads'")]
    [InlineData("Variant", "q4", "Multimodal:OnnxRuntimeGenAI:Variant is not a known key; the section accepts OnnxFolder, IntraOpThreads, ExecutionProvider, CudaDeviceId, VisionSession, VisionBatchSize, NativeLibraryDirectory, NativeLibraryPath.")]
    public void AnInvalidValue_ThrowsOptionsValidationException_NamingTheKey(string key, string value, string expected)
    {
        // Arrange
        var section = Memory(new() { ["Multimodal:OnnxRuntimeGenAI:" + key] = value }).GetSection("Multimodal:OnnxRuntimeGenAI");

        // Act
        var ex = Assert.Throws<OptionsValidationException>(() => new MultimodalModelBuilder().UseOnnxRuntimeGenAI(section));

        // Assert
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Equal(typeof(OnnxRuntimeGenAIBackendOptions), ex.OptionsType);
    }

    [Fact]
    public void ANativeLibraryPath_AfterGenAILoaded_IsRefusedNamingTheKey()
    {
        // Arrange
        GenAiLibrary.EnsureLoaded();
        var other = Path.Combine(_temp, "libonnxruntime-genai.so");
        var section = Memory(new() { ["GenAI:NativeLibraryPath"] = other }).GetSection("GenAI");

        // Act
        var ex = Assert.Throws<InvalidOperationException>(() => OnnxRuntimeGenAIConfiguration.Bind(section));

        // Assert
        Assert.StartsWith($"GenAI:NativeLibraryPath ('{other}') cannot be applied: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("OnnxRuntimeGenAILibraryOptions.Shared", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThroughDependencyInjection_TheModelLoadsWithTheBoundOptions_AndAnswers()
    {
        // Arrange
        var configuration = Memory(new()
        {
            ["Multimodal:ModelPath"] = LlavaTinyGenAIFixture.ModelFolder,
            ["Multimodal:OnnxRuntimeGenAI:IntraOpThreads"] = "1",
            ["Multimodal:OnnxRuntimeGenAI:VisionBatchSize"] = "2",
            ["Multimodal:OnnxRuntimeGenAI:VisionSession:IntraOpThreads"] = "1",
            ["Multimodal:OnnxRuntimeGenAI:NativeLibraryDirectory"] = GenAiTestEnvironment.NativeDirectory,
        });
        await using var services = Register(configuration);

        // Act
        var model = services.GetRequiredService<MultimodalModel>();
        await model.LoadAsync();
        using var chat = model.CreateChatSession();
        var reply = await chat.SendAsync(
            new ChatMessage(ChatRole.User, [ImageContent.FromFile(LlavaTinyGenAIFixture.ScenePath(0)), new TextContent("How many shapes are there?")]),
            new GenerationOptions { DoSample = false, Temperature = 0, MaxNewTokens = 8, NumBeams = 1 });

        // Assert
        Assert.NotEmpty(reply.TokenIds);
        Assert.Equal("onnxruntime-genai:cpu", model.Components.LanguageDecoder.Metadata.ProviderName);
        Assert.Equal("onnxruntime:cpu", model.Components.VisionEncoder!.Metadata.ProviderName);
    }

    [Fact]
    public async Task ThroughDependencyInjection_TheBoundOnnxFolderIsWhereTheModelIsLookedFor()
    {
        // Arrange
        var missing = Path.Combine(_temp, "no-export");
        var configuration = Memory(new()
        {
            ["Multimodal:ModelPath"] = LlavaTinyGenAIFixture.ModelFolder,
            ["Multimodal:OnnxRuntimeGenAI:OnnxFolder"] = missing,
        });
        await using var services = Register(configuration);

        // Act
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => services.GetRequiredService<MultimodalModel>().LoadAsync());

        // Assert
        Assert.Contains($"'{missing}' has no genai_config.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThroughDependencyInjection_TheVisionSessionsCudaProviderAndDevice_ReachOnnxRuntime()
    {
        // Arrange: the vision encoder runs in plain ONNX Runtime, which has no CUDA provider libraries on this machine.
        var configuration = Memory(new()
        {
            ["Multimodal:ModelPath"] = LlavaTinyGenAIFixture.ModelFolder,
            ["Multimodal:OnnxRuntimeGenAI:VisionSession:ExecutionProvider"] = "Cuda",
            ["Multimodal:OnnxRuntimeGenAI:VisionSession:CudaDeviceId"] = "1",
        });
        await using var services = Register(configuration);

        // Act
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => services.GetRequiredService<MultimodalModel>().LoadAsync());

        // Assert
        var inner = Assert.IsType<OnnxRuntimeException>(ex.InnerException);
        Assert.StartsWith("ONNX Runtime could not enable the CUDA execution provider on device 1: ", inner.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThroughDependencyInjection_TheDecodersCudaProvider_ReachesGenAI()
    {
        // Arrange: GenAI's CPU build has no CUDA interface library, so asking for CUDA fails naming it.
        var configuration = Memory(new()
        {
            ["Multimodal:ModelPath"] = LlavaTinyGenAIFixture.ModelFolder,
            ["Multimodal:OnnxRuntimeGenAI:ExecutionProvider"] = "Cuda",
        });
        await using var services = Register(configuration);

        // Act
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => services.GetRequiredService<MultimodalModel>().LoadAsync());

        // Assert: "Cuda interface not available: Failed to load library: …/libonnxruntime-genai-cuda.so: …".
        Assert.IsType<OnnxRuntimeGenAIException>(ex.InnerException);
        Assert.Contains("ONNX Runtime GenAI could not load the model", ex.Message, StringComparison.Ordinal);
        Assert.Contains("libonnxruntime-genai-cuda", ex.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Register(IConfiguration configuration)
    {
        var section = configuration.GetSection("Multimodal");
        var services = new ServiceCollection();
        services.AddMultimodalModel(section)
            .UseLlava()
            .UseOnnxRuntimeGenAI(section.GetSection("OnnxRuntimeGenAI"))
            .UseImageDecoder(new ImageDecoder());
        return services.BuildServiceProvider();
    }

    private static IConfiguration Memory(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
