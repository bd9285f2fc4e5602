// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Text.Json;

namespace Multimodal.Backends.Managed.Configuration;

/// <summary>A JSON object from a <c>config.json</c>, read with typed accessors whose errors name the file and the key.</summary>
internal sealed class ConfigSection
{
    private readonly JsonElement _element;

    private ConfigSection(JsonElement element, string file, string path)
    {
        _element = element;
        File = file;
        SectionPath = path;
    }

    /// <summary>Gets the file the section comes from.</summary>
    public string File { get; }

    /// <summary>Gets the section's key path (empty for the root).</summary>
    public string SectionPath { get; }

    /// <summary>Reads a config file.</summary>
    /// <param name="file">The path of a JSON file.</param>
    /// <returns>The root object.</returns>
    /// <exception cref="ModelLoadException">The file is missing or is not a JSON object.</exception>
    public static ConfigSection Load(string file)
    {
        if (!System.IO.File.Exists(file))
        {
            throw new ModelLoadException($"'{file}' is missing; a model folder needs its config.json.", file);
        }

        try
        {
            // The document is kept: sections are small and live as long as the model.
            var document = JsonDocument.Parse(System.IO.File.ReadAllBytes(file), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelLoadException($"'{file}' is a JSON {document.RootElement.ValueKind}, not an object.", file);
            }

            return new ConfigSection(document.RootElement, file, string.Empty);
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"'{file}' is not valid JSON: {e.Message}", file, e);
        }
    }

    /// <summary>Parses a JSON object given as text (tests, embedded defaults).</summary>
    /// <param name="json">The JSON.</param>
    /// <param name="file">A name for error messages.</param>
    /// <returns>The root object.</returns>
    public static ConfigSection Parse(string json, string file) => new(JsonDocument.Parse(json).RootElement, file, string.Empty);

    /// <summary>Tells whether a key is present and not null.</summary>
    public bool Has(string key) => _element.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null;

    /// <summary>Returns a nested object, or <see langword="null"/> when absent.</summary>
    public ConfigSection? Section(string key)
    {
        if (!_element.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Object
            ? new ConfigSection(value, File, Qualify(key))
            : throw Fail(key, $"is a {value.ValueKind}; an object was expected");
    }

    /// <summary>Returns a required integer.</summary>
    public int Int(string key) => Get(key, out var value) ? ToInt(key, value) : throw Missing(key);

    /// <summary>Returns an integer or a default.</summary>
    public int Int(string key, int fallback) => Get(key, out var value) ? ToInt(key, value) : fallback;

    /// <summary>Returns a required number.</summary>
    public double Number(string key) => Get(key, out var value) ? ToNumber(key, value) : throw Missing(key);

    /// <summary>Returns a number or a default.</summary>
    public double Number(string key, double fallback) => Get(key, out var value) ? ToNumber(key, value) : fallback;

    /// <summary>Returns a string or a default.</summary>
    public string? String(string key, string? fallback = null)
    {
        if (!Get(key, out var value))
        {
            return fallback;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Fail(key, $"is {value.GetRawText()}; a string was expected");
    }

    /// <summary>Returns a boolean or a default.</summary>
    public bool Bool(string key, bool fallback)
    {
        if (!Get(key, out var value))
        {
            return fallback;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Fail(key, $"is {value.GetRawText()}; true or false was expected"),
        };
    }

    /// <summary>Returns the raw JSON value of a key, or <see langword="null"/>.</summary>
    public JsonElement? Raw(string key) => Get(key, out var value) ? value : null;

    /// <summary>Builds a <see cref="ModelLoadException"/> about a key of this section.</summary>
    public ModelLoadException Fail(string key, string problem) =>
        new($"{System.IO.Path.GetFileName(File)}: \"{Qualify(key)}\" {problem}.", File);

    private bool Get(string key, out JsonElement value) =>
        _element.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null;

    private int ToInt(string key, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var i))
        {
            return i;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue)
        {
            return (int)d;
        }

        throw Fail(key, $"is {value.GetRawText()}; an integer was expected");
    }

    private double ToNumber(string key, JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? value.GetDouble()
        : value.ValueKind == JsonValueKind.String && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed
        : throw Fail(key, $"is {value.GetRawText()}; a number was expected");

    private ModelLoadException Missing(string key) => Fail(key, "is missing");

    private string Qualify(string key) => SectionPath.Length == 0 ? key : SectionPath + "." + key;
}
