// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>The base type of every exception the Multimodal libraries throw on purpose.</summary>
/// <remarks>
/// Catch this type to handle any library failure; catch a subclass to react to one cause. Argument errors
/// still surface as <see cref="ArgumentException"/> and cancellation as <see cref="OperationCanceledException"/>.
/// </remarks>
public class MultimodalException : Exception
{
    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public MultimodalException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the exception that caused it.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The underlying failure.</param>
    public MultimodalException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance with a default message.</summary>
    public MultimodalException()
        : base("A Multimodal operation failed.")
    {
    }
}

/// <summary>A model folder, checkpoint or configuration could not be loaded.</summary>
public sealed class ModelLoadException : MultimodalException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What is wrong with the model and how to fix it.</param>
    /// <param name="modelPath">The folder or file being loaded, when known.</param>
    /// <param name="innerException">The underlying failure.</param>
    public ModelLoadException(string message, string? modelPath = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ModelPath = modelPath;
    }

    /// <summary>Gets the folder or file that failed to load, when known.</summary>
    public string? ModelPath { get; }
}

/// <summary>A native library could not be found, loaded, or is of an unsupported version.</summary>
public sealed class NativeLibraryException : MultimodalException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What failed and how to install or point at the library.</param>
    /// <param name="libraryName">The logical library name (for example <c>onnxruntime</c>).</param>
    /// <param name="pathsTried">The locations that were probed.</param>
    /// <param name="innerException">The underlying failure.</param>
    public NativeLibraryException(string message, string libraryName, IReadOnlyList<string>? pathsTried = null, Exception? innerException = null)
        : base(message, innerException)
    {
        LibraryName = libraryName;
        PathsTried = pathsTried ?? [];
    }

    /// <summary>Gets the logical name of the library.</summary>
    public string LibraryName { get; }

    /// <summary>Gets the locations that were probed, in order.</summary>
    public IReadOnlyList<string> PathsTried { get; }
}

/// <summary>A prompt (text plus visual tokens) does not fit in the language model's context window.</summary>
public sealed class ContextLengthExceededException : MultimodalException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="tokenCount">The number of positions the request needs.</param>
    /// <param name="maxTokens">The model's context length.</param>
    /// <param name="visualTokenCount">How many of <paramref name="tokenCount"/> are visual tokens.</param>
    public ContextLengthExceededException(int tokenCount, int maxTokens, int visualTokenCount = 0)
        : base(BuildMessage(tokenCount, maxTokens, visualTokenCount))
    {
        TokenCount = tokenCount;
        MaxTokens = maxTokens;
        VisualTokenCount = visualTokenCount;
    }

    /// <summary>Gets the number of positions the request needs (prompt plus at least one generated token).</summary>
    public int TokenCount { get; }

    /// <summary>Gets the model's context length.</summary>
    public int MaxTokens { get; }

    /// <summary>Gets how many of <see cref="TokenCount"/> are visual tokens.</summary>
    public int VisualTokenCount { get; }

    private static string BuildMessage(int tokenCount, int maxTokens, int visualTokenCount) =>
        $"The prompt needs {tokenCount} positions ({visualTokenCount} of them visual tokens) but the model's context length is {maxTokens}. " +
        "Shorten the conversation, send fewer images, pages or frames, or lower the per-image token count (for example a smaller token_kept_ratio).";
}

/// <summary>An image, PDF or video could not be read: corrupt, truncated, encrypted, unsupported or over a limit.</summary>
public sealed class InvalidMediaException : MultimodalException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What is wrong with the media and what to do.</param>
    /// <param name="mediaType">The media type involved, when known (for example <c>image/png</c>).</param>
    /// <param name="innerException">The underlying failure.</param>
    public InvalidMediaException(string message, string? mediaType = null, Exception? innerException = null)
        : base(message, innerException)
    {
        MediaType = mediaType;
    }

    /// <summary>Gets the media type of the rejected input, when known.</summary>
    public string? MediaType { get; }
}

/// <summary>A request asks for something this model or pipeline cannot do (too many images, an unsupported role or content type).</summary>
public sealed class UnsupportedRequestException : MultimodalException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What is unsupported and what the caller can do instead.</param>
    /// <param name="parameterName">The request member at fault, when there is one (for example <c>messages</c>).</param>
    public UnsupportedRequestException(string message, string? parameterName = null)
        : base(message)
    {
        ParameterName = parameterName;
    }

    /// <summary>Gets the request member at fault, when there is one.</summary>
    public string? ParameterName { get; }
}
