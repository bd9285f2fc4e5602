// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;

namespace Multimodal.Media.Pdf.Interop;

/// <summary>A reference to an immutable GLib <c>GBytes</c> buffer, released with <c>g_bytes_unref</c>.</summary>
/// <remarks>The buffer is reference-counted and immutable, so any number of poppler documents on any threads can share it (each takes its own reference).</remarks>
internal sealed class SafeGBytesHandle : SafeHandle
{
    /// <summary>Initializes an invalid handle; the interop marshaller sets the native value.</summary>
    public SafeGBytesHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        GLibNative.BytesUnref(handle);
        return true;
    }
}

/// <summary>A reference to a GObject, released with <c>g_object_unref</c>.</summary>
internal abstract class SafeGObjectHandle : SafeHandle
{
    /// <summary>Initializes an invalid handle.</summary>
    protected SafeGObjectHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        GObjectNative.ObjectUnref(handle);
        return true;
    }
}

/// <summary>A <c>PopplerDocument</c>. Not thread-safe: one thread at a time may use it (and its pages).</summary>
internal sealed class SafePopplerDocumentHandle : SafeGObjectHandle
{
}

/// <summary>A <c>PopplerPage</c>; it keeps its document alive.</summary>
internal sealed class SafePopplerPageHandle : SafeGObjectHandle
{
}

/// <summary>A GIO <c>GInputStream</c>.</summary>
internal sealed class SafeGInputStreamHandle : SafeGObjectHandle
{
}

/// <summary>A <c>cairo_surface_t</c>, released with <c>cairo_surface_destroy</c>.</summary>
internal sealed class SafeCairoSurfaceHandle : SafeHandle
{
    /// <summary>Initializes an invalid handle; the interop marshaller sets the native value.</summary>
    public SafeCairoSurfaceHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        CairoNative.SurfaceDestroy(handle);
        return true;
    }
}

/// <summary>A cairo drawing context (<c>cairo_t</c>), released with <c>cairo_destroy</c>.</summary>
internal sealed class SafeCairoHandle : SafeHandle
{
    /// <summary>Initializes an invalid handle; the interop marshaller sets the native value.</summary>
    public SafeCairoHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        CairoNative.Destroy(handle);
        return true;
    }
}
