// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Reflection;
using System.Runtime.InteropServices;
using Multimodal.Interop;
using Multimodal.Media.Images.Interop.TurboJpeg;
using Multimodal.Media.Images.Interop.WebP;

namespace Multimodal.Media.Images.Interop;

/// <summary>Native library probing, version checks, error messages, handle lifetime and struct layout.</summary>
public sealed class NativeCodecLibraryTests
{
    [Fact]
    public void MissingLibrary_NamesTheLibrary_ThePathsTried_AndTheAptPackage()
    {
        // Arrange: an isolated loader whose every candidate is bogus, so nothing on this machine can satisfy it.
        var options = new ImageCodecLibraryOptions()
            .WithTurboJpegPath("/nonexistent/libturbojpeg.so.0")
            .AddSearchDirectory("/also/missing");
        var spec = NativeLibraries.TurboJpegSpec with { SoNames = ["libturbojpeg-does-not-exist.so.0"], PlainNames = ["turbojpeg-does-not-exist"] };
        var library = new NativeLibraryLoader(spec, options);

        // Act
        var ex = Assert.Throws<NativeLibraryException>(() => library.GetHandle());

        // Assert
        Assert.Equal("turbojpeg", ex.LibraryName);
        string[] fileNames = ["libturbojpeg-does-not-exist.so.0", "turbojpeg-does-not-exist"];
        var appLocal = new[] { Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native"), AppContext.BaseDirectory };
        Assert.Equal(
            [
                "/nonexistent/libturbojpeg.so.0",
                .. fileNames.Select(f => Path.Combine("/also/missing", f)),
                .. appLocal.SelectMany(d => fileNames.Select(f => Path.Combine(d, f))),
                .. fileNames,
            ],
            ex.PathsTried);
        Assert.Contains("apt-get install libturbojpeg0", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/libturbojpeg.so.0", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ImageCodecLibraryOptions.Shared", ex.Message, StringComparison.Ordinal);

        // A failed load does not freeze the options, so the path can still be corrected.
        Assert.False(options.IsFrozen);
        options.TurboJpegPath = "/another/path";
    }

    [Fact]
    public void MissingWebP_NamesLibwebp7()
    {
        var spec = NativeLibraries.WebPSpec with { SoNames = ["libwebp-does-not-exist.so.7"], PlainNames = [] };

        var ex = Assert.Throws<NativeLibraryException>(() => new NativeLibraryLoader(spec, new ImageCodecLibraryOptions()).GetHandle());

        Assert.Equal("webp", ex.LibraryName);
        Assert.Contains("apt-get install libwebp7", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALibraryWithoutTheRequiredFunctions_IsRejected()
    {
        // libwebp is a real library, but it does not export the TurboJPEG API.
        var spec = NativeLibraries.TurboJpegSpec with { SoNames = ["libwebp.so.7"], PlainNames = [] };

        var ex = Assert.Throws<NativeLibraryException>(() => new NativeLibraryLoader(spec, new ImageCodecLibraryOptions()).GetHandle());

        Assert.Contains("does not export tjInitDecompress", ex.Message, StringComparison.Ordinal);
        Assert.Contains("libwebp.so.7", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ATooOldVersion_IsRejected()
    {
        var spec = NativeLibraries.WebPSpec with { CheckVersion = _ => "its decoder version is 0.6.1, older than the required 1.0.0" };

        var ex = Assert.Throws<NativeLibraryException>(() => new NativeLibraryLoader(spec, new ImageCodecLibraryOptions()).GetHandle());

        Assert.Contains("cannot be used: its decoder version is 0.6.1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheInstalledLibraries_LoadAndPassTheirChecks()
    {
        var options = new ImageCodecLibraryOptions();
        var turbo = new NativeLibraryLoader(NativeLibraries.TurboJpegSpec, options);
        var webp = new NativeLibraryLoader(NativeLibraries.WebPSpec, options);

        Assert.NotEqual(IntPtr.Zero, turbo.GetHandle());
        Assert.NotEqual(IntPtr.Zero, webp.GetHandle());
        Assert.Equal("libturbojpeg.so.0", turbo.LoadedFrom);
        Assert.Equal("libwebp.so.7", webp.LoadedFrom);

        // A successful load freezes the options.
        Assert.True(options.IsFrozen);
        Assert.Throws<InvalidOperationException>(() => options.WebPPath = "/x");
        Assert.Throws<InvalidOperationException>(() => options.AddSearchDirectory("/x"));
    }

    [Fact]
    public void AnExplicitPath_IsTriedFirst()
    {
        var options = new ImageCodecLibraryOptions().WithWebPPath("/usr/lib/x86_64-linux-gnu/libwebp.so.7");
        var webp = new NativeLibraryLoader(NativeLibraries.WebPSpec, options);

        webp.GetHandle();

        Assert.Equal("/usr/lib/x86_64-linux-gnu/libwebp.so.7", webp.LoadedFrom);
    }

    [Fact]
    public void WebPDecoderVersion_IsAtLeast1()
    {
        NativeLibraries.EnsureWebP();

        var version = WebPNative.GetDecoderVersion();

        Assert.True(version >= NativeLibraries.MinimumWebPVersion, NativeLibraries.FormatWebPVersion(version));
        Assert.Equal("1.2.4", NativeLibraries.FormatWebPVersion(0x010204));
    }

    [Fact]
    public void TurboJpegHandle_IsClosedAfterDispose()
    {
        NativeLibraries.EnsureTurboJpeg();
        var handle = TurboJpegNative.InitDecompress();
        Assert.False(handle.IsInvalid);

        handle.Dispose();

        Assert.True(handle.IsClosed);
    }

    [Fact]
    public void WebPBitstreamFeatures_MatchesTheCLayout()
    {
        // struct WebPBitstreamFeatures { int width, height, has_alpha, has_animation, format; uint32_t pad[5]; }
        Assert.Equal(40, Marshal.SizeOf<WebPBitstreamFeatures>());
        Assert.Equal(0, Marshal.OffsetOf<WebPBitstreamFeatures>(nameof(WebPBitstreamFeatures.Width)).ToInt32());
        Assert.Equal(4, Marshal.OffsetOf<WebPBitstreamFeatures>(nameof(WebPBitstreamFeatures.Height)).ToInt32());
        Assert.Equal(8, Marshal.OffsetOf<WebPBitstreamFeatures>(nameof(WebPBitstreamFeatures.HasAlpha)).ToInt32());
        Assert.Equal(12, Marshal.OffsetOf<WebPBitstreamFeatures>(nameof(WebPBitstreamFeatures.HasAnimation)).ToInt32());
        Assert.Equal(16, Marshal.OffsetOf<WebPBitstreamFeatures>(nameof(WebPBitstreamFeatures.Format)).ToInt32());
    }

    [Fact]
    public void EveryNativeImport_IsALibraryImport_WithExplicitBoolMarshalling()
    {
        const BindingFlags All = BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        var methods = typeof(ImageDecoder).Assembly.GetTypes().SelectMany(t => t.GetMethods(All)).ToArray();
        var imports = methods.Where(m => m.GetCustomAttribute<LibraryImportAttribute>() is not null).ToArray();

        // The only DllImports are the ones the LibraryImport generator emits: on the method itself when the signature
        // is blittable, else on a local function named "__PInvoke".
        Assert.NotEmpty(imports);
        Assert.All(
            methods.Where(m => m.GetCustomAttribute<DllImportAttribute>() is not null),
            m => Assert.True(imports.Contains(m) || m.Name.Contains("__PInvoke", StringComparison.Ordinal), m.Name));
        Assert.All(
            imports.SelectMany(m => m.GetParameters()).Where(p => p.ParameterType == typeof(bool)),
            p => Assert.NotNull(p.GetCustomAttribute<MarshalAsAttribute>()));
    }
}
