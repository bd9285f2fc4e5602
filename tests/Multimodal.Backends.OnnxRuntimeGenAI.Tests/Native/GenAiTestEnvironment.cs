// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Multimodal.Backends.OnnxRuntime;
using Multimodal.Testing;

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>The one place the tests point the native-library options at <c>.tools/native/linux-x64</c>, and the tiny model with its goldens.</summary>
internal static class GenAiTestEnvironment
{
    private static readonly Lock s_lock = new();
    private static bool s_configured;
    private static GenAiGoldens? s_goldens;

    /// <summary>Gets the folder with <c>libonnxruntime.so.1</c> and <c>libonnxruntime-genai.so</c> (eng/native/fetch-onnxruntime.sh).</summary>
    public static string NativeDirectory { get; } = RepositoryPaths.Combine(".tools", "native", "linux-x64");

    /// <summary>Gets the tiny model built by eng/onnx/make_genai_test_models.py.</summary>
    public static string ModelDirectory { get; } = RepositoryPaths.Combine("tests", "data", "genai", "tiny-vlm");

    /// <summary>Gets the numpy goldens of the tiny model.</summary>
    public static GenAiGoldens Goldens
    {
        get
        {
            lock (s_lock)
            {
                return s_goldens ??= GenAiGoldens.Load(Path.Combine(ModelDirectory, "goldens.json"));
            }
        }
    }

    /// <summary>Adds <see cref="NativeDirectory"/> to the ONNX Runtime and GenAI options before anything loads; call it first in every test class.</summary>
    public static void EnsureConfigured()
    {
        lock (s_lock)
        {
            if (s_configured)
            {
                return;
            }

            if (!File.Exists(Path.Combine(NativeDirectory, "libonnxruntime-genai.so")) || !File.Exists(Path.Combine(NativeDirectory, "libonnxruntime.so.1")))
            {
                throw new InvalidOperationException(
                    $"The native libraries are missing from {NativeDirectory}; run 'bash eng/native/fetch-onnxruntime.sh' (or eng/bootstrap.sh).");
            }

            // ONNX Runtime is loaded first (GenAI reuses it); both look in the same folder.
            if (!OnnxRuntimeLibraryOptions.Shared.IsFrozen)
            {
                OnnxRuntimeLibraryOptions.Shared.AddSearchDirectory(NativeDirectory);
            }

            if (!OnnxRuntimeGenAILibraryOptions.Shared.IsFrozen)
            {
                OnnxRuntimeGenAILibraryOptions.Shared.AddSearchDirectory(NativeDirectory);
            }

            s_configured = true;
        }
    }

    /// <summary>Opens the tiny model (loading the libraries on first use).</summary>
    /// <returns>The model.</returns>
    public static GenAiModel OpenModel()
    {
        EnsureConfigured();
        return GenAiModel.FromDirectory(ModelDirectory);
    }

    /// <summary>Creates a greedy generator.</summary>
    /// <param name="model">The model.</param>
    /// <param name="maxLength">The search's <c>max_length</c>, or null for the config's.</param>
    /// <returns>The generator.</returns>
    public static GenAiGenerator CreateGenerator(GenAiModel model, int? maxLength = null)
    {
        using var parameters = new GenAiGeneratorParams(model);
        parameters.SetSearchOption("do_sample", false);
        if (maxLength is { } length)
        {
            parameters.SetSearchOption("max_length", length);
        }

        return new GenAiGenerator(model, parameters);
    }

    /// <summary>Runs a prompt: with images through <c>SetInputs</c> (input_ids int32 [1, S], pixel_values [K, H], num_image_tokens int64), otherwise through <c>AppendTokens</c>.</summary>
    /// <param name="generator">A fresh generator.</param>
    /// <param name="ids">The prompt, with one placeholder per visual row.</param>
    /// <param name="images">Each image's visual rows [k, H], in placeholder order.</param>
    public static void Prefill(GenAiGenerator generator, IReadOnlyList<int> ids, IReadOnlyList<float[][]> images)
    {
        if (images.Count == 0)
        {
            generator.AppendTokens([.. ids]);
            return;
        }

        var hidden = images[0][0].Length;
        float[] rows = [.. images.SelectMany(image => image).SelectMany(row => row)];
        long[] counts = [.. images.Select(image => (long)image.Length)];
        using var inputIds = GenAiTensor.Create<int>([.. ids], [1, ids.Count]);
        using var pixels = GenAiTensor.Create<float>(rows, [rows.Length / hidden, hidden]);
        using var numImageTokens = GenAiTensor.Create<long>(counts, [counts.Length]);
        using var inputs = new GenAiNamedTensors();
        inputs.Set("input_ids", inputIds);
        inputs.Set("pixel_values", pixels);
        inputs.Set("num_image_tokens", numImageTokens);
        generator.SetInputs(inputs);
    }

    /// <summary>Reads the generator's logits.</summary>
    /// <param name="generator">The generator.</param>
    /// <returns>A new array of vocabulary size.</returns>
    public static float[] Logits(GenAiGenerator generator)
    {
        var buffer = new float[Goldens.VocabSize + 8];
        var count = generator.CopyLogits(buffer);
        Assert.Equal(Goldens.VocabSize, count);
        return buffer[..count];
    }

