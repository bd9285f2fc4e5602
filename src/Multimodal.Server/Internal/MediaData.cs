// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Multimodal.Server.Internal;

/// <summary>Decodes media sent inline: base64 <c>data:</c> URLs and raw base64, straight from the request's UTF-8 bytes.</summary>
internal static class MediaData
{
    private static readonly SearchValues<char> SchemeChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");

    /// <summary>What kind of reference a URL string is.</summary>
    public enum UrlKind
    {
        /// <summary>A <c>data:</c> URL.</summary>
        Data,

        /// <summary>An <c>http:</c> or <c>https:</c> URL.</summary>
        Http,

        /// <summary>Another scheme (<c>file:</c>, <c>ftp:</c>, …).</summary>
        OtherScheme,

        /// <summary>No scheme at all (for example raw base64).</summary>
        NoScheme,
    }

    /// <summary>Classifies a URL by its scheme, reading only its first characters.</summary>
    /// <param name="value">A JSON string.</param>
    /// <param name="scheme">The scheme, lower case, or <see langword="null"/> when there is none.</param>
    public static UrlKind Classify(JsonElement value, out string? scheme)
    {
        var raw = RawString(value);
        var head = Encoding.UTF8.GetString(raw[..Math.Min(raw.Length, 40)]);
        var colon = head.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !char.IsAsciiLetter(head[0]) || head.AsSpan(0, colon).ContainsAnyExcept(SchemeChars))
        {
            scheme = null;
            return UrlKind.NoScheme;
        }

        scheme = head[..colon].ToLowerInvariant();
        return scheme switch
        {
            "data" => UrlKind.Data,
            "http" or "https" => UrlKind.Http,
            _ => UrlKind.OtherScheme,
        };
    }

    /// <summary>Decodes a <c>data:[media type][;parameters];base64,&lt;data&gt;</c> URL.</summary>
    /// <param name="value">The JSON string holding the URL.</param>
    /// <param name="param">The request member, for error messages.</param>
    /// <param name="mediaType">The declared media type, or <see langword="null"/> when the URL declares none.</param>
    /// <returns>The decoded bytes.</returns>
    /// <exception cref="ApiError">The URL is not a base64 data URL, or its data is empty or not base64.</exception>
    public static ReadOnlyMemory<byte> DecodeDataUrl(JsonElement value, string param, out string? mediaType)
    {
        var raw = RawString(value);
        var comma = raw.IndexOf((byte)',');
        if (comma < 0 || raw.Length < 5 || !Ascii.EqualsIgnoreCase(raw[..5], "data:"u8))
        {
            throw ApiError.BadRequest($"{param} is not a valid data: URL; expected data:<media type>;base64,<data>.", param, "invalid_data_url");
        }

        var header = Encoding.UTF8.GetString(raw[5..comma]);
        var segments = header.Split(';');
        if (!segments[^1].Trim().Equals("base64", StringComparison.OrdinalIgnoreCase))
        {
            throw ApiError.BadRequest($"{param} must be base64-encoded (data:<media type>;base64,<data>).", param, "invalid_data_url");
        }

        var type = segments[0].Trim();
        mediaType = type.Length == 0 || segments.Length == 1 ? null : type.ToLowerInvariant();
        return DecodeBase64(raw[(comma + 1)..], param);
    }

    /// <summary>Decodes a JSON string that holds raw base64 (no <c>data:</c> prefix).</summary>
    /// <exception cref="ApiError">The data is empty or not base64.</exception>
    public static ReadOnlyMemory<byte> DecodeRawBase64(JsonElement value, string param)
    {
        return DecodeBase64(RawString(value), param);
    }

    /// <summary>Gets a JSON string's UTF-8 bytes without allocating a .NET string when it has no escapes.</summary>
    private static ReadOnlySpan<byte> RawString(JsonElement value)
    {
        // The raw value includes the quotes. Base64 has no characters JSON must escape, but some writers escape '/' as "\/".
        var raw = JsonMarshal.GetRawUtf8Value(value)[1..^1];
        return raw.IndexOf((byte)'\\') >= 0 ? Encoding.UTF8.GetBytes(value.GetString()!) : raw;
    }

    private static ReadOnlyMemory<byte> DecodeBase64(ReadOnlySpan<byte> base64, string param)
    {
        if (base64.Trim(" \t\r\n"u8).IsEmpty)
        {
            throw ApiError.BadRequest($"{param} has no data.", param, "invalid_base64");
        }

        var bytes = new byte[Base64.GetMaxDecodedFromUtf8Length(base64.Length)];
        var status = Base64.DecodeFromUtf8(base64, bytes, out _, out var written);
        if (status == OperationStatus.Done)
        {
            return bytes.AsMemory(0, written);
        }

        // Line breaks or spaces inside the data (MIME-style base64): the slower decoder skips them.
        if (Base64.IsValid(base64, out var decodedLength))
        {
            var fallback = new byte[decodedLength];
            if (Convert.TryFromBase64String(Encoding.ASCII.GetString(base64), fallback, out written))
            {
                return fallback.AsMemory(0, written);
            }
        }

        throw ApiError.BadRequest($"{param} is not valid base64.", param, "invalid_base64");
    }
}
