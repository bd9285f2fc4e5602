// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.Remote.Internal;

/// <summary>One chat message as it goes on the wire: an OpenAI role and its content parts.</summary>
/// <param name="Role">The role (<c>system</c>, <c>user</c>, <c>assistant</c>, <c>tool</c>).</param>
/// <param name="Name">The author name, if any.</param>
/// <param name="Parts">The content parts, in order.</param>
internal sealed record WireMessage(string Role, string? Name, IReadOnlyList<WirePart> Parts)
{
    /// <summary>Gets whether every part is text, so that the content can be written as one string (which every server accepts).</summary>
    public bool IsTextOnly => Parts.All(p => p is WireText);
}

/// <summary>A content part of a <see cref="WireMessage"/>.</summary>
internal abstract record WirePart;

/// <summary>A <c>text</c> part.</summary>
/// <param name="Text">The text.</param>
internal sealed record WireText(string Text) : WirePart;

/// <summary>An <c>image_url</c> part holding the image itself, written as a base64 data URL.</summary>
/// <param name="Data">The encoded image.</param>
/// <param name="MediaType">Its media type (for example <c>image/png</c>).</param>
internal sealed record WireImageData(ReadOnlyMemory<byte> Data, string MediaType) : WirePart;

/// <summary>An <c>image_url</c> part pointing at a remote address the engine fetches.</summary>
/// <param name="Url">The address.</param>
internal sealed record WireImageUrl(string Url) : WirePart;

/// <summary>A vLLM-style <c>video_url</c> part: a data URL (or a remote address) and the number of frames to sample.</summary>
/// <param name="Data">The video file, or empty when <paramref name="Url"/> is set.</param>
/// <param name="MediaType">The video's media type.</param>
/// <param name="Url">A remote address, or <see langword="null"/> for data.</param>
/// <param name="NumFrames">The frames to sample, or <see langword="null"/> for the engine's default.</param>
internal sealed record WireVideo(ReadOnlyMemory<byte> Data, string MediaType, string? Url, int? NumFrames) : WirePart;

/// <summary>An OpenAI <c>file</c> part carrying a PDF as a data URL, with an optional page selection.</summary>
/// <param name="Data">The PDF.</param>
/// <param name="FileName">The file name sent with it.</param>
/// <param name="Pages">The page selection text (for example <c>1-3</c>), or <see langword="null"/> for all pages.</param>
internal sealed record WireFile(ReadOnlyMemory<byte> Data, string FileName, string? Pages) : WirePart;
