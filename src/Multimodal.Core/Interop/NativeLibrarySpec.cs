// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Interop;

/// <summary>What a <see cref="NativeLibraryLoader"/> needs to find, check and explain one native library.</summary>
/// <remarks>Immutable; derive variants with a <see langword="with"/> expression.</remarks>
public sealed record NativeLibrarySpec
{
    /// <summary>Gets the name the <c>LibraryImport</c>s use and explicit paths are keyed by (for example <c>turbojpeg</c>).</summary>
    public required string LogicalName { get; init; }

    /// <summary>Gets what the library is and what it is for, for messages (for example <c>libwebp, used to decode WebP images</c>).</summary>
    public required string Description { get; init; }

    /// <summary>Gets the versioned file names of the supported ABI, most specific first (for example <c>libturbojpeg.so.0</c>).</summary>
    /// <value>The default is empty.</value>
    public IReadOnlyList<string> SoNames { get; init; } = [];

    /// <summary>Gets unversioned or other-platform file names, probed after <see cref="SoNames"/> (for example <c>libturbojpeg.so</c>, <c>turbojpeg.dll</c>).</summary>
    /// <value>The default is empty.</value>
    public IReadOnlyList<string> PlainNames { get; init; } = [];

    /// <summary>Gets the Debian/Ubuntu package or packages (space-separated) that provide the library, named in messages.</summary>
    /// <value>The default is <see langword="null"/>: messages name no package.</value>
    public string? AptPackage { get; init; }

    /// <summary>Gets the symbols the library must export; a candidate that lacks any of them is rejected.</summary>
    /// <value>The default is empty.</value>
    public IReadOnlyList<string> RequiredExports { get; init; } = [];

    /// <summary>Gets a check of the loaded library's version: given its handle, returns <see langword="null"/> when it is supported, otherwise the reason.</summary>
    /// <value>The default is <see langword="null"/>: every version is accepted. It runs after <see cref="RequiredExports"/> are found, so it can call them.</value>
    public Func<IntPtr, string?>? CheckVersion { get; init; }
}
