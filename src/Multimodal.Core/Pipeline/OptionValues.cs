// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Text.Json;

namespace Multimodal;

/// <summary>Reads values of family options (<see cref="GenerationOptions.AdditionalProperties"/>), which arrive as CLR
/// numbers, invariant-culture strings or <see cref="JsonElement"/>s depending on whether they came from code,
/// configuration binding or a JSON request.</summary>
public static class OptionValues
{
    /// <summary>Converts an option value to a number.</summary>
    /// <param name="value">The value: any CLR number, a string in invariant culture, or a JSON number.</param>
    /// <param name="result">The number.</param>
    /// <returns>Whether the value is a number.</returns>
    public static bool TryConvertToDouble(object? value, out double result)
    {
        switch (value)
        {
            case double d:
                result = d;
                return true;
            case float or decimal or int or long or short or byte or sbyte or ushort or uint or ulong:
                result = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                return true;
            case string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed):
                result = parsed;
                return true;
            case JsonElement { ValueKind: JsonValueKind.Number } e:
                result = e.GetDouble();
                return true;
            default:
                result = 0;
                return false;
        }
    }
}
