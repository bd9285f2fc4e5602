// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;

namespace Multimodal.Media.Video.Interop.Ffmpeg;

/// <summary>An opened input (<c>AVFormatContext</c>), closed with <c>avformat_close_input</c>; for stream input it keeps its <see cref="SafeAvioContextHandle"/> alive until then.</summary>
internal sealed class SafeAvFormatContextHandle : SafeHandle
{
    private SafeAvioContextHandle? _io;

    /// <summary>Initializes an invalid handle.</summary>
    public SafeAvFormatContextHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes ownership of an opened context.</summary>
    /// <param name="context">The context <c>avformat_open_input</c> returned.</param>
    /// <param name="io">The custom I/O context it reads through, or <see langword="null"/> for a file.</param>
    /// <returns>The handle.</returns>
    public static SafeAvFormatContextHandle Adopt(IntPtr context, SafeAvioContextHandle? io)
    {
        var result = new SafeAvFormatContextHandle();
        if (io is not null)
        {
            // The format context reads through io until it is closed: keep io alive that long (child keeps parent).
            var added = false;
            io.DangerousAddRef(ref added);
            result._io = io;
        }

        result.SetHandle(context);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        // avformat_close_input never frees a caller-supplied pb (AVFMT_FLAG_CUSTOM_IO), so the I/O context outlives it.
        var context = handle;
        AvFormatNative.CloseInput(ref context);
        _io?.DangerousRelease();
        return true;
    }
}

/// <summary>A custom I/O context (<c>AVIOContext</c>) reading a .NET <see cref="Stream"/>; frees its buffer, the context and the stream's <see cref="GCHandle"/>.</summary>
internal sealed class SafeAvioContextHandle : SafeHandle
{
    private GCHandle _state;

    /// <summary>Initializes an invalid handle.</summary>
    public SafeAvioContextHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes ownership of an I/O context and of the handle that pins its callback state.</summary>
    /// <param name="context">The context from <c>avio_alloc_context</c>.</param>
    /// <param name="state">The normal <see cref="GCHandle"/> passed as <c>opaque</c>.</param>
    /// <returns>The handle.</returns>
    public static SafeAvioContextHandle Adopt(IntPtr context, GCHandle state)
    {
        var result = new SafeAvioContextHandle { _state = state };
        result.SetHandle(context);
        return result;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        // The buffer may have been replaced by libavformat since avio_alloc_context, so free the one the context holds now.
        var buffer = Field.Read<IntPtr>(handle, FfmpegAbi.AVIOContext_buffer);
        AvUtilNative.Free(buffer);
        Field.Write(handle, FfmpegAbi.AVIOContext_buffer, IntPtr.Zero);
        var context = handle;
        AvFormatNative.AvioContextFree(ref context);
        if (_state.IsAllocated)
        {
            _state.Free();
        }

        return true;
    }
}

/// <summary>A decoder context (<c>AVCodecContext</c>), freed with <c>avcodec_free_context</c>.</summary>
internal sealed class SafeAvCodecContextHandle : SafeHandle
{
    /// <summary>Initializes an invalid handle; the interop marshaller sets the native value.</summary>
    public SafeAvCodecContextHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        var context = handle;
        AvCodecNative.FreeContext(ref context);
        return true;
    }
}

/// <summary>A packet (<c>AVPacket</c>), freed with <c>av_packet_free</c>.</summary>
internal sealed class SafeAvPacketHandle : SafeHandle
{
    /// <summary>Initializes an invalid handle; the interop marshaller sets the native value.</summary>
    public SafeAvPacketHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        var packet = handle;
        AvCodecNative.PacketFree(ref packet);
        return true;
    }
}

/// <summary>A frame (<c>AVFrame</c>), freed with <c>av_frame_free</c>.</summary>
internal sealed class SafeAvFrameHandle : SafeHandle
{
    /// <summary>Initializes an invalid handle; the interop marshaller sets the native value.</summary>
    public SafeAvFrameHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        var frame = handle;
        AvUtilNative.FrameFree(ref frame);
        return true;
    }
}

/// <summary>A scaler (<c>SwsContext</c>), re-created by <c>sws_getCachedContext</c> when the geometry changes and freed with <c>sws_freeContext</c>.</summary>
internal sealed class SafeSwsContextHandle : SafeHandle
{
    /// <summary>Initializes an empty handle; <see cref="Update"/> creates the scaler.</summary>
    public SafeSwsContextHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Returns a scaler for the given conversion, reusing the current one when it already matches.</summary>
    /// <param name="srcW">Source width.</param>
    /// <param name="srcH">Source height.</param>
    /// <param name="srcFormat">Source AVPixelFormat.</param>
    /// <param name="dstW">Destination width.</param>
    /// <param name="dstH">Destination height.</param>
    /// <param name="dstFormat">Destination AVPixelFormat.</param>
    /// <param name="flags">SWS_* flags.</param>
    /// <returns>The native scaler, valid until the next call or disposal.</returns>
    public IntPtr Update(int srcW, int srcH, int srcFormat, int dstW, int dstH, int dstFormat, int flags)
    {
        // sws_getCachedContext frees the old context itself when it has to make a new one.
        var next = SwScaleNative.GetCachedContext(handle, srcW, srcH, srcFormat, dstW, dstH, dstFormat, flags, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero);
        SetHandle(next);
        return next;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        SwScaleNative.FreeContext(handle);
        return true;
    }
}
