// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>Turns a non-null <c>OrtStatus*</c> into an <see cref="OnnxRuntimeException"/>, always releasing the status.</summary>
internal static unsafe class OrtStatus
{
    /// <summary>Throws when a call failed.</summary>
    /// <param name="status">The returned <c>OrtStatus*</c>; released here when not null.</param>
    /// <param name="doing">What we were doing, completing "ONNX Runtime could not …" (for example <c>create a session for 'x.onnx'</c>).</param>
    /// <exception cref="OnnxRuntimeException"><paramref name="status"/> is not null.</exception>
    public static void ThrowIfFailed(nint status, string doing)
    {
        if (status != 0)
        {
            Throw(status, doing);
        }
    }

    /// <summary>Throws the exception for a failed call.</summary>
    /// <param name="status">The non-null <c>OrtStatus*</c>; released here.</param>
    /// <param name="doing">What we were doing, completing "ONNX Runtime could not …".</param>
    /// <exception cref="OnnxRuntimeException">Always.</exception>
    [DoesNotReturn]
    [StackTraceHidden]
    public static void Throw(nint status, string doing) => throw ToException(status, doing);

    /// <summary>Builds the exception for a failed call and releases the status.</summary>
    /// <param name="status">The non-null <c>OrtStatus*</c>; released here.</param>
    /// <param name="doing">What we were doing, completing "ONNX Runtime could not …".</param>
    /// <param name="advice">A sentence appended after ONNX Runtime's message (what to install or change), or <see langword="null"/>.</param>
    /// <returns>The exception, with the status's error code.</returns>
    public static OnnxRuntimeException ToException(nint status, string doing, string? advice = null)
    {
        var (code, message) = Consume(status);
        var text = $"ONNX Runtime could not {doing}: {message.TrimEnd()}";
        if (advice is not null)
        {
            text += (text.EndsWith('.') ? " " : ". ") + advice;
        }

        return new OnnxRuntimeException(text, code);
    }

    /// <summary>Reads a status's code and message, then releases it.</summary>
    /// <param name="status">The non-null <c>OrtStatus*</c>.</param>
    /// <returns>The error code and ONNX Runtime's message.</returns>
    public static (OnnxRuntimeErrorCode Code, string Message) Consume(nint status)
    {
        Debug.Assert(status != 0, "Only a failed call has a status.");
        try
        {
            var code = (OnnxRuntimeErrorCode)OrtApi.GetErrorCode(status);
            var message = Marshal.PtrToStringUTF8((nint)OrtApi.GetErrorMessage(status));
            return (code, string.IsNullOrWhiteSpace(message) ? "(no message)" : message);
        }
        finally
        {
            OrtApi.ReleaseStatus(status);
        }
    }
}
