// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;

namespace Multimodal.Server.Internal;

/// <summary>The web chat page: the files of <c>wwwroot/</c>, embedded in the assembly as <c>wwwroot/&lt;path&gt;</c> resources.</summary>
/// <remarks>Files are read once and kept in memory (they are small); each has a strong ETag, so browsers revalidate
/// (<c>Cache-Control: no-cache</c>) and get 304 while the server's version is unchanged.</remarks>
internal sealed class ChatPageFiles
{
    internal const string ResourcePrefix = "wwwroot/";

    private readonly Dictionary<string, StaticFile> _files;

    private ChatPageFiles(Dictionary<string, StaticFile> files) => _files = files;

    /// <summary>The page's Content-Security-Policy: its own files only, attachments previewed from data: and blob: URLs,
    /// requests to this server only, no framing.</summary>
    internal const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' data: blob:; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>Gets the files of this assembly, loaded once.</summary>
    public static ChatPageFiles Instance { get; } = Load(typeof(ChatPageFiles).Assembly);

    /// <summary>Gets the paths served (relative, with forward slashes).</summary>
    public IEnumerable<string> Paths => _files.Keys;

    public static ChatPageFiles Load(Assembly assembly)
    {
        var types = new FileExtensionContentTypeProvider();
        var files = new Dictionary<string, StaticFile>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            // MSBuild's %(RecursiveDir) uses the build machine's separator.
            var path = name.Replace('\\', '/');
            if (!path.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            path = path[ResourcePrefix.Length..];
            using var stream = assembly.GetManifestResourceStream(name)!;
            var content = new byte[stream.Length];
            stream.ReadExactly(content);
            var contentType = types.TryGetContentType(path, out var type) ? type : "application/octet-stream";
            if (contentType.StartsWith("text/", StringComparison.Ordinal) || contentType is "application/javascript" or "application/json" or "image/svg+xml")
            {
                contentType += "; charset=utf-8";
            }

            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 16)) + "\"";
            files[path] = new StaticFile(content, contentType, etag);
        }

        return new ChatPageFiles(files);
    }

    /// <summary>Serves one file, or 404.</summary>
    /// <param name="context">The request.</param>
    /// <param name="path">The path below <c>/</c> (<c>index.html</c> for <c>/</c>).</param>
    public async Task ServeAsync(HttpContext context, string path)
    {
        var response = context.Response;
        if (!_files.TryGetValue(path, out var file))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        response.Headers.CacheControl = "no-cache";
        response.Headers.ETag = file.ETag;
        response.Headers.XContentTypeOptions = "nosniff";

        // The page loads only its own files; attachments are previewed from data: URLs; requests go to this server only.
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers["Referrer-Policy"] = "no-referrer";
        var ifNoneMatch = context.Request.Headers.IfNoneMatch;
        if (ifNoneMatch.Count > 0 && EntityTagHeaderValue.TryParseList(ifNoneMatch, out var tags)
            && tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || string.Equals(t.Tag.Value, file.ETag, StringComparison.Ordinal)))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = file.ContentType;
        response.ContentLength = file.Content.Length;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        await response.Body.WriteAsync(file.Content, context.RequestAborted).ConfigureAwait(false);
    }

    private sealed record StaticFile(byte[] Content, string ContentType, string ETag);
}
