// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;

namespace Multimodal.Interop;

/// <summary>Probing order, error messages, checks, caching, freezing and the resolver of <see cref="NativeLibraryLoader"/>, against real system libraries (zlib, libm).</summary>
public sealed class NativeLibraryLoaderTests
{
    private const string Name = "testlib";

    private static readonly NativeLibrarySpec Missing = new()
    {
        LogicalName = Name,
        Description = "a library no machine has",
        SoNames = ["libmultimodal-does-not-exist.so.3"],
        PlainNames = ["libmultimodal-does-not-exist.dll", "multimodal-does-not-exist"],
        AptPackage = "libmultimodal3",
    };

    private static readonly NativeLibrarySpec Zlib = new()
    {
        LogicalName = Name,
        Description = "zlib",
        SoNames = ["libz.so.1"],
        AptPackage = "zlib1g",
        RequiredExports = ["zlibVersion", "inflate"],
    };

    [Fact]
    public void AMissingLibrary_ListsEveryPathTried_AndNamesTheAptPackage()
    {
        var options = new TestOptions().WithPath("/nonexistent/libmultimodal.so.3").AddSearchDirectory("/also/missing");
        var loader = new NativeLibraryLoader(Missing, options);

        var ex = Assert.Throws<NativeLibraryException>(() => loader.GetHandle());

        // Folders get only this platform's file names (no .dll on Linux); the system loader gets every name as it is.
        string[] inFolders = ["libmultimodal-does-not-exist.so.3", "multimodal-does-not-exist"];
        var appFolders = NativeLibraryLoader.RuntimeIdentifiers().Select(rid => Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native")).Append(AppContext.BaseDirectory);
        Assert.Equal(
            [
                "/nonexistent/libmultimodal.so.3",
                .. inFolders.Select(f => Path.Combine("/also/missing", f)),
                .. appFolders.SelectMany(d => inFolders.Select(f => Path.Combine(d, f))),
                "libmultimodal-does-not-exist.so.3", "libmultimodal-does-not-exist.dll", "multimodal-does-not-exist",
            ],
            ex.PathsTried);
        Assert.Equal(Name, ex.LibraryName);
        Assert.Contains("The native library 'testlib' (a library no machine has) could not be loaded. Tried: /nonexistent/libmultimodal.so.3, ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install libmultimodal3", ex.Message, StringComparison.Ordinal);
        Assert.Contains("set its path on TestOptions.Shared before the first test runs", ex.Message, StringComparison.Ordinal);

        // A failure is not cached and does not freeze the options, so the path can still be corrected.
        Assert.False(options.IsFrozen);
        Assert.Null(loader.LoadedFrom);
        options.LibraryPath = SystemLibrary("libz.so.1");
        loader.GetHandle();
        Assert.Equal(SystemLibrary("libz.so.1"), loader.LoadedFrom);
    }

    [Fact]
    public void AnExplicitPathThatDoesNotExist_IsTriedFirst_ThenTheStandardLocations()
    {
        var options = new TestOptions().WithPath("/nonexistent/libz.so.1");
        var loader = new NativeLibraryLoader(Zlib, options);

        Assert.NotEqual(IntPtr.Zero, loader.GetHandle());

        Assert.Equal("libz.so.1", loader.LoadedFrom);
        var ex = Assert.Throws<NativeLibraryException>(() => new NativeLibraryLoader(Missing, new TestOptions().WithPath("/nonexistent/libz.so.1")).GetHandle());
        Assert.Equal("/nonexistent/libz.so.1", ex.PathsTried[0]);
        Assert.Contains("/nonexistent/libz.so.1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASuccessfulLoad_IsCached_AndFreezesTheOptions()
    {
        var options = new TestOptions().AddSearchDirectory(Path.GetDirectoryName(SystemLibrary("libz.so.1"))!);
        var loader = new NativeLibraryLoader(Zlib, options);

        var first = loader.GetHandle();
        var second = loader.GetHandle();

        Assert.Equal(first, second);
        Assert.Equal(SystemLibrary("libz.so.1"), loader.LoadedFrom);
        Assert.True(options.IsFrozen);
        var ex = Assert.Throws<InvalidOperationException>(() => options.LibraryPath = "/elsewhere/libz.so.1");
        Assert.Contains("configure TestOptions.Shared before the first test runs", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => options.AddSearchDirectory("/elsewhere"));
        Assert.Throws<InvalidOperationException>(() => options.Mode = 2);
        Assert.Equal(0, options.Mode); // reading stays allowed
    }

    [Fact]
    public void ARequiredExportThatIsMissing_RejectsTheLibrary_WithAClearMessage()
    {
        var spec = new NativeLibrarySpec
        {
            LogicalName = "m",
            Description = "the C math library",
            SoNames = ["libm.so.6"],
            AptPackage = "libc6",
            RequiredExports = ["cos", "multimodal_made_up_export", "another_made_up_export"],
        };
        var options = new TestOptions();

        var ex = Assert.Throws<NativeLibraryException>(() => new NativeLibraryLoader(spec, options).GetHandle());

        Assert.Equal("m", ex.LibraryName);
        Assert.Equal(
            "The native library 'm' (the C math library) was found at 'libm.so.6' but cannot be used: it does not export multimodal_made_up_export, another_made_up_export. " +
            "Install a supported version (Debian/Ubuntu: apt-get install libc6) or point TestOptions.Shared at one.",
            ex.Message);
        Assert.Equal("libm.so.6", ex.PathsTried[^1]);
        Assert.False(options.IsFrozen);
    }

    [Fact]
    public void AFailedVersionCheck_RejectsTheLibrary_AndTheCheckCanCallIt()
    {
        string? seen = null;
        var spec = Zlib with
        {
            CheckVersion = handle =>
            {
                seen = ZlibVersion(handle);
                return "its version is too old";
            },
        };

        var ex = Assert.Throws<NativeLibraryException>(() => new NativeLibraryLoader(spec, new TestOptions()).GetHandle());

        Assert.Contains("was found at 'libz.so.1' but cannot be used: its version is too old. Install a supported version (Debian/Ubuntu: apt-get install zlib1g)", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("1.", seen, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAppLocalRuntimesFolder_IsProbedBeforeTheSystem()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "runtimes", NativeLibraryLoader.RuntimeIdentifiers()[0], "native");
        var fileName = $"libmultimodal-applocal-{Environment.ProcessId}.so";
        Directory.CreateDirectory(folder);
        File.Copy(SystemLibrary("libz.so.1"), Path.Combine(folder, fileName), overwrite: true);
        try
        {
            var spec = Zlib with { SoNames = [fileName] };
            var loader = new NativeLibraryLoader(spec, new TestOptions());

            loader.GetHandle();

            Assert.Equal(Path.Combine(folder, fileName), loader.LoadedFrom);
        }
        finally
        {
            File.Delete(Path.Combine(folder, fileName));
        }
    }

    [Fact]
    public void Dependencies_LoadFirst_AndTogether()
    {
        // The dependency is found, the library is not: neither is kept, nothing is frozen.
        var options = new TestOptions();
        var zlib = new NativeLibraryLoader(Zlib with { LogicalName = "z" }, options);
        var failing = new NativeLibraryLoader(Missing, options, zlib);

        Assert.Throws<NativeLibraryException>(() => failing.GetHandle());
        Assert.Null(zlib.LoadedFrom);
        Assert.False(options.IsFrozen);

        // Both found: the dependency loads first and both are cached.
        var math = new NativeLibraryLoader(new NativeLibrarySpec { LogicalName = "m", Description = "libm", SoNames = ["libm.so.6"], RequiredExports = ["cos"] }, options, zlib);
        math.GetHandle();
        Assert.Equal("libz.so.1", zlib.LoadedFrom);
        Assert.Equal("libm.so.6", math.LoadedFrom);
        Assert.True(options.IsFrozen);
    }

    [Fact]
    public void TheResolver_MapsLogicalNamesToTheLoaders()
    {
        var loader = new NativeLibraryLoader(Zlib with { LogicalName = "multimodal-test-zlib" }, new TestOptions());
        var assembly = typeof(NativeLibraryLoaderTests).Assembly;

        NativeLibraryLoader.SetDllImportResolver(assembly, loader);

        Assert.StartsWith("1.", Marshal.PtrToStringUTF8(ZlibVersionThroughTheResolver()), StringComparison.Ordinal);
        Assert.Equal("libz.so.1", loader.LoadedFrom);
        Assert.Throws<DllNotFoundException>(() => UnknownThroughTheResolver()); // other names fall through to the default probing
        Assert.Throws<InvalidOperationException>(() => NativeLibraryLoader.SetDllImportResolver(assembly, loader));
        Assert.Throws<ArgumentException>(() => NativeLibraryLoader.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, loader, loader));
    }

    [DllImport("multimodal-test-zlib", EntryPoint = "zlibVersion")]
    private static extern IntPtr ZlibVersionThroughTheResolver();

    [DllImport("multimodal-test-unknown", EntryPoint = "zlibVersion")]
    private static extern IntPtr UnknownThroughTheResolver();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr ZlibVersionFunction();

    private static string? ZlibVersion(IntPtr handle) =>
        Marshal.PtrToStringUTF8(Marshal.GetDelegateForFunctionPointer<ZlibVersionFunction>(NativeLibrary.GetExport(handle, "zlibVersion"))());

    private static string SystemLibrary(string fileName)
    {
        string[] folders = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib"];
        return folders.Select(f => Path.Combine(f, fileName)).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"{fileName} is not installed in any of {string.Join(", ", folders)}.");
    }

    private sealed class TestOptions : NativeLibraryOptions
    {
        private int _mode;

        public TestOptions()
            : base("TestOptions.Shared", "the first test runs")
        {
        }

        public string? LibraryPath { get => GetLibraryPath(Name); set => SetLibraryPath(Name, value); }

        public int Mode { get => Read(() => _mode); set => Update(() => _mode = value); }

        public TestOptions WithPath(string path)
        {
            LibraryPath = path;
            return this;
        }

        public TestOptions AddSearchDirectory(string directory)
        {
            AddSearchDirectoryCore(directory);
            return this;
        }
    }
}
