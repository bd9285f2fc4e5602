// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Multimodal.Backends.Remote.Internal;

/// <summary>Binds <see cref="RemoteChatClientOptions"/> from a configuration section by hand (no reflection, so trimming- and
/// AOT-safe), naming the full key of every value it cannot use.</summary>
/// <remarks>
/// Keys left out keep their defaults. Unknown keys are errors, because a misspelt key would otherwise be ignored without
/// a word. Durations use the <c>hh:mm:ss</c> form (<c>00:00:30</c>); a bare number is refused because .NET would read it
/// as days. The <c>ExtraBody</c> section becomes JSON: a section whose keys are 0, 1, 2… becomes an array, other sections
/// objects, and values that read as JSON numbers, <c>true</c>, <c>false</c> or <c>null</c> are sent as such, everything
/// else as strings.
/// </remarks>
internal static class RemoteConfiguration
{
    private static readonly string[] Keys =
    [
        nameof(RemoteChatClientOptions.Endpoint), nameof(RemoteChatClientOptions.Model), nameof(RemoteChatClientOptions.ApiKey),
        nameof(RemoteChatClientOptions.Timeout), nameof(RemoteChatClientOptions.MaxRetries), nameof(RemoteChatClientOptions.InitialBackoff),
        nameof(RemoteChatClientOptions.MaxBackoff), nameof(RemoteChatClientOptions.PdfMode), nameof(RemoteChatClientOptions.PdfZoom),
        nameof(RemoteChatClientOptions.LabelPdfPages), nameof(RemoteChatClientOptions.VideoMode), nameof(RemoteChatClientOptions.VideoFrames),
        nameof(RemoteChatClientOptions.LabelVideoFrames), nameof(RemoteChatClientOptions.MaxImagesPerRequest), nameof(RemoteChatClientOptions.ExtraBody),
    ];

    /// <summary>Applies a section's values to options.</summary>
    /// <param name="section">The section (for example <c>Multimodal:Remote</c>).</param>
    /// <param name="options">The options to set.</param>
    /// <param name="optionsName">The options name, for the exception.</param>
    /// <exception cref="OptionsValidationException">A key is unknown or a value cannot be read; the message names every such key.</exception>
    public static void Bind(IConfiguration section, RemoteChatClientOptions options, string optionsName)
    {
        var failures = new List<string>();
        foreach (var child in section.GetChildren())
        {
            var key = Keys.FirstOrDefault(k => string.Equals(k, child.Key, StringComparison.OrdinalIgnoreCase));
            if (key is null)
            {
                failures.Add($"{child.Path} is not a known key; the section accepts {string.Join(", ", Keys)}.");
                continue;
            }

            if (key == nameof(RemoteChatClientOptions.ExtraBody))
            {
                foreach (var field in child.GetChildren())
                {
                    options.ExtraBody[field.Key] = ToJson(field);
                }

                continue;
            }

            var value = child.Value;
            if (value is null)
            {
                failures.Add($"{child.Path} must be a value, not a section.");
                continue;
            }

            var ok = key switch
            {
                nameof(RemoteChatClientOptions.Endpoint) => Set(Uri.TryCreate(value, UriKind.RelativeOrAbsolute, out var uri), () => options.Endpoint = uri),
                nameof(RemoteChatClientOptions.Model) => Set(true, () => options.Model = value),
                nameof(RemoteChatClientOptions.ApiKey) => Set(true, () => options.ApiKey = value.Length == 0 ? null : value),
                nameof(RemoteChatClientOptions.Timeout) => Duration(value, t => options.Timeout = t),
                nameof(RemoteChatClientOptions.InitialBackoff) => Duration(value, t => options.InitialBackoff = t),
                nameof(RemoteChatClientOptions.MaxBackoff) => Duration(value, t => options.MaxBackoff = t),
                nameof(RemoteChatClientOptions.MaxRetries) => Int(value, n => options.MaxRetries = n),
                nameof(RemoteChatClientOptions.VideoFrames) => Int(value, n => options.VideoFrames = n),
                nameof(RemoteChatClientOptions.MaxImagesPerRequest) => Int(value, n => options.MaxImagesPerRequest = n),
                nameof(RemoteChatClientOptions.PdfZoom) => Set(double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var zoom), () => options.PdfZoom = zoom),
                nameof(RemoteChatClientOptions.LabelPdfPages) => Set(bool.TryParse(value, out var labelPages), () => options.LabelPdfPages = labelPages),
                nameof(RemoteChatClientOptions.LabelVideoFrames) => Set(bool.TryParse(value, out var labelFrames), () => options.LabelVideoFrames = labelFrames),
                nameof(RemoteChatClientOptions.PdfMode) => Set(Enum.TryParse<RemotePdfMode>(value, ignoreCase: true, out var pdfMode) && Enum.IsDefined(pdfMode) && !IsNumber(value), () => options.PdfMode = pdfMode),
                nameof(RemoteChatClientOptions.VideoMode) => Set(Enum.TryParse<RemoteVideoMode>(value, ignoreCase: true, out var videoMode) && Enum.IsDefined(videoMode) && !IsNumber(value), () => options.VideoMode = videoMode),
                _ => false,
            };

            if (!ok)
            {
                failures.Add($"{child.Path} = '{value}' is not valid: {Expected(key)}.");
            }
        }

