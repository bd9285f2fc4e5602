// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Interop;

namespace Multimodal.Media.Pdf.Interop;

/// <summary>Library loading, options and the pixel conversion loop.</summary>
public sealed class InteropTests
{
    [Fact]
    public void TheLibrariesLoad_AndFreezeTheSharedOptions()
    {
        PdfNativeLibraries.EnsureLoaded();

        Assert.NotNull(PdfNativeLibraries.Poppler.LoadedFrom);
        Assert.NotNull(PdfNativeLibraries.Cairo.LoadedFrom);
        Assert.StartsWith("22.", PdfNativeLibraries.PopplerVersion, StringComparison.Ordinal);
        Assert.True(PdfLibraryOptions.Shared.IsFrozen);
        Assert.Throws<InvalidOperationException>(() => PdfLibraryOptions.Shared.PopplerGlibPath = "/elsewhere/libpoppler-glib.so.8");
    }

    [Fact]
    public void AMissingLibrary_IsANativeLibraryException_NamingTheAptPackage()
    {
        var options = new PdfLibraryOptions().WithPopplerGlibPath("/nonexistent/libpoppler-glib.so.8").AddSearchDirectory("/nonexistent/lib");
        var spec = PdfNativeLibraries.PopplerSpec with { SoNames = ["libpoppler-glib-does-not-exist.so.8"], PlainNames = [] };
        var loader = new NativeLibraryLoader(spec, options);

        var ex = Assert.Throws<NativeLibraryException>(() => loader.GetHandle());

        Assert.Equal("poppler-glib", ex.LibraryName);
        Assert.Contains("apt-get install libpoppler-glib8", ex.Message, StringComparison.Ordinal);
        Assert.Equal("/nonexistent/libpoppler-glib.so.8", ex.PathsTried[0]);
        Assert.Contains("/nonexistent/lib/libpoppler-glib-does-not-exist.so.8", ex.PathsTried);
        Assert.False(options.IsFrozen); // a failure is not cached and does not freeze
    }

    [Fact]
    public void ALibraryWithoutTheFunctions_IsRejected()
    {
        // libcairo is a real library but does not export poppler's functions.
        var spec = PdfNativeLibraries.PopplerSpec with { SoNames = ["libcairo.so.2"], PlainNames = [] };

        var ex = Assert.Throws<NativeLibraryException>(() => new NativeLibraryLoader(spec, new PdfLibraryOptions()).GetHandle());

        Assert.Contains("does not export poppler_get_version", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public unsafe void XrgbToRgb_MatchesAScalarReference_ForEveryWidth()
    {
        var random = new Random(5);
        for (var width = 1; width <= 41; width++)
        {
            const int height = 3;
            var stride = (width * 4) + 8;
            var source = new byte[stride * height];
            random.NextBytes(source);
            var expected = new byte[width * height * 3];
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    var s = (y * stride) + (x * 4);
                    var d = ((y * width) + x) * 3;
                    (expected[d], expected[d + 1], expected[d + 2]) = (source[s + 2], source[s + 1], source[s]);
                }
            }

            var actual = new byte[(width * height * 3) + 16];
            actual.AsSpan().Fill(0xAB);
            fixed (byte* p = source)
            {
                PixelConversion.XrgbToRgb(p, stride, actual.AsSpan(0, width * height * 3), width, height);
            }

            Assert.Equal(expected, actual[..(width * height * 3)]);
            Assert.All(actual[(width * height * 3)..], b => Assert.Equal(0xAB, b)); // nothing written past the end
        }
    }

    [Fact]
    public void EncryptEntry_IsDetected()
    {
        Assert.True(PdfFormat.HasEncryptEntry(File.ReadAllBytes(PdfTestData.Encrypted)));
        Assert.False(PdfFormat.HasEncryptEntry(File.ReadAllBytes(PdfTestData.TextShapes)));
        Assert.False(PdfFormat.HasEncryptEntry("<< /EncryptMetadata false >>"u8));
        Assert.True(PdfFormat.HasEncryptEntry("trailer << /Encrypt 5 0 R >>"u8));
    }
}
