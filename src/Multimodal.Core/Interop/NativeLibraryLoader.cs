// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Reflection;
using System.Runtime.InteropServices;

namespace Multimodal.Interop;

/// <summary>Finds, loads and checks one native library on first use, following a <see cref="NativeLibraryOptions"/>, and caches its handle.</summary>
/// <remarks>
/// <para>
/// Candidates are probed in this order, each handed to the system loader as it is (<c>dlopen</c>/<c>LoadLibrary</c>):
/// the explicit path from <see cref="NativeLibraryOptions.GetLibraryPath"/>; the spec's file names in each
/// <see cref="NativeLibraryOptions.SearchDirectories"/> entry, then in <c>runtimes/&lt;rid&gt;/native</c> under
/// <see cref="AppContext.BaseDirectory"/> (where NuGet runtime packages put them), then in
/// <see cref="AppContext.BaseDirectory"/> itself; finally <see cref="NativeLibrarySpec.SoNames"/> and
/// <see cref="NativeLibrarySpec.PlainNames"/> through the system search path. In folders only the file names of the
/// current platform are tried (<c>.so</c>, <c>.dylib</c> or <c>.dll</c>, and names without those suffixes). The first
/// candidate that loads must export every <see cref="NativeLibrarySpec.RequiredExports"/> symbol and pass
/// <see cref="NativeLibrarySpec.CheckVersion"/>; otherwise it is released and a <see cref="NativeLibraryException"/>
/// explains why, rather than falling back to a library further down the list.
/// </para>
/// <para>
/// Dependencies given to the constructor are loaded first (so that this library binds to their copies), together with
/// this one: either all of them load, or none is kept. A successful load is cached for the life of the process (native
/// libraries are never unloaded) and freezes the options; a failure is not cached, so a later call probes again. The
/// members are thread-safe.
/// </para>
/// </remarks>
public sealed class NativeLibraryLoader
{
    private static readonly Lock s_loadLock = new();
    private readonly NativeLibraryOptions _options;
    private readonly IReadOnlyList<NativeLibraryLoader> _dependencies;
    private IntPtr _handle;
    private string? _loadedFrom;

