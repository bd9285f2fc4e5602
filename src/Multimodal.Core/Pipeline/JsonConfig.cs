// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;

namespace Multimodal;

/// <summary>Typed reads of Hugging Face JSON configuration (<c>config.json</c>, <c>preprocessor_config.json</c>, <c>generation_config.json</c>) for family packages.</summary>
/// <remarks>A missing key (or JSON <c>null</c>) gives the fallback; a key of the wrong type throws <see cref="ModelLoadException"/> naming the key.</remarks>
public static class JsonConfig
{
    /// <summary>Reads a JSON file of a model folder.</summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="fileName">The file, relative to the folder.</param>
    /// <returns>The root element, or <see langword="null"/> when the file does not exist.</returns>
    /// <exception cref="ModelLoadException">The file is not valid JSON.</exception>
    public static JsonElement? ReadFile(string folder, string fileName)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(fileName);
        var path = Path.Combine(folder, fileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            return doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException($"'{path}' is not valid JSON (line {ex.LineNumber + 1}): {ex.Message}", folder, ex);
        }
    }

    /// <summary>Gets a nested object, or <see langword="null"/>.</summary>
    /// <param name="element">The object.</param>
    /// <param name="key">The key.</param>
    /// <returns>The nested object, or <see langword="null"/> when absent.</returns>
    public static JsonElement? Section(this JsonElement element, string key) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;

    /// <summary>Tells whether a key is present and not null.</summary>
    /// <param name="element">The object.</param>
    /// <param name="key">The key.</param>
    /// <returns>Whether it is present.</returns>
    public static bool Has(this JsonElement element, string key) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>Reads a string.</summary>
    /// <param name="element">The object.</param>
    /// <param name="key">The key.</param>
    /// <param name="fallback">The value when absent.</param>
    /// <returns>The value.</returns>
    public static string? String(this JsonElement element, string key, string? fallback = null) =>
        Get(element, key) is { } v ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw Wrong(key, "a string", v) : fallback;

    /// <summary>Reads an integer.</summary>
    /// <param name="element">The object.</param>
    /// <param name="key">The key.</param>
    /// <param name="fallback">The value when absent.</param>
    /// <returns>The value.</returns>
    public static int Int(this JsonElement element, string key, int fallback) =>
        Get(element, key) is { } v ? v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw Wrong(key, "an integer", v) : fallback;

    /// <summary>Reads a number.</summary>
    /// <param name="element">The object.</param>
    /// <param name="key">The key.</param>
    /// <param name="fallback">The value when absent.</param>
    /// <returns>The value.</returns>
    public static double Double(this JsonElement element, string key, double fallback) =>
        Get(element, key) is { } v ? v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw Wrong(key, "a number", v) : fallback;

    /// <summary>Reads a boolean.</summary>
    /// <param name="element">The object.</param>
    /// <param name="key">The key.</param>
    /// <param name="fallback">The value when absent.</param>
    /// <returns>The value.</returns>
    public static bool Bool(this JsonElement element, string key, bool fallback) =>
        Get(element, key) is { } v ? v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => throw Wrong(key, "true or false", v) } : fallback;

    /// <summary>Reads a list of numbers.</summary>
    /// <param name="element">The object.</param>
    /// <param name="key">The key.</param>
    /// <returns>The values, or <see langword="null"/> when absent.</returns>
    public static double[]? Doubles(this JsonElement element, string key) =>
        Get(element, key) is { } v
            ? v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number)
                ? [.. v.EnumerateArray().Select(e => e.GetDouble())]
                : throw Wrong(key, "a list of numbers", v)
            : null;

    /// <summary>Reads an integer or a list of integers as a list (for example <c>eos_token_id</c>).</summary>
    /// <param name="element">The object.</param>
    /// <param name="key">The key.</param>
    /// <returns>The values (empty when absent).</returns>
    public static int[] Ints(this JsonElement element, string key) =>
        Get(element, key) is { } v
            ? v.ValueKind == JsonValueKind.Number ? [v.GetInt32()]
            : v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number) ? [.. v.EnumerateArray().Select(e => e.GetInt32())]
            : throw Wrong(key, "an integer or a list of integers", v)
            : [];

    /// <summary>Reads an image size that is either a number or an object with <c>shortest_edge</c>, <c>height</c> or the given key (preprocessor configs write both).</summary>
    /// <param name="element">The object.</param>
    /// <param name="key">The key, for example <c>crop_size</c>.</param>
    /// <param name="fallback">The value when absent.</param>
    /// <returns>The size in pixels.</returns>
    public static int Size(this JsonElement element, string key, int fallback)
    {
        if (Get(element, key) is not { } v)
        {
            return fallback;
        }

        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n))
        {
            return n;
        }

        if (v.ValueKind == JsonValueKind.Object)
        {
            foreach (var inner in new[] { "shortest_edge", "height", "width" })
            {
                if (v.TryGetProperty(inner, out var s) && s.ValueKind == JsonValueKind.Number)
                {
                    return s.GetInt32();
                }
            }
        }

        throw Wrong(key, "a size (a number or {\"height\", \"width\"} / {\"shortest_edge\"})", v);
    }

    private static JsonElement? Get(JsonElement element, string key) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private static ModelLoadException Wrong(string key, string expected, JsonElement actual) =>
        new($"Configuration key '{key}' must be {expected}; it is {actual.GetRawText()}.");
}
