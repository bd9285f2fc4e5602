// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Multimodal.Server.Internal;

/// <summary>A request body read into one pooled buffer, never more than the configured limit; dispose to return the buffer.</summary>
internal sealed class RequestBody : IDisposable
{
    private byte[]? _buffer;

    private RequestBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlyMemory<byte> Memory => (_buffer ?? throw new ObjectDisposedException(nameof(RequestBody))).AsMemory(0, Length);

    /// <summary>Reads the whole body.</summary>
    /// <exception cref="ApiError">413: the body (by its Content-Length or by what arrived) is over <paramref name="maxBytes"/>;
    /// 400 or 408: Kestrel could not read it (broken chunked framing, data arriving too slowly).</exception>
    public static async Task<RequestBody> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            throw ApiError.BodyTooLarge(maxBytes);
        }

        // Kestrel enforces its own limit (30 MB by default) while reading; make it ours, so that both agree.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = maxBytes;
        }

        var pool = ArrayPool<byte>.Shared;
        var buffer = pool.Rent(InitialBufferLength(request.ContentLength, maxBytes));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBytes)
                    {
                        throw ApiError.BodyTooLarge(maxBytes);
                    }

                    var grown = pool.Rent((int)Math.Min((long)buffer.Length * 2, maxBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(grown);
                    pool.Return(buffer);
                    buffer = grown;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > maxBytes)
                {
                    throw ApiError.BodyTooLarge(maxBytes);
                }
            }

            var body = new RequestBody(buffer, length);
            buffer = null;
            return body;
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw ApiError.BodyTooLarge(maxBytes);
        }
        catch (BadHttpRequestException ex) when (!request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // Kestrel could not read the body (malformed chunked framing, data arriving too slowly): the client's fault,
            // with Kestrel's status (400 or 408) and its message, which names the problem and nothing of the server.
            // (A client that went away keeps the exception, so that the request is counted as abandoned.)
            throw new ApiError(
                ex.StatusCode,
                $"The request body could not be read: {ex.Message}",
                ApiError.InvalidRequestType,
                null,
                ex.StatusCode == StatusCodes.Status408RequestTimeout ? "request_timeout" : "invalid_body");
        }
        finally
        {
            if (buffer is not null)
            {
                pool.Return(buffer);
            }
        }
    }

    /// <summary>The most the first buffer reserves, whatever the request's <c>Content-Length</c> says; the buffer grows as the data arrives.</summary>
    internal const long MaxInitialBufferBytes = 1024 * 1024;

    /// <summary>The size of the first buffer: the declared length and one byte (to notice a longer body), at most
    /// <see cref="MaxInitialBufferBytes"/>, so that headers alone (a large <c>Content-Length</c> and no data) cannot make
    /// the server reserve up to <see cref="MultimodalServerOptions.MaxRequestBodyBytes"/> per connection.</summary>
    internal static int InitialBufferLength(long? contentLength, long maxBytes)
    {
        var wanted = contentLength is { } declared ? Math.Min(declared + 1, MaxInitialBufferBytes) : 16 * 1024;
        return (int)Math.Max(Math.Min(wanted, maxBytes + 1), 256);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
