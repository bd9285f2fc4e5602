// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>Turns GenAI's <c>OgaResult*</c> into exceptions, and GenAI strings into .NET strings.</summary>
internal static unsafe class GenAiResult
{
    /// <summary>Does nothing on success; otherwise reads the message, destroys the result and throws.</summary>
    /// <param name="result">What an <c>Oga*</c> function returned: <see cref="IntPtr.Zero"/> on success.</param>
    /// <param name="operation">What we were doing, as the start of the message (for example <c>Creating a GenAI generator</c>).</param>
    /// <exception cref="OnnxRuntimeGenAIException"><paramref name="result"/> is an error: <c>"&lt;operation&gt;: &lt;GenAI's message&gt;"</c>.</exception>
    [StackTraceHidden]
    public static void ThrowIfFailed(IntPtr result, string operation)
    {
        if (result != IntPtr.Zero)
        {
            Throw(result, operation);
        }
    }

    /// <summary>Copies a GenAI-allocated string and frees it with <c>OgaDestroyString</c>.</summary>
    /// <param name="value">The string, or null.</param>
    /// <returns>The text; empty for null.</returns>
    public static string TakeString(byte* value)
    {
        if (value is null)
        {
            return string.Empty;
        }

        try
        {
            return Marshal.PtrToStringUTF8((IntPtr)value) ?? string.Empty;
        }
        finally
        {
            GenAiNative.DestroyString(value);
        }
    }

    [DoesNotReturn]
    [StackTraceHidden]
    private static void Throw(IntPtr result, string operation)
    {
        string message;
        try
        {
            var text = GenAiNative.ResultGetError(result);
            message = text is null ? string.Empty : Marshal.PtrToStringUTF8((IntPtr)text) ?? string.Empty;
        }
        finally
        {
            GenAiNative.DestroyResult(result);
        }

        message = message.Trim();
        throw new OnnxRuntimeGenAIException(
            $"{operation}: {(message.Length == 0 ? "ONNX Runtime GenAI reported an error without a message" : message)}",
            message);
    }
}
