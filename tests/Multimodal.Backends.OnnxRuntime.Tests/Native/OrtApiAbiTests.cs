// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Multimodal.Testing;

namespace Multimodal.Backends.OnnxRuntime.Native;

public sealed class OrtApiAbiTests
{
    // onnxruntime_c_api.h includes these two siblings, which eng/native/fetch-onnxruntime.sh does not extract. When one
    // is missing, a stand-in goes in a temporary folder searched after the header's own: the ep header only adds types
    // after OrtApi, and the error codes are those of ONNX Runtime 1.29's onnxruntime_error_code.h (ORT_OK … ORT_DEVICE_RESET).
    private const string ErrorCodeStub = """
        #pragma once
        #define MULTIMODAL_ORT_ERROR_CODE_STUB 1
        typedef enum OrtErrorCode {
          ORT_OK, ORT_FAIL, ORT_INVALID_ARGUMENT, ORT_NO_SUCHFILE, ORT_NO_MODEL, ORT_ENGINE_ERROR, ORT_RUNTIME_EXCEPTION,
          ORT_INVALID_PROTOBUF, ORT_MODEL_LOADED, ORT_NOT_IMPLEMENTED, ORT_INVALID_GRAPH, ORT_EP_FAIL, ORT_MODEL_LOAD_CANCELED,
          ORT_MODEL_REQUIRES_COMPILATION, ORT_NOT_FOUND, ORT_DEVICE_RESET,
        } OrtErrorCode;

        """;

    private const string EpApiStub = "#pragma once\n/* Stand-in: nothing the ABI test reads is declared here. */\n";

    [Fact(Timeout = 120_000)]
    public async Task EverySlotAndEnumValue_EqualsTheCHeader()
    {
        // Arrange: compile ort_abi.c with gcc (installed by eng/bootstrap.sh; a missing compiler fails the test).
        await Task.Yield();
        var source = RepositoryPaths.Combine("tests", "Multimodal.Backends.OnnxRuntime.Tests", "Native", "ort_abi.c");
        var include = OrtTestEnvironment.IncludeDirectory;
        Assert.True(File.Exists(Path.Combine(include, "onnxruntime_c_api.h")), $"onnxruntime_c_api.h is missing from {include}; run 'bash eng/native/fetch-onnxruntime.sh'.");
        var work = Directory.CreateTempSubdirectory("ort_abi_");
        try
        {
            WriteStubIfMissing(include, work.FullName, "onnxruntime_error_code.h", ErrorCodeStub);
            WriteStubIfMissing(include, work.FullName, "onnxruntime_ep_c_api.h", EpApiStub);
            var exe = Path.Combine(work.FullName, "ort_abi");
            Run("gcc", ["-std=c11", "-Wall", "-I", include, "-I", work.FullName, source, "-o", exe]);

            // Act
            var c = Run(exe, [])
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' '))
                .GroupBy(p => p[0])
                .ToDictionary(g => g.Key, g => g.ToDictionary(p => p[1], p => long.Parse(p[2], CultureInfo.InvariantCulture)));

            // Assert: every slot the binding calls, by name and index.
            var slots = typeof(OrtApiSlots).GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => f.IsLiteral)
                .ToDictionary(f => f.Name, f => (long)(int)f.GetRawConstantValue()!);
            AssertSame("OrtApiSlots", slots, c["slot"]);

            // The binding asks for API version 11: every slot must exist in that table.
            Assert.Equal(c["slot"]["LastOfApi11"] + 1, c["api12"]["AddExternalInitializers"]);
            Assert.All(slots.Values, s => Assert.True(s <= OrtApiSlots.LastOfApi11, $"slot {s} is newer than API version {OrtLibrary.ApiVersion}"));
            Assert.Equal(11u, OrtLibrary.ApiVersion);
            Assert.True(c["header"]["ORT_API_VERSION"] >= OrtLibrary.ApiVersion);
            Assert.Equal(2, c["base"]["size"]);
            Assert.Equal(0, c["base"]["GetApi"]);
            Assert.Equal(1, c["base"]["GetVersionString"]);

            // Every mirrored enum, member by member.
            AssertSame("OrtElementType", EnumValues<OrtElementType>(), c["elem"]);
            AssertSame("OrtValueKind", EnumValues<OrtValueKind>(), c["kind"]);
            AssertSame("OnnxRuntimeErrorCode", EnumValues<OnnxRuntimeErrorCode>(), c["err"]);
            AssertSame("OnnxRuntimeGraphOptimizationLevel", EnumValues<OnnxRuntimeGraphOptimizationLevel>(), c["opt"]);
            var constants = typeof(OrtConstants).GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => f.IsLiteral)
                .ToDictionary(f => f.Name, f => (long)(int)f.GetRawConstantValue()!);
            AssertSame("OrtConstants", constants, c["const"]);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public void TheLoadedLibrary_ServesTheRequestedApiVersion()
    {
        OrtTestEnvironment.EnsureConfigured();

        // Reading a slot goes through the table GetApi(ApiVersion) returned.
        unsafe
        {
            Assert.True(OrtLibrary.Api != null);
            Assert.True(OrtLibrary.Api[OrtApiSlots.ReleaseCudaProviderOptions] != 0);
            Assert.True(OrtLibrary.Api[OrtApiSlots.LastOfApi11] != 0);
        }
    }

    private static Dictionary<string, long> EnumValues<T>()
        where T : struct, Enum =>
        Enum.GetValues<T>().ToDictionary(v => v.ToString(), v => Convert.ToInt64(v, CultureInfo.InvariantCulture));

    private static void AssertSame(string what, Dictionary<string, long> managed, Dictionary<string, long> header)
    {
        Assert.True(
            managed.Keys.Order().SequenceEqual(header.Keys.Order()),
            $"{what}: the binding has [{string.Join(", ", managed.Keys.Order())}], ort_abi.c prints [{string.Join(", ", header.Keys.Order())}]");
        foreach (var (name, value) in managed)
        {
            Assert.True(header[name] == value, $"{what}.{name}: the binding says {value}, the header says {header[name]}");
        }
    }

    private static void WriteStubIfMissing(string include, string stubs, string name, string content)
    {
        if (!File.Exists(Path.Combine(include, name)))
        {
            File.WriteAllText(Path.Combine(stubs, name), content);
        }
    }

    private static string Run(string file, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"'{file}' is not installed; run eng/bootstrap.sh (gcc).", ex);
        }

        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"{file} failed ({process.ExitCode}): {stderr.Result}");
            return stdout;
        }
    }
}