        if (failures.Count > 0)
        {
            throw new OptionsValidationException(optionsName, typeof(RemoteChatClientOptions), failures);
        }
    }

    private static bool Set(bool parsed, Action apply)
    {
        if (parsed)
        {
            apply();
        }

        return parsed;
    }

    private static bool Duration(string value, Action<TimeSpan> apply)
    {
        if (IsNumber(value) || !TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span))
        {
            return false;
        }

        apply(span);
        return true;
    }

    private static bool Int(string value, Action<int> apply)
    {
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }

        apply(n);
        return true;
    }

    private static bool IsNumber(string value) => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static string Expected(string key) => key switch
    {
        nameof(RemoteChatClientOptions.Endpoint) => "expected an address such as http://localhost:8000/v1",
        nameof(RemoteChatClientOptions.Timeout) or nameof(RemoteChatClientOptions.InitialBackoff) or nameof(RemoteChatClientOptions.MaxBackoff) => "expected a duration as hh:mm:ss, such as 00:00:30",
        nameof(RemoteChatClientOptions.PdfZoom) => "expected a number such as 2",
        nameof(RemoteChatClientOptions.LabelPdfPages) or nameof(RemoteChatClientOptions.LabelVideoFrames) => "expected true or false",
        nameof(RemoteChatClientOptions.PdfMode) => "expected Images or PassThrough",
        nameof(RemoteChatClientOptions.VideoMode) => "expected Images or PassThrough",
        _ => "expected a whole number",
    };

    /// <summary>Turns a configuration section into JSON.</summary>
    private static JsonNode? ToJson(IConfigurationSection section)
    {
        var children = section.GetChildren().ToList();
        if (children.Count == 0)
        {
            return Leaf(section.Value);
        }

        var isArray = children
            .Select(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : -1)
            .OrderBy(i => i)
            .SequenceEqual(Enumerable.Range(0, children.Count));
        if (isArray)
        {
            var array = new JsonArray();
            foreach (var child in children.OrderBy(c => int.Parse(c.Key, CultureInfo.InvariantCulture)))
            {
                array.Add(ToJson(child));
            }

            return array;
        }

        var obj = new JsonObject();
        foreach (var child in children)
        {
            obj[child.Key] = ToJson(child);
        }

        return obj;
    }

    private static JsonNode? Leaf(string? value)
    {
        if (value is null or "null")
        {
            return null;
        }

        if (value is "true" or "false")
        {
            return JsonValue.Create(value == "true");
        }

        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
        {
            return JsonValue.Create(whole);
        }

        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
        {
            return JsonValue.Create(number);
        }

        return JsonValue.Create(value);
    }
}
