// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using Microsoft.Extensions.Options;

namespace Multimodal.Server.Internal;

/// <summary>Downloads <c>http(s)</c> media URLs when <see cref="MultimodalServerOptions.AllowRemoteMediaUrls"/> is on, within a size and a time limit.</summary>
/// <remarks>Redirects are followed here rather than by the handler, because <see cref="SocketsHttpHandler"/> follows a
/// redirect from <c>http</c> to any scheme (it only refuses <c>https</c> to <c>http</c>): a <c>Location</c> of
/// <c>file:///etc/passwd</c> or <c>ftp://host/</c> would be tried over HTTP. Only <c>http</c> and <c>https</c> targets are
/// followed, never from <c>https</c> down to <c>http</c>, at most <see cref="MaxRedirects"/> times.</remarks>
internal sealed class RemoteMediaFetcher : IDisposable
{
    /// <summary>The most redirects one download follows.</summary>
    internal const int MaxRedirects = 5;

    private readonly MultimodalServerOptions _options;
    private readonly Lazy<HttpClient> _client;

    public RemoteMediaFetcher(IOptions<MultimodalServerOptions> options)
    {
        _options = options.Value;
        _client = new Lazy<HttpClient>(
            () => new HttpClient(
                new SocketsHttpHandler
                {
                    AllowAutoRedirect = false,
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
            using var response = await GetFollowingRedirectsAsync(url, param, timeout.Token).ConfigureAwait(false);
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
        catch (IOException ex)
        {
            // The body broke off (the connection dropped, or the data ended before its Content-Length).
            throw ApiError.BadRequest($"Downloading {param} ({url}) failed while the data arrived: {ex.Message}", param, "remote_media_failed");
        }
    }

    /// <summary>Sends the GET and follows redirects to <c>http(s)</c> addresses.</summary>
    /// <returns>The first response that is not a redirect; the caller disposes it.</returns>
    private async Task<HttpResponseMessage> GetFollowingRedirectsAsync(Uri url, string param, CancellationToken cancellationToken)
    {
        var current = url;
        for (var redirects = 0; ; redirects++)
        {
            var response = await _client.Value.GetAsync(current, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!IsRedirect(response.StatusCode) || response.Headers.Location is not { } location)
            {
                return response;
            }

            response.Dispose();
            if (redirects == MaxRedirects)
            {
                throw ApiError.BadRequest($"Downloading {param} ({url}) failed: more than {MaxRedirects} redirects.", param, "remote_media_failed");
            }

            var next = location.IsAbsoluteUri ? location : new Uri(current, location);
            if (next.Scheme != Uri.UriSchemeHttp && next.Scheme != Uri.UriSchemeHttps)
            {
                throw ApiError.BadRequest($"Downloading {param} ({url}) was redirected to a '{next.Scheme}:' URL, which this server never reads; only http and https redirects are followed.", param, "invalid_url");
            }

            if (current.Scheme == Uri.UriSchemeHttps && next.Scheme == Uri.UriSchemeHttp)
            {
                throw ApiError.BadRequest($"Downloading {param} ({url}) was redirected from https to http, which this server does not follow.", param, "invalid_url");
            }

            current = next;
        }
    }

    private static bool IsRedirect(HttpStatusCode status) =>
        status is HttpStatusCode.MultipleChoices or HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
            or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

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
