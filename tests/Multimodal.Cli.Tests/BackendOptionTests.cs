// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Text.Json;
using Multimodal.Testing;

namespace Multimodal.Cli;

/// <summary><c>--backend</c>, <c>--threads</c>, <c>--device</c> and <c>--native-dir</c> on <c>ask</c>, <c>chat</c> and
/// <c>inspect</c>: the ONNX Runtime and GenAI backends answer as the managed one does, and every wrong combination is
/// one line and exit code 1.</summary>
/// <remarks>The native libraries come from <c>.tools/native/linux-x64</c> (eng/native/fetch-onnxruntime.sh) through
/// <c>--native-dir</c>. They load once per process, so only the out-of-process test can see them missing.</remarks>
public sealed class BackendOptionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-backend-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string LlavaTiny => RepositoryPaths.Combine("models", "llava-tiny");

    private static string NativeDirectory => RepositoryPaths.Combine(".tools", "native", "linux-x64");

    public static TheoryData<string, string, string> Questions => new()
    {
        { "onnxruntime", RepositoryPaths.Combine("samples", "red-circle.png"), "What shape is in the image?" },
        { "onnxruntime-genai", RepositoryPaths.Combine("samples", "red-circle.png"), "What shape is in the image?" },
        { "onnxruntime", RepositoryPaths.Combine("tests", "data", "eval", "scenes-112", "scene-000.png"), "How many shapes are there?" },
        { "onnxruntime-genai", RepositoryPaths.Combine("tests", "data", "eval", "scenes-112", "scene-000.png"), "How many shapes are there?" },
    };

    private static async Task<(int Code, string Out, string Err)> RunAsync(string? input, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var reader = new StringReader(input ?? string.Empty);
        var code = await CliApp.RunAsync(args, output, error, default, reader);
        return (code, output.ToString(), error.ToString());
    }

    private static string AssertOneErrorLine(int code, string output, string error, string expected)
    {
        Assert.Equal(1, code);
        Assert.Equal(string.Empty, output);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.Single(lines);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        return lines[0];
    }

    [Theory]
    [MemberData(nameof(Questions))]
    public async Task Ask_OnnxBackends_PrintTheManagedAnswer(string backend, string image, string question)
    {
        // Arrange
        var (managedCode, managed, managedError) = await RunAsync(null, "ask", "--model", LlavaTiny, "--image", image, "--temperature", "0", question);
        Assert.True(managedCode == 0, managedError);

        // Act
        var (code, output, error) = await RunAsync(null, "ask", "--model", LlavaTiny, "--image", image, "--temperature", "0", question, "--backend", backend, "--threads", "1", "--native-dir", NativeDirectory);

        // Assert
        Assert.True(code == 0, error);
        Assert.NotEqual(string.Empty, managed.Trim());
        Assert.Equal(managed, output);
        Assert.Contains($"({backend})", error, StringComparison.Ordinal);
        Assert.Contains("prompt tokens", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("managed", "managed")]
    [InlineData("onnxruntime", "onnxruntime:cpu")]
    [InlineData("onnxruntime-genai", "onnxruntime-genai:cpu")]
    public async Task Ask_Json_NamesTheBackendAndProvider(string backend, string provider)
    {
        var (code, output, error) = await RunAsync(null, "ask", "--model", LlavaTiny, "--image", RepositoryPaths.Combine("samples", "red-circle.png"), "--temperature", "0", "--json", "What colour is the shape?", "--backend", backend, "--native-dir", NativeDirectory);

        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal("Red.", doc.RootElement.GetProperty("answer").GetString());
        Assert.Equal(backend, doc.RootElement.GetProperty("backend").GetString());
        Assert.StartsWith(provider, doc.RootElement.GetProperty("provider").GetString(), StringComparison.Ordinal);
        Assert.Equal(64, doc.RootElement.GetProperty("usage").GetProperty("visual_tokens").GetInt32());
    }

    [Fact]
    public async Task Chat_OnnxRuntime_AnswersBothTurnsAsManagedDoes()
    {
        var input = $"/image {RepositoryPaths.Combine("samples", "red-circle.png")}\nWhat shape is in the image?\nWhat colour is the shape?\n/exit\n";

        var (code, output, error) = await RunAsync(input, "chat", "--model", LlavaTiny, "--temperature", "0", "--backend", "onnxruntime", "--native-dir", NativeDirectory);

        Assert.True(code == 0, error);
        Assert.Equal(["A circle.", "Red."], output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(r => r.Trim()));
    }

    [Theory]
    [InlineData("ask")]
    [InlineData("chat")]
    public async Task Quantize_WithAnOnnxBackend_OneLine(string verb)
    {
        string[] args = verb == "ask"
            ? ["ask", "--model", LlavaTiny, "--quantize", "int8", "--backend", "onnxruntime", "Hi"]
            : ["chat", "--model", LlavaTiny, "--quantize", "int8", "--backend", "onnxruntime"];

        var (code, output, error) = await RunAsync(null, args);

        var line = AssertOneErrorLine(code, output, error, "--quantize int8 applies to the managed backend only");
        Assert.Contains("--backend onnxruntime", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("onnxruntime")]
    [InlineData("onnxruntime-genai")]
    public async Task DeviceCuda_WithoutTheCudaProvider_OneLineNamingTheMissingLibrary(string backend)
    {
        // This machine's ONNX Runtime has no CUDA provider libraries (and no GPU): the session cannot enable CUDA.
        var (code, output, error) = await RunAsync(null, "ask", "--model", LlavaTiny, "--image", RepositoryPaths.Combine("samples", "red-circle.png"), "Hi", "--backend", backend, "--device", "cuda", "--native-dir", NativeDirectory);

        var line = AssertOneErrorLine(code, output, error, "could not enable the CUDA execution provider");
        Assert.Contains("libonnxruntime_providers_shared.so", line, StringComparison.Ordinal);
        Assert.Contains("libonnxruntime_providers_cuda.so", line, StringComparison.Ordinal);
        Assert.True(line.Contains("use --device cpu", StringComparison.Ordinal), line);
    }

    [Fact]
    public async Task DeviceCuda_WithTheManagedBackend_OneLine()
    {
        var (code, output, error) = await RunAsync(null, "ask", "--model", LlavaTiny, "--device", "cuda", "Hi");
        AssertOneErrorLine(code, output, error, "The managed backend runs on the CPU only");
    }

    [Theory]
    [InlineData("onnxruntime")]
    [InlineData("onnxruntime-genai")]
    public async Task OnnxBackend_OnAFolderWithoutAnOnnxExport_OneLine(string backend)
    {
        var folder = RepositoryPaths.Combine("tests", "data", "models", "tiny-auroracap");
        Assert.False(Directory.Exists(Path.Combine(folder, "onnx")));

        var (code, output, error) = await RunAsync(null, "ask", "--model", folder, "Hi", "--backend", backend, "--native-dir", NativeDirectory);

        var line = AssertOneErrorLine(code, output, error, "has no ONNX export");
        Assert.Contains($"--backend {backend}", line, StringComparison.Ordinal);
        Assert.Contains("--backend managed", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenAI_OnAnExportWithoutGenAIConfig_OneLine()
    {
        // Arrange: the ONNX Runtime layout only.
        Directory.CreateDirectory(Path.Combine(_dir, "onnx"));
        foreach (var file in Directory.EnumerateFiles(LlavaTiny))
        {
            File.Copy(file, Path.Combine(_dir, Path.GetFileName(file)));
        }

        // Act
        var (code, output, error) = await RunAsync(null, "ask", "--model", _dir, "Hi", "--backend", "onnxruntime-genai", "--native-dir", NativeDirectory);

        // Assert
        AssertOneErrorLine(code, output, error, "has no genai_config.json");
    }

    [Fact]
    public async Task UnknownBackend_IsAParseError()
    {
        var (code, output, error) = await RunAsync(null, "ask", "--model", LlavaTiny, "Hi", "--backend", "tensorrt");
        AssertOneErrorLine(code, output, error, "'tensorrt'");
    }

    [Fact]
    public async Task Threads_Zero_OneLine()
    {
        var (code, output, error) = await RunAsync(null, "ask", "--model", LlavaTiny, "Hi", "--threads", "0");
        AssertOneErrorLine(code, output, error, "--threads must be at least 1");
    }

    [Fact]
    public async Task NativeDir_ThatDoesNotExist_OneLine()
    {
        var (code, output, error) = await RunAsync(null, "ask", "--model", LlavaTiny, "Hi", "--backend", "onnxruntime", "--native-dir", Path.Combine(_dir, "nope"));
        AssertOneErrorLine(code, output, error, "--native-dir");
    }

    [Theory]
    [InlineData("onnxruntime", "language decoder: onnxruntime:cpu", "vision encoder: onnxruntime:cpu")]
    [InlineData("onnxruntime-genai", "language decoder: onnxruntime-genai:cpu", "vision encoder: onnxruntime:cpu")]
    public async Task Inspect_OnnxBackend_ReportsWhatItLoaded(string backend, string decoder, string vision)
    {
        var (code, output, error) = await RunAsync(null, "inspect", "--model", LlavaTiny, "--backend", backend, "--threads", "1", "--native-dir", NativeDirectory);

        Assert.True(code == 0, error);
        Assert.Equal(string.Empty, error);
        Assert.Contains("family: llava", output, StringComparison.Ordinal);
        Assert.Contains($"backend: {backend}\n", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains($"{decoder} (vocabulary 640, context 1024, hidden 128)", output, StringComparison.Ordinal);
        Assert.Contains($"{vision} (image 112, patch 14, 64 tokens per view, hidden 128)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_Managed_NamesTheBackendWithoutLoading()
    {
        var (code, output, error) = await RunAsync(null, "inspect", LlavaTiny);

        Assert.True(code == 0, error);
        Assert.Contains("backend: managed (weights not loaded)", output, StringComparison.Ordinal);
        Assert.DoesNotContain("language decoder:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_OnnxBackend_WithoutAnExport_OneLineAndNoOutput()
    {
        var (code, output, error) = await RunAsync(null, "inspect", RepositoryPaths.Combine("tests", "data", "models", "tiny-auroracap"), "--backend", "onnxruntime");
        AssertOneErrorLine(code, output, error, "has no ONNX export");
    }

    [Fact]
    public async Task Help_ListsTheBackendOptions()
    {
        var (code, output, _) = await RunAsync(null, "ask", "--help");

        Assert.Equal(0, code);
        foreach (var option in (string[])["--backend", "managed|onnxruntime|onnxruntime-genai", "--threads", "--device", "cpu|cuda", "--native-dir", "MULTIMODAL_NATIVE_DIR", "--quantize"])
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void FormatError_MissingOnnxRuntime_OneLineSayingWhatToDo()
    {
        var ex = new NativeLibraryException(
            "The native library 'onnxruntime' (ONNX Runtime 1.11 or newer) could not be loaded. Tried: /a/libonnxruntime.so.1, libonnxruntime.so.1. Install it or set its path on OnnxRuntimeLibraryOptions.Shared before the first ONNX Runtime session is created.",
            "onnxruntime",
            ["/a/libonnxruntime.so.1", "libonnxruntime.so.1"]);

        var line = CliApp.FormatError(ex);

        Assert.StartsWith("error: The native library 'onnxruntime' could not be found.", line, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", line, StringComparison.Ordinal);
        Assert.Contains("--native-dir", line, StringComparison.Ordinal);
        Assert.Contains("MULTIMODAL_NATIVE_DIR", line, StringComparison.Ordinal);
        Assert.Contains("eng/native/fetch-onnxruntime.sh", line, StringComparison.Ordinal);
    }

    [Fact]
    public void FormatError_UnusableOnnxRuntimeGenAI_NamesWhereAndWhy()
    {
        var ex = new NativeLibraryException(
            "The native library 'onnxruntime-genai' (ONNX Runtime GenAI 0.15 or newer) was found at '/old/libonnxruntime-genai.so' but cannot be used: it is version 0.4.0, but 0.15 or newer is required. Install a supported version or point OnnxRuntimeGenAILibraryOptions.Shared at one.",
            "onnxruntime-genai",
            ["/old/libonnxruntime-genai.so"]);

        var line = CliApp.FormatError(ex);

        Assert.StartsWith("error: The native library 'onnxruntime-genai' was found at '/old/libonnxruntime-genai.so' but cannot be used (it is version 0.4.0, but 0.15 or newer is required).", line, StringComparison.Ordinal);
        Assert.Contains("--native-dir", line, StringComparison.Ordinal);
    }

    [Fact]
    public void FormatError_WrappedMissingOnnxRuntime_IsStillTheAdvice()
    {
        var ex = new ModelLoadException("Loading model 'x' failed.", null, new TypeInitializationException("T", new NativeLibraryException("could not be loaded", "onnxruntime")));
        Assert.StartsWith("error: The native library 'onnxruntime' could not be found. Pass --native-dir", CliApp.FormatError(ex), StringComparison.Ordinal);
    }

    [Fact]
    public void FormatError_OtherNativeLibraries_KeepTheirOwnAdvice()
    {
        var ex = new NativeLibraryException("The native library 'poppler-glib' could not be loaded. Install it (Debian/Ubuntu: apt-get install libpoppler-glib8).", "poppler-glib");
        Assert.Equal("error: " + ex.Message, CliApp.FormatError(ex));
    }

    [Fact]
    public async Task MissingNativeLibrary_InAFreshProcess_OneLineSayingWhatToDo()
    {
        // No native folder is given and none is in the environment. This process may already have loaded ONNX Runtime,
        // so the failure is only visible in a new one.
        var (code, output, error) = await RunToolAsync(nativeDirectoryVariable: null, "ask", "--model", LlavaTiny, "--backend", "onnxruntime", "Hi");

        var line = AssertOneErrorLine(code, output, error, "The native library 'onnxruntime' could not be found.");
        Assert.Contains("--native-dir", line, StringComparison.Ordinal);
        Assert.Contains("MULTIMODAL_NATIVE_DIR", line, StringComparison.Ordinal);
        Assert.Contains("eng/native/fetch-onnxruntime.sh", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NativeDirectoryVariable_InAFreshProcess_IsSearched()
    {
        var (code, output, error) = await RunToolAsync(NativeDirectory, "ask", "--model", LlavaTiny, "--image", RepositoryPaths.Combine("samples", "red-circle.png"), "--temperature", "0", "--backend", "onnxruntime-genai", "What shape is in the image?");

        Assert.True(code == 0, error);
        Assert.Equal("A circle.", output.Trim());
    }

    /// <summary>Runs the tool as built next to the tests in a new process, with <c>MULTIMODAL_NATIVE_DIR</c> set to <paramref name="nativeDirectoryVariable"/> (or unset) and no <c>LD_LIBRARY_PATH</c>.</summary>
    private async Task<(int Code, string Out, string Err)> RunToolAsync(string? nativeDirectoryVariable, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _dir,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Multimodal.Cli.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("LD_LIBRARY_PATH");
        start.Environment.Remove("MULTIMODAL_NATIVE_DIR");
        if (nativeDirectoryVariable is not null)
        {
            start.Environment["MULTIMODAL_NATIVE_DIR"] = nativeDirectoryVariable;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await output, await error);
    }
}