    /// <summary>Asserts that logits match a golden row within the tolerance.</summary>
    /// <param name="expected">The numpy row.</param>
    /// <param name="actual">GenAI's row.</param>
    /// <param name="what">Where in the scenario, for the message.</param>
    /// <param name="tolerance">The largest allowed absolute difference.</param>
    public static void AssertLogits(IReadOnlyList<float> expected, IReadOnlyList<float> actual, string what, float tolerance = GenAiGoldens.Tolerance)
    {
        Assert.Equal(expected.Count, actual.Count);
        var worst = 0f;
        var at = -1;
        for (var i = 0; i < expected.Count; i++)
        {
            var difference = MathF.Abs(expected[i] - actual[i]);
            if (difference > worst)
            {
                worst = difference;
                at = i;
            }
        }

        Assert.True(worst <= tolerance, $"{what}: logits differ by {worst:g4} at id {at} (expected {(at < 0 ? 0 : expected[at])}, got {(at < 0 ? 0 : actual[at])}); tolerance {tolerance:g4}.");
    }
}

/// <summary>Runs every GenAI test class one at a time and alone: GenAI's API is not thread-safe, and the leak test measures the process.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GenAiCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "ONNX Runtime GenAI";
}

/// <summary>The numpy reference of eng/onnx/make_genai_test_models.py (goldens.json).</summary>
/// <param name="VocabSize">The logits width.</param>
/// <param name="HiddenSize">The width of a visual row.</param>
/// <param name="ImageTokenId">The placeholder id.</param>
/// <param name="Scenarios">The scenarios by name.</param>
internal sealed record GenAiGoldens(int VocabSize, int HiddenSize, int ImageTokenId, IReadOnlyDictionary<string, GenAiScenario> Scenarios)
{
    /// <summary>The absolute logit tolerance: numpy computes in float64, ONNX Runtime in float32.</summary>
    public const float Tolerance = 1e-4f;

    /// <summary>Reads the file.</summary>
    /// <param name="path">goldens.json.</param>
    /// <returns>The goldens.</returns>
    public static GenAiGoldens Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        var scenarios = new Dictionary<string, GenAiScenario>(StringComparer.Ordinal);
        foreach (var scenario in root.GetProperty("scenarios").EnumerateObject())
        {
            var images = scenario.Value.GetProperty("images").EnumerateArray()
                .Select(image => image.EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray())
                .ToArray();
            var turns = scenario.Value.GetProperty("turns").EnumerateArray()
                .Select(turn => new GenAiTurn(
                    [.. turn.GetProperty("input_ids").EnumerateArray().Select(v => v.GetInt32())],
                    [.. turn.GetProperty("tokens").EnumerateArray().Select(v => v.GetInt32())],
                    [.. turn.GetProperty("logits").EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray())]))
                .ToArray();
            scenarios[scenario.Name] = new GenAiScenario(scenario.Name, images, turns);
        }

        return new GenAiGoldens(
            root.GetProperty("vocab_size").GetInt32(),
            root.GetProperty("hidden_size").GetInt32(),
            root.GetProperty("image_token_id").GetInt32(),
            scenarios);
    }
}

/// <summary>One golden conversation.</summary>
/// <param name="Name">The scenario's name.</param>
/// <param name="Images">Every image's visual rows, in placeholder order over the whole conversation.</param>
/// <param name="Turns">The turns.</param>
internal sealed record GenAiScenario(string Name, float[][][] Images, GenAiTurn[] Turns)
{
    /// <summary>Gets the images whose placeholders appear in the first <paramref name="turnCount"/> turns' inputs.</summary>
    /// <param name="turnCount">How many turns.</param>
    /// <param name="imageTokenId">The placeholder id.</param>
    /// <returns>The images, in order.</returns>
    public float[][][] ImagesUpTo(int turnCount, int imageTokenId)
    {
        var placeholders = Turns.Take(turnCount).Sum(t => t.InputIds.Count(id => id == imageTokenId));
        var result = new List<float[][]>();
        var rows = 0;
        foreach (var image in Images)
        {
            if (rows + image.Length > placeholders)
            {
                break;
            }

            result.Add(image);
            rows += image.Length;
        }

        return [.. result];
    }

    /// <summary>Gets the whole conversation up to the start of a turn's generation: every earlier turn's input and tokens, then this turn's input.</summary>
    /// <param name="turn">The turn index.</param>
    /// <returns>The token ids.</returns>
    public int[] HistoryThrough(int turn) =>
        [.. Turns.Take(turn).SelectMany(t => t.InputIds.Concat(t.Tokens)), .. Turns[turn].InputIds];
}

/// <summary>One golden turn.</summary>
/// <param name="InputIds">The ids appended at the start of the turn.</param>
/// <param name="Tokens">The ids chosen in the turn (greedy, or forced).</param>
/// <param name="Logits">For each chosen id, the logits it was chosen from.</param>
internal sealed record GenAiTurn(int[] InputIds, int[] Tokens, float[][] Logits);