    /// <summary>Initializes a loader for one library; nothing is loaded until <see cref="GetHandle"/>.</summary>
    /// <param name="spec">The library's names, package and checks.</param>
    /// <param name="options">Where to look first; frozen by the first successful load.</param>
    /// <param name="dependencies">Loaders of libraries this one needs, loaded before it and together with it.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public NativeLibraryLoader(NativeLibrarySpec spec, NativeLibraryOptions options, params IReadOnlyList<NativeLibraryLoader> dependencies)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dependencies);
        ArgumentException.ThrowIfNullOrWhiteSpace(spec.LogicalName, nameof(spec));
        Spec = spec;
        _options = options;
        _dependencies = [.. dependencies];
    }

    /// <summary>Gets the library's names, package and checks.</summary>
    public NativeLibrarySpec Spec { get; }

    /// <summary>Gets the candidate the library was loaded from, once loaded.</summary>
    /// <value><see langword="null"/> until <see cref="GetHandle"/> has succeeded.</value>
    public string? LoadedFrom => Volatile.Read(ref _loadedFrom);

    /// <summary>Installs a <c>DllImport</c> resolver for an assembly that maps each loader's <see cref="NativeLibrarySpec.LogicalName"/> to its <see cref="GetHandle"/>.</summary>
    /// <param name="assembly">The assembly whose <c>LibraryImport</c>s use the logical names.</param>
    /// <param name="loaders">The loaders, one per logical name. Other names fall through to the default probing.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">Two loaders have the same logical name.</exception>
    /// <exception cref="InvalidOperationException">The assembly already has a resolver.</exception>
    /// <remarks>A library that cannot be loaded surfaces as <see cref="NativeLibraryException"/> from the first call into it.</remarks>
    public static void SetDllImportResolver(Assembly assembly, params IReadOnlyList<NativeLibraryLoader> loaders)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        ArgumentNullException.ThrowIfNull(loaders);
        var byName = loaders.ToDictionary(l => l.Spec.LogicalName, StringComparer.Ordinal);
        NativeLibrary.SetDllImportResolver(assembly, (name, _, _) => byName.TryGetValue(name, out var loader) ? loader.GetHandle() : IntPtr.Zero);
    }

    /// <summary>Returns the library's handle, loading and checking it (after its dependencies) on the first call.</summary>
    /// <returns>The OS handle of the loaded library.</returns>
    /// <exception cref="NativeLibraryException">The library or a dependency cannot be found or loaded, lacks a required export, or fails its version check.</exception>
    public IntPtr GetHandle()
    {
        var handle = Volatile.Read(ref _handle);
        if (handle != IntPtr.Zero)
        {
            return handle;
        }

        // One lock for every loader: loads are rare, and a dependency may be shared between loaders.
        lock (s_loadLock)
        {
            if (_handle == IntPtr.Zero)
            {
                var pending = new List<(NativeLibraryLoader Loader, IntPtr Handle, string Path)>();
                var committed = false;
                try
                {
                    Probe(pending);
                    foreach (var (loader, loaded, path) in pending)
                    {
                        loader.Commit(loaded, path);
                    }

                    committed = true;
                }
                finally
                {
                    if (!committed)
                    {
                        foreach (var (_, loaded, _) in pending)
                        {
                            NativeLibrary.Free(loaded);
                        }
                    }
                }
            }

            return _handle;
        }
    }

    private void Probe(List<(NativeLibraryLoader Loader, IntPtr Handle, string Path)> pending)
    {
        if (_handle != IntPtr.Zero || pending.Exists(p => p.Loader == this))
        {
            return;
        }

        foreach (var dependency in _dependencies)
        {
            dependency.Probe(pending);
        }

        var (handle, path) = Load();
        pending.Add((this, handle, path));
    }

    private void Commit(IntPtr handle, string path)
    {
        _options.Freeze();
        Volatile.Write(ref _loadedFrom, path);
        Volatile.Write(ref _handle, handle);
    }

    private (IntPtr Handle, string Path) Load()
    {
        var spec = Spec;
        var tried = new List<string>();
        var failures = new List<string>();
        foreach (var candidate in Candidates())
        {
            tried.Add(candidate);
            IntPtr handle;
            try
            {
                // The plain overload goes straight to the system loader; the assembly-aware one could re-enter a DllImport resolver.
                if (!NativeLibrary.TryLoad(candidate, out handle))
                {
                    continue;
                }
            }
            catch (BadImageFormatException ex)
            {
                failures.Add($"{candidate}: {ex.Message}");
                continue;
            }

            var problem = Check(handle);
            if (problem is null)
            {
                return (handle, candidate);
            }

            NativeLibrary.Free(handle);
            throw new NativeLibraryException(
                $"The native library '{spec.LogicalName}' ({spec.Description}) was found at '{candidate}' but cannot be used: {problem}. " +
                $"Install a supported version{AptHint()} or point {_options.SettingName} at one.",
                spec.LogicalName,
                tried);
        }

        var detail = failures.Count == 0 ? string.Empty : " Load errors: " + string.Join("; ", failures) + ".";
        throw new NativeLibraryException(
            $"The native library '{spec.LogicalName}' ({spec.Description}) could not be loaded. Tried: {string.Join(", ", tried)}.{detail} " +
            $"Install it{AptHint()} or set its path on {_options.SettingName} before {_options.FirstUse}.",
            spec.LogicalName,
            tried);
    }

    private string AptHint() => string.IsNullOrWhiteSpace(Spec.AptPackage) ? string.Empty : $" (Debian/Ubuntu: apt-get install {Spec.AptPackage})";

    private IEnumerable<string> Candidates()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var explicitPath = _options.GetLibraryPath(Spec.LogicalName);
        if (!string.IsNullOrWhiteSpace(explicitPath) && seen.Add(explicitPath))
        {
            yield return explicitPath;
        }

        string[] fileNames = [.. Spec.SoNames.Concat(Spec.PlainNames).Where(IsForThisPlatform)];
        foreach (var directory in SearchFolders(_options.SearchDirectories))
        {
            foreach (var fileName in fileNames)
            {
                var path = Path.Combine(directory, fileName);
                if (seen.Add(path))
                {
                    yield return path;
                }
            }
        }

        foreach (var name in Spec.SoNames.Concat(Spec.PlainNames))
        {
            if (seen.Add(name))
            {
                yield return name;
            }
        }
    }

    private string? Check(IntPtr handle)
    {
        var missing = Spec.RequiredExports.Where(e => !NativeLibrary.TryGetExport(handle, e, out _)).ToArray();
        if (missing.Length > 0)
        {
            return $"it does not export {string.Join(", ", missing)}";
        }

        return Spec.CheckVersion?.Invoke(handle);
    }

    /// <summary>The folders probed by full path: the configured ones, then the application's own.</summary>
    /// <param name="searchDirectories">The configured folders.</param>
    /// <returns>The folders in probing order.</returns>
    internal static IEnumerable<string> SearchFolders(IReadOnlyList<string> searchDirectories)
    {
        foreach (var directory in searchDirectories)
        {
            yield return directory;
        }

        var baseDirectory = AppContext.BaseDirectory;
        if (string.IsNullOrEmpty(baseDirectory))
        {
            yield break;
        }

        foreach (var rid in RuntimeIdentifiers())
        {
            yield return Path.Combine(baseDirectory, "runtimes", rid, "native");
        }

        yield return baseDirectory;
    }

    /// <summary>The runtime identifiers whose <c>runtimes/&lt;rid&gt;/native</c> folders are probed: the runtime's own, then the portable one (for example <c>linux-x64</c>).</summary>
    /// <returns>One or two identifiers.</returns>
    internal static IReadOnlyList<string> RuntimeIdentifiers()
    {
        var rid = RuntimeInformation.RuntimeIdentifier;
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : OperatingSystem.IsLinux() ? "linux" : null;
        var architecture = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.X86 => "x86",
            Architecture.Arm64 => "arm64",
            Architecture.Arm => "arm",
            _ => null,
        };
        var portable = os is null || architecture is null ? null : $"{os}-{architecture}";
        return portable is null || string.Equals(portable, rid, StringComparison.Ordinal) ? [rid] : [rid, portable];
    }

    private static bool IsForThisPlatform(string fileName)
    {
        if (fileName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            return OperatingSystem.IsWindows();
        }

        if (fileName.EndsWith(".dylib", StringComparison.Ordinal))
        {
            return OperatingSystem.IsMacOS() || OperatingSystem.IsIOS();
        }

        if (fileName.EndsWith(".so", StringComparison.Ordinal) || fileName.Contains(".so.", StringComparison.Ordinal))
        {
            return !OperatingSystem.IsWindows() && !OperatingSystem.IsMacOS();
        }

        return true;
    }
}
