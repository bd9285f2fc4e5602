// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;

namespace Multimodal.Tokenizers;

/// <summary>Locations of the committed test data and of the reference files the bootstrap script installs.</summary>
internal static class TestData
{
    /// <summary>Gets the repository root (the folder with Multimodal.Core.sln).</summary>
    public static string RepositoryRoot => Multimodal.Testing.RepositoryPaths.Root;

    /// <summary>Gets the folder of committed tokenizer test data (corpus, goldens, small .model files).</summary>
    public static string Folder => Path.Combine(RepositoryRoot, "tests", "data", "tokenizers");

    /// <summary>Gets the corpus lines.</summary>
    public static IReadOnlyList<string> Corpus { get; } = ReadJsonLines<string>(Path.Combine(Folder, "corpus.jsonl"));

    /// <summary>Gets the npm-installed file <paramref name="relative"/> under .tools/npm/node_modules; fails (never skips) when missing.</summary>
    public static string Npm(string relative)
    {
        var path = Path.Combine(RepositoryRoot, ".tools", "npm", "node_modules", relative);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Reference file '{path}' is missing. Run eng/bootstrap.sh, which installs it from npm.", path);
        }

        return path;
    }

    /// <summary>Reads a JSON-lines file.</summary>
    public static IReadOnlyList<T> ReadJsonLines<T>(string path) =>
        [.. File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<T>(l)!)];
}
