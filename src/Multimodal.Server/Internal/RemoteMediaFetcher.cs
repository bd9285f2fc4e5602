// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using Microsoft.Extensions.Options;

namespace Multimodal.Server.Internal;

/// <summary>Downloads <c>http(s)</c> media URLs when <see cref="MultimodalServerOptions.AllowRemoteMediaUrls"/> is on, within a size and a time limit.</summary>
internal sealed class RemoteMediaFetcher : IDisposable
{
    private readonly MultimodalServerOptions _options;
    private readonly Lazy<HttpClient> _client;

    public RemoteMediaFetcher(IOptions<MultimodalServerOptions> options)
    {
        _options = options.Value;
        _client = new Lazy<HttpClient>(
            () => new HttpClient(
                new SocketsHttpHandler
                {
                    AllowAutoRedirect = true,
                    MaxAutomaticRedirections = 5,
                    AutomaticDecompression = DecompressionMethods.All,
                    PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                    ConnectTimeout = _options.RemoteMediaTimeout,
                })
            {
                Timeout = Timeout.InfiniteTimeSpan,
                MaxResponseContentBufferSize = (int)_options.MaxRemoteMediaBytes,
            },
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Downloads one URL.</summary>
    /// <param name="url">An absolute http or https URL.</param>
    /// <param name="param">The request member, for error messages.</param>
    /// <param name="cancellationToken">The request's token.</param>
    /// <returns>The bytes and the response's media type.</returns>
    /// <exception cref="ApiError">400: the download failed, timed out, or is too large.</exception>
    public async Task<(ReadOnlyMemory<byte> Bytes, string? MediaType)> FetchAsync(Uri url, string param, CancellationToken cancellationToken)
    {
        var limit = _options.MaxRemoteMediaBytes;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RemoteMediaTimeout);
        try
        {
            using var response = await _client.Value.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw ApiError.BadRequest($"Downloading {param} ({url}) failed: the remote server answered {(int)response.StatusCode} {response.ReasonPhrase}.", param, "remote_media_failed");
            }

            if (response.Content.Headers.ContentLength > limit)
            {
                throw TooLarge(url, param, limit);
            }

            var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var copy = new MemoryStream();
                var buffer = new byte[81920];
                int read;
                while ((read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false)) > 0)
                {
                    if (copy.Length + read > limit)
                    {
                        throw TooLarge(url, param, limit);
                    }

                    copy.Write(buffer, 0, read);
                }

                if (copy.Length == 0)
                {
                    throw ApiError.BadRequest($"Downloading {param} ({url}) returned no data.", param, "remote_media_failed");
                }

                return (copy.GetBuffer().AsMemory(0, (int)copy.Length), response.Content.Headers.ContentType?.MediaType?.ToLowerInvariant());
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw ApiError.BadRequest($"Downloading {param} ({url}) took longer than {_options.RemoteMediaTimeout.TotalSeconds:0.#} s (RemoteMediaTimeout).", param, "remote_media_timeout");
        }
        catch (HttpRequestException ex)
        {
            throw ApiError.BadRequest($"Downloading {param} ({url}) failed: {ex.Message}", param, "remote_media_failed");
        }
    }

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }

    private static ApiError TooLarge(Uri url, string param, long limit) =>
        ApiError.BadRequest($"{param} ({url}) is larger than {limit} bytes (MaxRemoteMediaBytes).", param, "remote_media_too_large");
}
