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
    /// <exception cref="ApiError">413: the body (by its Content-Length or by what arrived) is over <paramref name="maxBytes"/>.</exception>
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
        var initial = (int)Math.Min(request.ContentLength is { } declared ? declared + 1 : 16 * 1024, maxBytes + 1);
        var buffer = pool.Rent(Math.Max(initial, 256));
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
        finally
        {
            if (buffer is not null)
            {
                pool.Return(buffer);
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
