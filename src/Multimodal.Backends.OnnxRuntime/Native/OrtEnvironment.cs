// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>The one process-wide <c>OrtEnv</c> every session is created in, made on first use.</summary>
/// <remarks>
/// ONNX Runtime allows one environment per process. It logs at warning level with the id <see cref="LogId"/>, and is
/// never released: sessions may outlive any owner we could tie it to, and releasing it at process exit races with
/// ONNX Runtime's own teardown. Thread-safe; a failed creation is not cached.
/// </remarks>
internal static unsafe class OrtEnvironment
{
    /// <summary>The log id ONNX Runtime prefixes its messages with.</summary>
    public const string LogId = "multimodal";

    private static readonly Lock s_lock = new();
    private static SafeOrtEnvHandle? s_env;

    /// <summary>Gets the environment, loading ONNX Runtime and creating it on first use.</summary>
    /// <exception cref="Multimodal.NativeLibraryException">ONNX Runtime cannot be found, loaded or used.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot create the environment.</exception>
    public static SafeOrtEnvHandle Handle
    {
        get
        {
            var env = Volatile.Read(ref s_env);
            return env ?? Create();
        }
    }

    private static SafeOrtEnvHandle Create()
    {
        lock (s_lock)
        {
            if (s_env is null)
            {
                var logId = OrtMemory.Utf8(LogId, nameof(LogId));
                nint env;
                fixed (byte* id = logId)
                {
                    OrtStatus.ThrowIfFailed(OrtApi.CreateEnv(OrtConstants.LoggingLevelWarning, id, &env), "create its environment");
                }

                // A reference store publishes the fully built handle (.NET memory model); readers use Volatile.Read.
                s_env = SafeOrtEnvHandle.Adopt(env);
            }

            return s_env!;
        }
    }
}
