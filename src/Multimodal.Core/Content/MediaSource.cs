// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>Where the bytes of an image, PDF or video come from: memory, a file or a stream.</summary>
/// <remarks>
/// A stream source is read when the request runs; the caller keeps ownership of the stream unless
/// <c>leaveOpen</c> was false. Memory and file sources can be read any number of times.
/// </remarks>
public sealed class MediaSource
{
    private readonly Stream? _stream;
    private readonly bool _leaveOpen;

    private MediaSource(ReadOnlyMemory<byte> bytes, string? path, Stream? stream, bool leaveOpen, string? mediaType)
    {
        Bytes = bytes;
        Path = path;
        _stream = stream;
        _leaveOpen = leaveOpen;
        MediaType = mediaType;
    }

    /// <summary>Gets the in-memory bytes, empty unless <see cref="Kind"/> is <see cref="MediaSourceKind.Memory"/>.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>Gets the file path, when <see cref="Kind"/> is <see cref="MediaSourceKind.File"/>.</summary>
    public string? Path { get; }

    /// <summary>Gets the declared media type (for example <c>image/png</c>), when known.</summary>
    public string? MediaType { get; }

    /// <summary>Gets which kind of source this is.</summary>
    public MediaSourceKind Kind => Path is not null ? MediaSourceKind.File : _stream is not null ? MediaSourceKind.Stream : MediaSourceKind.Memory;

    /// <summary>Creates a source over bytes in memory (not copied).</summary>
    /// <param name="bytes">The encoded file contents.</param>
    /// <param name="mediaType">The media type, when known.</param>
    /// <returns>The source.</returns>
    public static MediaSource FromBytes(ReadOnlyMemory<byte> bytes, string? mediaType = null) => new(bytes, null, null, true, mediaType);

    /// <summary>Creates a source over a file. The file is opened when the request runs.</summary>
    /// <param name="path">The file path.</param>
    /// <param name="mediaType">The media type, when known; otherwise guessed from the extension.</param>
    /// <returns>The source.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    public static MediaSource FromFile(string path, string? mediaType = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new(default, System.IO.Path.GetFullPath(path), null, true, mediaType ?? MediaTypes.FromExtension(path));
    }

    /// <summary>Creates a source over a readable stream.</summary>
    /// <param name="stream">The stream, positioned at the start of the file.</param>
    /// <param name="mediaType">The media type, when known.</param>
    /// <param name="leaveOpen">Whether the caller keeps ownership (true) or the pipeline disposes the stream after reading it (false).</param>
    /// <returns>The source.</returns>
    public static MediaSource FromStream(Stream stream, string? mediaType = null, bool leaveOpen = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead)
        {
            throw new ArgumentException("The stream is not readable.", nameof(stream));
        }

        return new(default, null, stream, leaveOpen, mediaType);
    }

    /// <summary>Reads the whole source into memory.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="InvalidMediaException">The file does not exist or cannot be read.</exception>
    public async ValueTask<ReadOnlyMemory<byte>> ReadAllBytesAsync(CancellationToken cancellationToken = default)
    {
        switch (Kind)
        {
            case MediaSourceKind.Memory:
                return Bytes;
            case MediaSourceKind.File:
                try
                {
                    return await File.ReadAllBytesAsync(Path!, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new InvalidMediaException($"Cannot read media file '{Path}': {ex.Message}", MediaType, ex);
                }

            default:
                using (var copy = new MemoryStream())
                {
                    await _stream!.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
                    if (!_leaveOpen)
                    {
                        await _stream.DisposeAsync().ConfigureAwait(false);
                    }

                    return copy.ToArray();
                }
        }
    }

    /// <summary>Opens the source as a stream the caller disposes. For stream sources this returns the stream itself, wrapped so that disposal honours <c>leaveOpen</c>.</summary>
    /// <returns>A readable stream.</returns>
    /// <exception cref="InvalidMediaException">The file does not exist or cannot be opened.</exception>
    public Stream OpenRead()
    {
        switch (Kind)
        {
            case MediaSourceKind.Memory:
                return new ReadOnlyMemoryStream(Bytes);
            case MediaSourceKind.File:
                try
                {
                    return new FileStream(Path!, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new InvalidMediaException($"Cannot open media file '{Path}': {ex.Message}", MediaType, ex);
                }

            default:
                return _leaveOpen ? new NonClosingStream(_stream!) : _stream!;
        }
    }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        MediaSourceKind.File => $"file '{Path}'",
        MediaSourceKind.Memory => $"{Bytes.Length} bytes{(MediaType is null ? string.Empty : " of " + MediaType)}",
        _ => "stream",
    };

    private sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> memory) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => memory.Length;

        public override long Position
        {
            get => _position;
            set => _position = (int)Math.Clamp(value, 0, memory.Length);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, memory.Length - _position);
            memory.Span.Slice(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _position + offset,
                _ => memory.Length + offset,
            };
            return _position;
        }

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException("The stream is read-only.");

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The stream is read-only.");
    }

    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => inner.CanSeek;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override int Read(Span<byte> buffer) => inner.Read(buffer);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException("The stream is read-only.");

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The stream is read-only.");
    }
}

/// <summary>The kind of a <see cref="MediaSource"/>.</summary>
public enum MediaSourceKind
{
    /// <summary>Bytes in memory.</summary>
    Memory,

    /// <summary>A file on disk.</summary>
    File,

    /// <summary>A readable stream.</summary>
    Stream,
}

/// <summary>Media type helpers.</summary>
public static class MediaTypes
{
    /// <summary>The PDF media type.</summary>
    public const string Pdf = "application/pdf";

    /// <summary>Guesses a media type from a file extension.</summary>
    /// <param name="path">A path or file name.</param>
    /// <returns>The media type, or <see langword="null"/> when the extension is not known.</returns>
    public static string? FromExtension(string path) => System.IO.Path.GetExtension(path).ToUpperInvariant() switch
    {
        ".JPG" or ".JPEG" => "image/jpeg",
        ".PNG" => "image/png",
        ".WEBP" => "image/webp",
        ".GIF" => "image/gif",
        ".BMP" => "image/bmp",
        ".TIF" or ".TIFF" => "image/tiff",
        ".PPM" or ".PNM" => "image/x-portable-pixmap",
        ".PDF" => Pdf,
        ".MP4" or ".M4V" => "video/mp4",
        ".MKV" => "video/x-matroska",
        ".WEBM" => "video/webm",
        ".MOV" => "video/quicktime",
        ".AVI" => "video/x-msvideo",
        _ => null,
    };

    /// <summary>Tells whether a media type has the given top-level type (for example <c>image</c>).</summary>
    /// <param name="mediaType">The media type, possibly with parameters.</param>
    /// <param name="topLevelType">The top-level type to test.</param>
    /// <returns>Whether it matches, ignoring case.</returns>
    public static bool HasTopLevelType(string? mediaType, string topLevelType) =>
        mediaType is not null
        && mediaType.Length > topLevelType.Length
        && mediaType[topLevelType.Length] == '/'
        && mediaType.StartsWith(topLevelType, StringComparison.OrdinalIgnoreCase);
}
