// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;

namespace Multimodal.Media.Video.Interop.Ffmpeg;

/// <summary>Lets libavformat read a .NET <see cref="Stream"/> through a custom <c>AVIOContext</c> whose read and seek callbacks are <see cref="UnmanagedCallersOnlyAttribute"/> functions.</summary>
/// <remarks>
/// The callbacks find the stream through a normal <see cref="GCHandle"/> passed as <c>opaque</c>; the returned
/// <see cref="SafeAvioContextHandle"/> frees that handle, the I/O buffer and the context. Exceptions never cross into
/// native code: a callback records the first one and returns <c>AVERROR(EIO)</c>, and the caller rethrows it.
/// Offsets are relative to the stream's position when the context was created, so a video embedded at an offset works.
/// </remarks>
internal static unsafe class StreamIo
{
    /// <summary>The size of the I/O buffer handed to libavformat.</summary>
    public const int BufferSize = 64 * 1024;

    /// <summary>Creates an I/O context reading <paramref name="stream"/>.</summary>
    /// <param name="stream">A readable, seekable stream positioned at the start of the video.</param>
    /// <param name="state">The callback state, which records a stream exception.</param>
    /// <returns>The context.</returns>
    /// <exception cref="OutOfMemoryException">FFmpeg could not allocate the buffer or context.</exception>
    public static SafeAvioContextHandle Create(Stream stream, out State state)
    {
        state = new State(stream, stream.CanSeek ? stream.Position : 0);
        var buffer = AvUtilNative.Malloc(BufferSize);
        if (buffer == IntPtr.Zero)
        {
            throw new OutOfMemoryException("av_malloc failed for the video I/O buffer.");
        }

        var gcHandle = GCHandle.Alloc(state);
        var context = AvFormatNative.AvioAllocContext(buffer, BufferSize, 0, GCHandle.ToIntPtr(gcHandle), &Read, IntPtr.Zero, stream.CanSeek ? &Seek : null);
        if (context == IntPtr.Zero)
        {
            AvUtilNative.Free(buffer);
            gcHandle.Free();
            throw new OutOfMemoryException("avio_alloc_context failed.");
        }

        return SafeAvioContextHandle.Adopt(context, gcHandle);
    }

    // int (*read_packet)(void *opaque, uint8_t *buf, int buf_size): bytes read, or AVERROR_EOF at the end.
    [UnmanagedCallersOnly]
    private static int Read(IntPtr opaque, byte* buffer, int size)
    {
        var state = (State)GCHandle.FromIntPtr(opaque).Target!;
        try
        {
            var n = state.Stream.Read(new Span<byte>(buffer, size));
            return n == 0 ? Ff.ErrorEof : n;
        }
        catch (Exception ex)
        {
            state.Error ??= ex;
            return Ff.ErrorIo;
        }
    }

    // int64_t (*seek)(void *opaque, int64_t offset, int whence): the new position, the size for AVSEEK_SIZE, or a negative error.
    [UnmanagedCallersOnly]
    private static long Seek(IntPtr opaque, long offset, int whence)
    {
        var state = (State)GCHandle.FromIntPtr(opaque).Target!;
        try
        {
            var stream = state.Stream;
            whence &= ~Ff.AvioSeekForce;
            if (whence == Ff.AvioSeekSize)
            {
                return stream.Length - state.Origin;
            }

            var position = whence switch
            {
                0 => stream.Seek(state.Origin + offset, SeekOrigin.Begin),
                1 => stream.Seek(offset, SeekOrigin.Current),
                2 => stream.Seek(offset, SeekOrigin.End),
                _ => -1,
            };
            return position < 0 ? -22 : position - state.Origin;
        }
        catch (Exception ex)
        {
            state.Error ??= ex;
            return Ff.ErrorIo;
        }
    }

    /// <summary>What the callbacks need: the stream, where the video starts in it, and the first exception it threw.</summary>
    /// <param name="stream">The stream.</param>
    /// <param name="origin">The stream position that is offset 0 for FFmpeg.</param>
    internal sealed class State(Stream stream, long origin)
    {
        /// <summary>Gets the stream.</summary>
        public Stream Stream { get; } = stream;

        /// <summary>Gets the position that FFmpeg sees as offset 0.</summary>
        public long Origin { get; } = origin;

        /// <summary>Gets or sets the first exception the stream threw inside a callback.</summary>
        public Exception? Error { get; set; }
    }
}
