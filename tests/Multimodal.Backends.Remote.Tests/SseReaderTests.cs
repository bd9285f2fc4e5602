// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using Multimodal.Backends.Remote.Internal;

namespace Multimodal.Backends.Remote;

/// <summary>The event-stream reader, fed through a stream that hands out the body in pieces of chosen sizes.</summary>
public sealed class SseReaderTests
{
    private const string Body =
        ": keep-alive\r\n" +
        "\r\n" +
        "data: {\"a\":1}\r\n" +
        "\r\n" +
        "event: note\n" +
        "data: first line\n" +
        "data:second line\n" +
        "id: 9\n" +
        "retry: 100\n" +
        "\n" +
        ":another comment\r" +
        "data: cr only\r" +
        "\r" +
        "data: [DONE]\n\n";

    public static TheoryData<int> PieceSizes => [1, 2, 3, 5, 7, 16, 4096];

    [Theory]
    [MemberData(nameof(PieceSizes))]
    public async Task Events_AreTheSame_WhateverThePieceSizes(int pieceSize)
    {
        // Act
        var events = await ReadAllAsync(new PieceStream(Encoding.UTF8.GetBytes(Body), _ => pieceSize));

        // Assert
        Assert.Equal(4, events.Count);
        Assert.Equal("{\"a\":1}", Text(events[0]));
        Assert.Null(events[0].EventType);
        Assert.Equal("first line\nsecond line", Text(events[1]));
        Assert.Equal("note", events[1].EventType);
        Assert.Equal("cr only", Text(events[2]));
        Assert.True(events[3].IsDone);
    }

    [Fact]
    public async Task Events_AreTheSame_WithRandomPieceSizes()
    {
        var random = new Random(12345);
        for (var round = 0; round < 50; round++)
        {
            var events = await ReadAllAsync(new PieceStream(Encoding.UTF8.GetBytes(Body), _ => random.Next(1, 9)));
            Assert.Equal(["{\"a\":1}", "first line\nsecond line", "cr only", "[DONE]"], events.Select(Text));
        }
    }

    [Fact]
    public async Task ACarriageReturnAtTheEndOfAPiece_FollowedByALineFeed_IsOneLineEnding()
    {
        // "data: x\r" | "\n\r" | "\n": if the CR and LF were two endings, the blank line would come too early and
        // the second data line would start a new event.
        var pieces = new Queue<int>([8, 2, 1, 9, 2]);
        var raw = "data: x\r\n\r\ndata: y\r\n\r\n";

        var events = await ReadAllAsync(new PieceStream(Encoding.UTF8.GetBytes(raw), _ => pieces.Count > 0 ? pieces.Dequeue() : 100));

        Assert.Equal(["x", "y"], events.Select(Text));
    }

    [Fact]
    public async Task AnEventNotClosedByABlankLine_IsStillDelivered_AtTheEnd()
    {
        var events = await ReadAllAsync(new PieceStream(Encoding.UTF8.GetBytes("data: a\n\ndata: tail"), _ => 3));

        Assert.Equal(["a", "tail"], events.Select(Text));
    }

    [Fact]
    public async Task MultiByteCharacters_SplitAcrossPieces_SurviveIntact()
    {
        var events = await ReadAllAsync(new PieceStream(Encoding.UTF8.GetBytes("data: 你好，世界 ✓\n\n"), _ => 1));

        Assert.Equal("你好，世界 ✓", Text(Assert.Single(events)));
    }

    [Fact]
    public async Task BeforeRead_IsCalledBeforeEveryRead()
    {
        var calls = 0;
        var stream = new PieceStream(Encoding.UTF8.GetBytes("data: abc\n\n"), _ => 4);

        await foreach (var unused in SseReader.ReadAsync(stream, () => calls++, CancellationToken.None))
        {
        }

        // 11 bytes in pieces of 4 → 3 reads with data and 1 that sees the end.
        Assert.Equal(4, calls);
    }

    private static string Text(SseEvent e) => Encoding.UTF8.GetString(e.Data.Span);

    private static async Task<List<SseEvent>> ReadAllAsync(Stream stream)
    {
        var list = new List<SseEvent>();
        await foreach (var e in SseReader.ReadAsync(stream, null, CancellationToken.None))
        {
            list.Add(e);
        }

        return list;
    }

    /// <summary>A read-only stream that returns at most the given number of bytes per read.</summary>
    private sealed class PieceStream(byte[] data, Func<int, int> pieceSize) : Stream
    {
        private int _position;
        private int _reads;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => data.Length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(Math.Min(buffer.Length, pieceSize(_reads++)), data.Length - _position);
            data.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
