// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace Multimodal.Backends.Managed.SafeTensors;

/// <summary>A read-only memory mapping of a whole file, exposed as <see cref="Memory{T}"/> slices.</summary>
/// <remarks>Slices stay valid until the mapping is disposed; the owner (the checkpoint, then the model) keeps it alive.</remarks>
internal sealed unsafe class MappedFile : MemoryManager<byte>
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _pointer;

    private MappedFile(MemoryMappedFile map, MemoryMappedViewAccessor view, long length)
    {
        _map = map;
        _view = view;
        Length = length;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _pointer = pointer + view.PointerOffset;
    }

    /// <summary>Gets the file length in bytes.</summary>
    public long Length { get; }

    /// <summary>Maps a file read-only.</summary>
    /// <param name="path">The file; must not be empty.</param>
    /// <returns>The mapping.</returns>
    public static MappedFile Open(string path)
    {
        var length = new FileInfo(path).Length;
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            return new MappedFile(map, map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read), length);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>Returns a slice of the file.</summary>
    /// <param name="offset">The first byte.</param>
    /// <param name="length">The byte count (at most <see cref="int.MaxValue"/>).</param>
    /// <returns>The bytes.</returns>
    public ReadOnlyMemory<byte> Slice(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        if (offset < 0 || length < 0 || offset + length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Bytes {offset}..{offset + length} lie outside the {Length}-byte file.");
        }

        // Memory<T> slices are int-indexed: hand out a manager positioned at the offset.
        return new Window(this, offset, length).Memory;
    }

    /// <inheritdoc />
    public override Span<byte> GetSpan() => throw new NotSupportedException("Use Slice: a mapped file can exceed 2 GB.");

    /// <inheritdoc />
    public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException("Use Slice.");

    /// <inheritdoc />
    public override void Unpin()
    {
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (_pointer == null)
        {
            return;
        }

        _pointer = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    private byte* PointerAt(long offset)
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        return _pointer + offset;
    }

    /// <summary>One tensor's bytes: a span over the mapping, checked against disposal on every access.</summary>
    private sealed class Window(MappedFile file, long offset, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(file.PointerAt(offset), length);

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)length, nameof(elementIndex));
            return new MemoryHandle(file.PointerAt(offset) + elementIndex);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
