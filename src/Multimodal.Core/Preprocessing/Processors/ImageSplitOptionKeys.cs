// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Text.Json;

namespace Multimodal.Preprocessing;

/// <summary>The per-request option keys the family preprocessors read from <see cref="IImageSplitter.Split"/>'s options.</summary>
/// <remarks>
/// <para>The names are the reference code's own keyword arguments. A preprocessor ignores keys it does not use, so one
/// options dictionary can be shared by several families.</para>
/// <para>Values may be CLR values (<see cref="int"/>, <see cref="long"/>, <see cref="bool"/>), their invariant-culture
/// strings (<c>"4"</c>, <c>"true"</c>), or <see cref="JsonElement"/> numbers and booleans, as configuration binding or a
/// JSON request produces them; <see langword="null"/> means "use the default".</para>
/// </remarks>
public static class ImageSplitOptionKeys
{
    /// <summary>MiniCPM-V's <c>max_slice_nums</c> (an integer ≥ 1): the most slices <c>slice_image</c> may cut; the model config's value (9) by default.</summary>
    public const string MaxSliceNums = "max_slice_nums";

    /// <summary>MiniCPM-V's <c>never_split</c> (a boolean): only the source view, upscaled or downscaled to about 448²; <see langword="false"/> by default.</summary>
    public const string NeverSplit = "never_split";

    /// <summary>Aria's <c>max_image_size</c> (a size the model's projector supports: 490 or 980 for the reference): the side of every crop; the processor's value (980 for the reference) by default.</summary>
    public const string MaxImageSize = "max_image_size";

    /// <summary>Aria's <c>split_image</c> (a boolean): tile the image with the global crop first; <see langword="false"/> by default, as in the reference.</summary>
    public const string SplitImage = "split_image";

    /// <summary>What is being split (a <see cref="VisualInputKind"/>): the pipeline sets it, so that a family can split PDF pages differently from photos (Aria splits pages by default).</summary>
    public const string MediaKind = "media_kind";

    /// <summary>Reads an integer option.</summary>
    /// <param name="options">The options, or <see langword="null"/>.</param>
    /// <param name="key">The key.</param>
    /// <param name="defaultValue">The value when the key is absent or <see langword="null"/>.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentException">The value is not an integer.</exception>
    internal static int GetInt32(IReadOnlyDictionary<string, object?>? options, string key, int defaultValue)
    {
        if (options is null || !options.TryGetValue(key, out var value) || value is null)
        {
            return defaultValue;
        }

        switch (value)
        {
            case int i:
                return i;
            case long or short or byte or sbyte or ushort or uint or ulong:
                var wide = Convert.ToDecimal(value, CultureInfo.InvariantCulture);
                if (wide >= int.MinValue && wide <= int.MaxValue)
                {
                    return (int)wide;
                }

                break;
            case double or float or decimal:
                var d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (d == Math.Floor(d) && d >= int.MinValue && d <= int.MaxValue)
                {
                    return (int)d;
                }

                break;
            case string s when int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed):
                return parsed;
            case JsonElement { ValueKind: JsonValueKind.Number } e when e.TryGetInt32(out var fromJson):
                return fromJson;
            case JsonElement { ValueKind: JsonValueKind.Null }:
                return defaultValue;
        }

        throw new ArgumentException($"Option '{key}' must be an integer; got {Describe(value)}.", "options");
    }

    /// <summary>Reads a boolean option.</summary>
    /// <param name="options">The options, or <see langword="null"/>.</param>
    /// <param name="key">The key.</param>
    /// <param name="defaultValue">The value when the key is absent or <see langword="null"/>.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentException">The value is not a boolean.</exception>
    internal static bool GetBoolean(IReadOnlyDictionary<string, object?>? options, string key, bool defaultValue)
    {
        if (options is null || !options.TryGetValue(key, out var value) || value is null)
        {
            return defaultValue;
        }

        switch (value)
        {
            case bool b:
                return b;
            case string s when bool.TryParse(s.Trim(), out var parsed):
                return parsed;
            case JsonElement { ValueKind: JsonValueKind.True }:
                return true;
            case JsonElement { ValueKind: JsonValueKind.False }:
                return false;
            case JsonElement { ValueKind: JsonValueKind.Null }:
                return defaultValue;
        }

        throw new ArgumentException($"Option '{key}' must be a boolean; got {Describe(value)}.", "options");
    }

    private static string Describe(object value) =>
        string.Create(CultureInfo.InvariantCulture, $"{value} ({value.GetType().Name})");
}
