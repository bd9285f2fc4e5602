// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Interop;

/// <summary>Where a package's native libraries are loaded from: an explicit path per library and extra search folders.</summary>
/// <remarks>
/// <para>
/// A package derives one options type from this class (for example <c>PdfLibraryOptions</c>), exposes a path property per
/// library on top of <see cref="GetLibraryPath"/> and <see cref="SetLibraryPath"/>, and hands an instance to each
/// <see cref="NativeLibraryLoader"/>. The first successful load freezes the instance: native libraries cannot be
/// unloaded, so later changes throw <see cref="InvalidOperationException"/> instead of silently doing nothing.
/// </para>
/// <para>The members are thread-safe.</para>
/// </remarks>
public abstract class NativeLibraryOptions
{
    private readonly Lock _lock = new();
    private readonly List<string> _searchDirectories = [];
    private readonly Dictionary<string, string> _paths = new(StringComparer.Ordinal);
    private bool _frozen;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="settingName">How users reach the instance a package loads with, for messages (for example <c>PdfLibraryOptions.Shared</c>).</param>
    /// <param name="firstUse">When the libraries are first loaded, for messages (for example <c>the first PDF is opened</c>).</param>
    /// <exception cref="ArgumentException"><paramref name="settingName"/> or <paramref name="firstUse"/> is empty.</exception>
    protected NativeLibraryOptions(string settingName, string firstUse)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(settingName);
        ArgumentException.ThrowIfNullOrWhiteSpace(firstUse);
        SettingName = settingName;
        FirstUse = firstUse;
    }

    /// <summary>Gets the extra folders searched for the libraries' file names, in order.</summary>
    /// <value>The default is empty.</value>
    public IReadOnlyList<string> SearchDirectories
    {
        get
        {
            lock (_lock)
            {
                return [.. _searchDirectories];
            }
        }
    }

    /// <summary>Gets whether a library has loaded from these options, so that they can no longer change.</summary>
    public bool IsFrozen
    {
        get
        {
            lock (_lock)
            {
                return _frozen;
            }
        }
    }

    /// <summary>Gets how users reach the instance the package loads with (for example <c>PdfLibraryOptions.Shared</c>), as messages name it.</summary>
    internal string SettingName { get; }

    /// <summary>Gets when the libraries are first loaded (for example <c>the first PDF is opened</c>), as messages say it.</summary>
    internal string FirstUse { get; }

    /// <summary>Gets the explicit path set for a library.</summary>
    /// <param name="logicalName">The library's logical name (<see cref="NativeLibrarySpec.LogicalName"/>).</param>
    /// <returns>The full path tried before any other location, or <see langword="null"/> when none is set.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="logicalName"/> is null.</exception>
    public string? GetLibraryPath(string logicalName)
    {
        ArgumentNullException.ThrowIfNull(logicalName);
        lock (_lock)
        {
            return _paths.GetValueOrDefault(logicalName);
        }
    }

    /// <summary>Sets or clears the explicit path of a library.</summary>
    /// <param name="logicalName">The library's logical name (<see cref="NativeLibrarySpec.LogicalName"/>).</param>
    /// <param name="path">The full path of the shared library, or <see langword="null"/> (or white space) to probe only the standard locations.</param>
    /// <exception cref="ArgumentNullException"><paramref name="logicalName"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen because a library has already loaded from them.</exception>
    protected void SetLibraryPath(string logicalName, string? path)
    {
        ArgumentNullException.ThrowIfNull(logicalName);
        Update(() =>
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                _paths.Remove(logicalName);
            }
            else
            {
                _paths[logicalName] = path;
            }
        });
    }

    /// <summary>Adds a folder to <see cref="SearchDirectories"/>.</summary>
    /// <param name="directory">A folder that holds the libraries.</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    protected void AddSearchDirectoryCore(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Update(() => _searchDirectories.Add(directory));
    }

    /// <summary>Runs a change of a derived type's own setting under the options' lock, after checking that they are not frozen.</summary>
    /// <param name="change">Writes the setting.</param>
    /// <exception cref="ArgumentNullException"><paramref name="change"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    protected void Update(Action change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_lock)
        {
            if (_frozen)
            {
                throw new InvalidOperationException(
                    $"The native libraries have already been loaded with these options; configure {SettingName} before {FirstUse}.");
            }

            change();
        }
    }

    /// <summary>Reads a derived type's own setting under the options' lock.</summary>
    /// <typeparam name="T">The setting's type.</typeparam>
    /// <param name="read">Reads the setting.</param>
    /// <returns>The value <paramref name="read"/> returns.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="read"/> is null.</exception>
    protected T Read<T>(Func<T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        lock (_lock)
        {
            return read();
        }
    }

    /// <summary>Freezes the options; called once a library has loaded from them.</summary>
    internal void Freeze()
    {
        lock (_lock)
        {
            _frozen = true;
        }
    }
}
