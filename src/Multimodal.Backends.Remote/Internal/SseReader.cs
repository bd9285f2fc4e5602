// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Runtime.CompilerServices;

namespace Multimodal.Backends.Remote.Internal;

/// <summary>One server-sent event: its type (the <c>event:</c> field, usually absent) and its data (the <c>data:</c> lines joined with line feeds).</summary>
/// <param name="EventType">The event type, or <see langword="null"/> for the default <c>message</c>.</param>
/// <param name="Data">The UTF-8 data.</param>
internal readonly record struct SseEvent(string? EventType, ReadOnlyMemory<byte> Data)
{
    /// <summary>Gets whether the data is exactly <c>[DONE]</c>, OpenAI's end-of-stream marker.</summary>
    public bool IsDone => Data.Span.SequenceEqual("[DONE]"u8);
}

/// <summary>Reads a <c>text/event-stream</c> body as the HTML specification describes it.</summary>
/// <remarks>
/// Lines end in LF, CRLF or CR, and a CR at the end of one read followed by an LF at the start of the next is one
/// line ending. Lines starting with <c>:</c> are comments (keep-alives) and are skipped. A field's value loses one
/// leading space. An empty line dispatches the event, if it has data. Events and lines may be split across reads at
/// any byte, so data is gathered as bytes and only complete events are handed out. An event still being gathered
/// when the stream ends is handed out too, for servers that end without a final blank line.
/// </remarks>
internal static class SseReader
{
    /// <summary>The largest event accepted, so a broken server cannot make the client buffer without end.</summary>
    public const int MaxEventBytes = 64 * 1024 * 1024;

    /// <summary>Reads the events of a stream.</summary>
    /// <param name="stream">The response body.</param>
    /// <param name="beforeRead">Called before each read (the client restarts its idle timer there), or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The events, in order.</returns>
    /// <exception cref="InvalidDataException">A line or event is larger than <see cref="MaxEventBytes"/>.</exception>
    public static async IAsyncEnumerable<SseEvent> ReadAsync(Stream stream, Action? beforeRead, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var line = new ArrayBufferWriter<byte>(1024);
        var data = new ArrayBufferWriter<byte>(1024);
        var hasData = false;
        string? eventType = null;
        var skipLineFeed = false;
        try
        {
            while (true)
            {
                beforeRead?.Invoke();
                var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                var chunk = buffer.AsMemory(0, read);
                while (!chunk.IsEmpty)
                {
                    if (skipLineFeed)
                    {
                        skipLineFeed = false;
                        if (chunk.Span[0] == (byte)'\n')
                        {
                            chunk = chunk[1..];
                            continue;
                        }
                    }

                    var end = chunk.Span.IndexOfAny((byte)'\r', (byte)'\n');
                    if (end < 0)
                    {
                        Append(line, chunk.Span);
                        break;
                    }

                    Append(line, chunk.Span[..end]);
                    skipLineFeed = chunk.Span[end] == (byte)'\r';
                    chunk = chunk[(end + 1)..];

                    if (ProcessLine(line.WrittenSpan, data, ref hasData, ref eventType))
                    {
                        yield return new SseEvent(eventType, data.WrittenMemory.ToArray());
                        data.ResetWrittenCount();
                        hasData = false;
                        eventType = null;
                    }

                    line.ResetWrittenCount();
                }
            }

            // An unterminated last line still counts, and so does an event the server did not close with a blank line.
            if (line.WrittenCount > 0)
            {
                ProcessLine(line.WrittenSpan, data, ref hasData, ref eventType);
            }

            if (hasData)
            {
                yield return new SseEvent(eventType, data.WrittenMemory.ToArray());
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Applies one complete line to the event being gathered.</summary>
    /// <returns>Whether the line was blank and an event with data is ready.</returns>
    private static bool ProcessLine(ReadOnlySpan<byte> line, ArrayBufferWriter<byte> data, ref bool hasData, ref string? eventType)
    {
        if (line.IsEmpty)
        {
            return hasData;
        }

        if (line[0] == (byte)':')
        {
            return false;
        }

        var colon = line.IndexOf((byte)':');
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? ReadOnlySpan<byte>.Empty : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        if (field.SequenceEqual("data"u8))
        {
            if (hasData)
            {
                Append(data, "\n"u8);
            }

            Append(data, value);
            hasData = true;
        }
        else if (field.SequenceEqual("event"u8))
        {
            eventType = System.Text.Encoding.UTF8.GetString(value);
        }

        // "id" and "retry" matter to browsers that reconnect; a chat completion stream is never resumed.
        return false;
    }

    private static void Append(ArrayBufferWriter<byte> target, ReadOnlySpan<byte> bytes)
    {
        if (target.WrittenCount + bytes.Length > MaxEventBytes)
        {
            throw new InvalidDataException($"A server-sent event is larger than {MaxEventBytes / (1024 * 1024)} MiB; the stream is not a chat completion stream.");
        }

        bytes.CopyTo(target.GetSpan(bytes.Length));
        target.Advance(bytes.Length);
    }
}
