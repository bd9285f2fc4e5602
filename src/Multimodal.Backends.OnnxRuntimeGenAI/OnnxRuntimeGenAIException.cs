// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntimeGenAI;

/// <summary>ONNX Runtime GenAI reported an error, or a GenAI model folder cannot be used.</summary>
/// <remarks>
/// The message says what this package was doing, followed by GenAI's own text (for example
/// <c>Creating a GenAI generator: Model input was not found: input_ids</c>). A failure to find or load the native
/// libraries themselves is a <see cref="NativeLibraryException"/> instead.
/// </remarks>
public sealed class OnnxRuntimeGenAIException : MultimodalException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What failed, and GenAI's message when there is one.</param>
    /// <param name="nativeMessage">The text of GenAI's <c>OgaResult</c>, or <see langword="null"/> when the check was ours.</param>
    /// <param name="innerException">The underlying failure.</param>
    internal OnnxRuntimeGenAIException(string message, string? nativeMessage = null, Exception? innerException = null)
        : base(message, innerException)
    {
        NativeMessage = nativeMessage;
    }

    /// <summary>Gets the error text ONNX Runtime GenAI returned.</summary>
    /// <value><see langword="null"/> when the error was detected before calling into GenAI (for example a missing model folder).</value>
    public string? NativeMessage { get; }
}
