// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Multimodal.Backends.OnnxRuntime.Native;
using Multimodal.Media.Images;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary><c>UseOnnxRuntime(IConfiguration)</c>: backend options bound from a configuration section, checked with messages
/// that name the key, and in effect when the model registered with dependency injection loads and answers.</summary>
public sealed class OnnxRuntimeConfigurationTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("ort-config-tests-").FullName;

    public OnnxRuntimeConfigurationTests() => OrtTestEnvironment.EnsureConfigured();

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void EveryKey_OfTheDocumentedJson_IsBound()
    {
        // Arrange: the shape docs/backends.md shows, with every key.
        var json = $$"""
            {
              "Multimodal": {
                "ModelPath": "models/llava-tiny",
                "OnnxRuntime": {
                  "OnnxFolder": "onnx-export",
                  "Variant": "q4",
                  "FileVariants": { "vision_encoder": "fp16", "Decoder_Model_Merged": "" },
                  "VisionBatchSize": 4,
                  "LoadVisionEncoder": false,
                  "NativeLibraryDirectory": "{{JsonPath(OrtTestEnvironment.NativeDirectory)}}",
                  "Session": {
                    "IntraOpThreads": 4,
                    "InterOpThreads": 2,
                    "GraphOptimizationLevel": "Extended",
                    "ExecutionProvider": "cuda",
                    "CudaDeviceId": 1,
                    "CudaMemoryLimitBytes": 8589934592,
                    "EnableMemoryPattern": false,
                    "EnableCpuMemoryArena": false,
                    "ConfigEntries": { "session.intra_op.allow_spinning": "0" }
                  }
                }
              }
            }
            """;
        var section = Json(json).GetSection("Multimodal:OnnxRuntime");

        // Act
        var options = OnnxRuntimeConfiguration.Bind(section);

        // Assert
        Assert.Equal("onnx-export", options.OnnxFolder);
        Assert.Equal("q4", options.Variant);
        Assert.Equal(new Dictionary<string, string> { ["vision_encoder"] = "fp16", ["decoder_model_merged"] = string.Empty }, options.FileVariants);
        Assert.Equal(4, options.VisionBatchSize);
        Assert.False(options.LoadVisionEncoder);
        var session = options.Session;
        Assert.Equal(4, session.IntraOpThreads);
        Assert.Equal(2, session.InterOpThreads);
        Assert.Equal(OnnxRuntimeGraphOptimizationLevel.Extended, session.GraphOptimizationLevel);
        Assert.Equal(OnnxRuntimeExecutionProvider.Cuda, session.ExecutionProvider);
        Assert.Equal(1, session.CudaDeviceId);
        Assert.Equal(8L << 30, session.CudaMemoryLimitBytes);
        Assert.False(session.EnableMemoryPattern);
        Assert.False(session.EnableCpuMemoryArena);
        Assert.Equal(new Dictionary<string, string> { ["session.intra_op.allow_spinning"] = "0" }, session.ConfigEntries);
        Assert.Contains(OnnxRuntimeLibraryOptions.Shared.SearchDirectories, d => Path.GetFullPath(d) == Path.GetFullPath(OrtTestEnvironment.NativeDirectory));
    }

    [Fact]
    public void TheJsonInDocsBackendsMd_Binds()
    {
        // Arrange: the example of docs/backends.md's "Configuration" section, without its process-wide library folder.
        var configuration = DocumentedConfiguration();

        // Act
        var options = OnnxRuntimeConfiguration.Bind(configuration.GetSection("Multimodal:OnnxRuntime"));

        // Assert
        Assert.Equal("q4", options.FileVariants[OnnxModelFiles.Decoder]);
        Assert.Equal(4, options.Session.IntraOpThreads);
        Assert.Equal(OnnxRuntimeExecutionProvider.Cuda, options.Session.ExecutionProvider);
        Assert.Equal(8L << 30, options.Session.CudaMemoryLimitBytes);
    }

    [Fact]
    public void AMissingSection_GivesTheDefaults()
    {
        // Act
        var options = OnnxRuntimeConfiguration.Bind(Memory(new() { ["Multimodal:ModelPath"] = "x" }).GetSection("Multimodal:OnnxRuntime"));

        // Assert
        var defaults = new OnnxRuntimeBackendOptions();
        Assert.Equal(defaults.OnnxFolder, options.OnnxFolder);
        Assert.Null(options.Variant);
        Assert.Empty(options.FileVariants);
        Assert.Equal(defaults.VisionBatchSize, options.VisionBatchSize);
        Assert.True(options.LoadVisionEncoder);
        Assert.Equal(0, options.Session.IntraOpThreads);
        Assert.Equal(OnnxRuntimeExecutionProvider.Cpu, options.Session.ExecutionProvider);
        Assert.Equal(OnnxRuntimeGraphOptimizationLevel.All, options.Session.GraphOptimizationLevel);
        Assert.Empty(options.Session.ConfigEntries);
    }

    [Theory]
    [InlineData("Session:IntraOpThreads", "-1", "Multimodal:OnnxRuntime:Session:IntraOpThreads must be 0 or more; it is -1.")]
    [InlineData("Session:InterOpThreads", "-3", "Multimodal:OnnxRuntime:Session:InterOpThreads must be 0 or more; it is -3.")]
    [InlineData("Session:IntraOpThreads", "four", "'Multimodal:OnnxRuntime:Session:IntraOpThreads'")]
    [InlineData("Session:CudaDeviceId", "-1", "Multimodal:OnnxRuntime:Session:CudaDeviceId must be 0 or more; it is -1.")]
    [InlineData("Session:CudaMemoryLimitBytes", "0", "Multimodal:OnnxRuntime:Session:CudaMemoryLimitBytes must be 1 or more; it is 0.")]
    [InlineData("Session:ExecutionProvider", "Gpu", "Multimodal:OnnxRuntime:Session:ExecutionProvider must be one of Cpu, Cuda; it is 'Gpu'.")]
    [InlineData("Session:ExecutionProvider", "1", "Multimodal:OnnxRuntime:Session:ExecutionProvider must be one of Cpu, Cuda; it is '1'.")]
    [InlineData("Session:ExecutionProvider", "Cpu, Cuda", "Multimodal:OnnxRuntime:Session:ExecutionProvider must be one of Cpu, Cuda")]
    [InlineData("Session:GraphOptimizationLevel", "Max", "Multimodal:OnnxRuntime:Session:GraphOptimizationLevel must be one of Disabled, Basic, Extended, All; it is 'Max'.")]
    [InlineData("VisionBatchSize", "0", "Multimodal:OnnxRuntime:VisionBatchSize must be 1 or more; it is 0.")]
    [InlineData("Variant", "../q4", "Multimodal:OnnxRuntime:Variant must be a file-name suffix of letters, digits, '_', '-' and '.' (for example q4, fp16 or quantized); it is '../q4'.")]
    [InlineData("Variant", "q4/x", "Multimodal:OnnxRuntime:Variant must be a file-name suffix")]
    [InlineData("FileVariants:decoder_model_merged", "a\\b", "Multimodal:OnnxRuntime:FileVariants:decoder_model_merged must be a file-name suffix")]
    [InlineData("FileVariants:decoder", "q4", "Multimodal:OnnxRuntime:FileVariants:decoder names no graph; FileVariants keys are vision_encoder, embed_tokens, decoder_model_merged.")]
    [InlineData("OnnxFolder", " ", "Multimodal:OnnxRuntime:OnnxFolder must be a folder path")]
    [InlineData("Sesion:IntraOpThreads", "4", "Multimodal:OnnxRuntime:Sesion is not a known key; the section accepts OnnxFolder, Variant, FileVariants, Session, VisionBatchSize, LoadVisionEncoder, NativeLibraryDirectory, NativeLibraryPath.")]
    [InlineData("Session:Threads", "4", "Multimodal:OnnxRuntime:Session:Threads is not a known key")]
    [InlineData("LoadVisionEncoder", "maybe", "'Multimodal:OnnxRuntime:LoadVisionEncoder'")]
    public void AnInvalidValue_ThrowsOptionsValidationException_NamingTheKey(string key, string value, string expected)
    {
        // Arrange
        var section = Memory(new() { ["Multimodal:OnnxRuntime:" + key] = value }).GetSection("Multimodal:OnnxRuntime");

        // Act
        var ex = Assert.Throws<OptionsValidationException>(() => new MultimodalModelBuilder().UseOnnxRuntime(section));

        // Assert
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Equal(typeof(OnnxRuntimeBackendOptions), ex.OptionsType);
        Assert.Equal("Multimodal:OnnxRuntime", ex.OptionsName);
    }

    [Fact]
    public void SeveralInvalidValues_AreAllReported()
    {
        var section = Memory(new()
        {
            ["OnnxRuntime:VisionBatchSize"] = "0",
            ["OnnxRuntime:Session:IntraOpThreads"] = "-2",
            ["OnnxRuntime:Session:ExecutionProvider"] = "Tpu",
        }).GetSection("OnnxRuntime");

        var ex = Assert.Throws<OptionsValidationException>(() => OnnxRuntimeConfiguration.Bind(section));

        Assert.Equal(
            [
                "OnnxRuntime:VisionBatchSize must be 1 or more; it is 0.",
                "OnnxRuntime:Session:IntraOpThreads must be 0 or more; it is -2.",
                "OnnxRuntime:Session:ExecutionProvider must be one of Cpu, Cuda; it is 'Tpu'.",
            ],
            ex.Failures);
    }

    [Fact]
    public void ConfigureRunsAfterBinding_AndWins()
    {
        var section = Memory(new() { ["OnnxRuntime:Session:IntraOpThreads"] = "4", ["OnnxRuntime:VisionBatchSize"] = "2" }).GetSection("OnnxRuntime");
        OnnxRuntimeBackendOptions? seen = null;

        new MultimodalModelBuilder().UseOnnxRuntime(section, o =>
        {
            Assert.Equal(4, o.Session.IntraOpThreads);
            o.Session.IntraOpThreads = 1;
            seen = o;
        });

        Assert.Equal(1, seen!.Session.IntraOpThreads);
        Assert.Equal(2, seen.VisionBatchSize);
    }

    [Fact]
    public void ANativeLibraryDirectory_AfterOnnxRuntimeLoaded_IsRefusedNamingTheKey_ButTheLoadedOneIsAccepted()
    {
        // Arrange: the library is loaded (and the shared options frozen) from the tools folder.
        OrtLibrary.EnsureLoaded();
        var other = Path.Combine(_temp, "other-onnxruntime");
        var same = Memory(new() { ["OnnxRuntime:NativeLibraryDirectory"] = OrtTestEnvironment.NativeDirectory }).GetSection("OnnxRuntime");
        var different = Memory(new() { ["OnnxRuntime:NativeLibraryDirectory"] = other }).GetSection("OnnxRuntime");

        // Act + Assert: binding the folder the library came from again changes nothing; another one cannot apply any more.
        OnnxRuntimeConfiguration.Bind(same);
        var ex = Assert.Throws<InvalidOperationException>(() => OnnxRuntimeConfiguration.Bind(different));
        Assert.StartsWith($"OnnxRuntime:NativeLibraryDirectory ('{other}') cannot be applied: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("OnnxRuntimeLibraryOptions.Shared", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(other, OnnxRuntimeLibraryOptions.Shared.SearchDirectories);
    }

    [Fact]
    public async Task ThroughDependencyInjection_TheBoundFolderAndFileVariantAreWhatLoads_AndTheModelAnswers()
    {
        // Arrange: an export folder outside the model folder whose decoder exists only as the "cfg" variant, so the model
        // can load only if OnnxFolder and FileVariants both came through.
        var export = Directory.CreateDirectory(Path.Combine(_temp, "export")).FullName;
        var onnx = Path.Combine(LlavaTinyFixture.ModelFolder, "onnx");
        File.Copy(Path.Combine(onnx, "vision_encoder.onnx"), Path.Combine(export, "vision_encoder.onnx"));
        File.Copy(Path.Combine(onnx, "embed_tokens.onnx"), Path.Combine(export, "embed_tokens.onnx"));
        File.Copy(Path.Combine(onnx, "decoder_model_merged.onnx"), Path.Combine(export, "decoder_model_merged_cfg.onnx"));
        var configuration = Memory(new()
        {
            ["Multimodal:ModelPath"] = LlavaTinyFixture.ModelFolder,
            ["Multimodal:OnnxRuntime:OnnxFolder"] = export,
            ["Multimodal:OnnxRuntime:FileVariants:decoder_model_merged"] = "cfg",
            ["Multimodal:OnnxRuntime:VisionBatchSize"] = "2",
            ["Multimodal:OnnxRuntime:Session:IntraOpThreads"] = "1",
            ["Multimodal:OnnxRuntime:Session:GraphOptimizationLevel"] = "Basic",
        });
        await using var services = Register(configuration);

        // Act
        var model = services.GetRequiredService<MultimodalModel>();
        await model.LoadAsync();
        using var chat = model.CreateChatSession();
        var reply = await chat.SendAsync(
            new ChatMessage(ChatRole.User, [ImageContent.FromFile(LlavaTinyFixture.ScenePath(0)), new TextContent("How many shapes are there?")]),
            new GenerationOptions { DoSample = false, Temperature = 0, MaxNewTokens = 8, NumBeams = 1 });

        // Assert
        Assert.NotEmpty(reply.TokenIds);
        Assert.Equal("onnxruntime:cpu", model.Components.LanguageDecoder.Metadata.ProviderName);
        Assert.NotNull(model.Components.VisionEncoder);
        Assert.Same(model, services.GetRequiredService<IChatClient>());
    }

    [Fact]
    public async Task ThroughDependencyInjection_LoadVisionEncoderFalse_LoadsTheDecoderOnly()
    {
        // Arrange
        var configuration = Memory(new()
        {
            ["Multimodal:ModelPath"] = LlavaTinyFixture.ModelFolder,
            ["Multimodal:OnnxRuntime:LoadVisionEncoder"] = "false",
            ["Multimodal:OnnxRuntime:Session:IntraOpThreads"] = "1",
        });
        await using var services = Register(configuration);

        // Act
        var model = services.GetRequiredService<MultimodalModel>();
        await model.LoadAsync();

        // Assert
        Assert.Null(model.Components.VisionEncoder);
        Assert.Equal("onnxruntime:cpu", model.Components.LanguageDecoder.Metadata.ProviderName);
    }

    [Fact]
    public async Task ThroughDependencyInjection_AnUnknownVariant_FailsTheLoadListingTheFilesPresent()
    {
        // Arrange
        var configuration = Memory(new()
        {
            ["Multimodal:ModelPath"] = LlavaTinyFixture.ModelFolder,
            ["Multimodal:OnnxRuntime:Variant"] = "int3",
        });
        await using var services = Register(configuration);
        var model = services.GetRequiredService<MultimodalModel>();

        // Act
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());

        // Assert
        Assert.Contains("has no embed_tokens_int3.onnx", ex.Message, StringComparison.Ordinal);
        Assert.Contains("decoder_model_merged.onnx", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Variant 'int3' was asked for", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThroughDependencyInjection_TheCudaProviderAndDevice_ReachOnnxRuntime()
    {
        // Arrange: this machine's ONNX Runtime has no CUDA provider libraries, so the provider and device show in the error.
        var configuration = Memory(new()
        {
            ["Multimodal:ModelPath"] = LlavaTinyFixture.ModelFolder,
            ["Multimodal:OnnxRuntime:Session:ExecutionProvider"] = "Cuda",
            ["Multimodal:OnnxRuntime:Session:CudaDeviceId"] = "1",
        });
        await using var services = Register(configuration);
        var model = services.GetRequiredService<MultimodalModel>();

        // Act
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());

        // Assert
        var inner = Assert.IsType<OnnxRuntimeException>(ex.InnerException);
        Assert.StartsWith("ONNX Runtime could not enable the CUDA execution provider on device 1: ", inner.Message, StringComparison.Ordinal);
        Assert.Contains("libonnxruntime_providers_cuda.so", inner.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThroughDependencyInjection_TheThreadCountReachesOnnxRuntime()
    {
        // Arrange: ONNX Runtime checks thread affinities against the intra-op thread count (one entry per thread but the
        // caller's), so the same affinity entry loads with IntraOpThreads 2 and fails with 3: the count came through.
        static IConfiguration Threads(int threads) => Memory(new()
        {
            ["Multimodal:ModelPath"] = LlavaTinyFixture.ModelFolder,
            ["Multimodal:OnnxRuntime:LoadVisionEncoder"] = "false",
            ["Multimodal:OnnxRuntime:Session:IntraOpThreads"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Multimodal:OnnxRuntime:Session:ConfigEntries:session.intra_op_thread_affinities"] = "1",
        });
        await using var two = Register(Threads(2));
        await using var three = Register(Threads(3));

        // Act
        await two.GetRequiredService<MultimodalModel>().LoadAsync();
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => three.GetRequiredService<MultimodalModel>().LoadAsync());

        // Assert: "Number of affinities does not equal to thread_pool_size minus one, affinities: 1, thread_pool_size: 3".
        var inner = Assert.IsType<OnnxRuntimeException>(ex.InnerException);
        Assert.Contains("affinities", inner.Message, StringComparison.Ordinal);
        Assert.Contains("thread_pool_size: 3", inner.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Register(IConfiguration configuration)
    {
        var section = configuration.GetSection("Multimodal");
        var services = new ServiceCollection();
        services.AddMultimodalModel(section)
            .UseLlava()
            .UseOnnxRuntime(section.GetSection("OnnxRuntime"))
            .UseImageDecoder(new ImageDecoder());
        return services.BuildServiceProvider();
    }

    /// <summary>Reads the JSON example of docs/backends.md's "Configuration" section, leaving out the native-library keys (process-wide).</summary>
    internal static IConfiguration DocumentedConfiguration()
    {
        var doc = File.ReadAllText(Multimodal.Testing.RepositoryPaths.Combine("docs", "backends.md"));
        var start = doc.IndexOf("```json", doc.IndexOf("## Configuration", StringComparison.Ordinal), StringComparison.Ordinal) + "```json".Length;
        var json = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
        var parsed = Json(json);
        return Memory(parsed.AsEnumerable().Where(kv => !kv.Key.Contains(":NativeLibrary", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value));
    }

    private static IConfiguration Memory(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    private static IConfiguration Json(string json) => new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

    private static string JsonPath(string path) => path.Replace("\\", "\\\\", StringComparison.Ordinal);
}
