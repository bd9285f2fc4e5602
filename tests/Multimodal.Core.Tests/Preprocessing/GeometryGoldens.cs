// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;

namespace Multimodal.Preprocessing;

/// <summary>Loads tests/data/images/geometry/&lt;family&gt;.jsonl (written by eng/images/family_geometry.py) and runs a check over every size.</summary>
internal static class GeometryGoldens
{
    /// <summary>The least number of sizes each golden file must hold.</summary>
    public const int MinimumSizes = 5000;

    /// <summary>Gets the repository root (the folder with Multimodal.Core.sln).</summary>
    public static string RepositoryRoot => Multimodal.Testing.RepositoryPaths.Root;

    /// <summary>Reads a golden file: its header record and its per-size rows.</summary>
    public static (JsonElement Header, IReadOnlyList<JsonElement> Rows) Load(string family)
    {
        var path = Path.Combine(RepositoryRoot, "tests", "data", "images", "geometry", family + ".jsonl");
        Assert.True(File.Exists(path), $"Golden file '{path}' is missing; run /usr/bin/python3 eng/images/family_geometry.py.");
        JsonElement? header = null;
        var rows = new List<JsonElement>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0)
            {
                continue;
            }

            var element = JsonDocument.Parse(line).RootElement;
            if (element.TryGetProperty("header", out var h))
            {
                header = h;
            }
            else
            {
                rows.Add(element);
            }
        }

        Assert.True(header.HasValue, $"{path} has no header line.");
        Assert.Equal(header!.Value.GetProperty("count").GetInt32(), rows.Count);
        return (header.Value, rows);
    }

    /// <summary>Runs <paramref name="check"/> on every row and fails with the first mismatching size; returns a one-line summary.</summary>
    public static string RunAll(string family, string what, Action<JsonElement, GoldenCheck> check)
    {
        var (_, rows) = Load(family);
        Assert.True(rows.Count >= MinimumSizes, $"{family}: only {rows.Count} sizes (need {MinimumSizes}).");
        var failures = 0;
        string? first = null;
        foreach (var row in rows)
        {
            var size = new PixelSize(row.GetProperty("w").GetInt32(), row.GetProperty("h").GetInt32());
            var context = new GoldenCheck(size);
            try
            {
                check(row, context);
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                context.Fail("exception", "no exception", ex.GetType().Name + ": " + ex.Message);
            }

            if (context.FirstFailure is not null)
            {
                failures++;
                first ??= context.FirstFailure;
            }
        }

        Assert.True(failures == 0, $"{family}/{what}: {failures} of {rows.Count} sizes differ from the reference; first mismatch: {first}");
        return $"{family}/{what}: {rows.Count}/{rows.Count} sizes identical to the reference";
    }

    /// <summary>Reads an int array.</summary>
    public static int[] Ints(JsonElement element) => [.. element.EnumerateArray().Select(e => e.GetInt32())];

    /// <summary>Reads [w, h].</summary>
    public static PixelSize Size(JsonElement element) => new(element[0].GetInt32(), element[1].GetInt32());

    /// <summary>Reads [l, t, r, b].</summary>
    public static PixelBox Box(JsonElement element) => new(element[0].GetInt32(), element[1].GetInt32(), element[2].GetInt32(), element[3].GetInt32());

    /// <summary>Reads [x, y].</summary>
    public static PixelOffset Offset(JsonElement element) => new(element[0].GetInt32(), element[1].GetInt32());

    /// <summary>Reads [cols, rows], or null.</summary>
    public static GridShape? Grid(JsonElement element) =>
        element.ValueKind == JsonValueKind.Null ? null : new GridShape(element[0].GetInt32(), element[1].GetInt32());

    /// <summary>The order-sensitive box checksum family_geometry.py's box_checksum computes.</summary>
    public static long Checksum(IEnumerable<PixelBox> boxes) =>
        boxes.Select((b, i) => (i + 1L) * (b.Left + (3L * b.Top) + (7L * b.Right) + (11L * b.Bottom))).Sum();
}

/// <summary>Collects the first mismatch of one golden row.</summary>
internal sealed class GoldenCheck(PixelSize size)
{
    /// <summary>Gets the size the row is about.</summary>
    public PixelSize Size { get; } = size;

    /// <summary>Gets the first mismatch, or null.</summary>
    public string? FirstFailure { get; private set; }

    /// <summary>Records a mismatch when the values differ.</summary>
    public void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            Fail(what, expected, actual);
        }
    }

    /// <summary>Records a mismatch when the sequences differ.</summary>
    public void SequenceEqual<T>(IEnumerable<T> expected, IEnumerable<T> actual, string what)
    {
        var e = expected.ToArray();
        var a = actual.ToArray();
        if (!e.SequenceEqual(a))
        {
            Fail(what, "[" + string.Join(", ", e) + "]", "[" + string.Join(", ", a) + "]");
        }
    }

    /// <summary>Records a mismatch.</summary>
    public void Fail(string what, object? expected, object? actual) =>
        FirstFailure ??= $"size {Size}: {what}: expected {expected}, got {actual}";
}
