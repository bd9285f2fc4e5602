// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Testing;

/// <summary>Locates the repository (the folder holding Multimodal.Core.sln) from a test's output folder; compiled into every test project.</summary>
internal static class RepositoryPaths
{
    /// <summary>Gets the repository root.</summary>
    public static string Root { get; } = Find();

    /// <summary>Gets a path under the repository root.</summary>
    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Multimodal.Core.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (Multimodal.Core.sln) above " + AppContext.BaseDirectory);
    }
}
