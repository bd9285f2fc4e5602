// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Multimodal.Interop;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>Binds <see cref="OnnxRuntimeBackendOptions"/> (and the library location) from a configuration section, checking every value and naming the key of each bad one.</summary>
/// <remarks>
/// The binder (source-generated, so trimming- and AOT-safe) fills plain settings classes whose properties are all
/// optional; the values are then checked and copied onto the options, so that a key left out keeps the option's
/// default and a bad value is reported with its full configuration path instead of surfacing from a setter or at load.
/// Unknown keys are errors too: a misspelt key would otherwise be ignored without a word.
/// </remarks>
internal static class OnnxRuntimeConfiguration
{
    /// <summary>The keys of the backend section.</summary>
    private static readonly string[] s_backendKeys =
    [
        nameof(OnnxRuntimeBackendOptions.OnnxFolder), nameof(OnnxRuntimeBackendOptions.Variant), nameof(OnnxRuntimeBackendOptions.FileVariants),
        nameof(OnnxRuntimeBackendOptions.Session), nameof(OnnxRuntimeBackendOptions.VisionBatchSize), nameof(OnnxRuntimeBackendOptions.LoadVisionEncoder),
        nameof(OnnxRuntimeBackendSettings.NativeLibraryDirectory), nameof(OnnxRuntimeBackendSettings.NativeLibraryPath),
    ];

    /// <summary>The keys of a session section.</summary>
    private static readonly string[] s_sessionKeys =
    [
        nameof(OnnxRuntimeSessionOptions.IntraOpThreads), nameof(OnnxRuntimeSessionOptions.InterOpThreads),
        nameof(OnnxRuntimeSessionOptions.GraphOptimizationLevel), nameof(OnnxRuntimeSessionOptions.ExecutionProvider),
        nameof(OnnxRuntimeSessionOptions.CudaDeviceId), nameof(OnnxRuntimeSessionOptions.CudaMemoryLimitBytes),
        nameof(OnnxRuntimeSessionOptions.EnableMemoryPattern), nameof(OnnxRuntimeSessionOptions.EnableCpuMemoryArena),
        nameof(OnnxRuntimeSessionOptions.ConfigEntries),
    ];

    /// <summary>The graphs <see cref="OnnxRuntimeBackendOptions.FileVariants"/> may name.</summary>
    private static readonly string[] s_graphs = [OnnxModelFiles.VisionEncoder, OnnxModelFiles.EmbedTokens, OnnxModelFiles.Decoder];

    /// <summary>Binds backend options from a section, and applies its native-library keys to <see cref="OnnxRuntimeLibraryOptions.Shared"/>.</summary>
    /// <param name="configuration">The section (for example <c>Multimodal:OnnxRuntime</c>).</param>
    /// <returns>New options: the defaults, overridden by every key present.</returns>
    /// <exception cref="OptionsValidationException">A key is unknown or a value is invalid; the message names every such key.</exception>
    /// <exception cref="InvalidOperationException">A native-library key asks for a change after ONNX Runtime has loaded.</exception>
    public static OnnxRuntimeBackendOptions Bind(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var failures = new List<string>();
        var options = new OnnxRuntimeBackendOptions();
        CheckKeys(configuration, s_backendKeys, failures);
        var settings = Get(configuration, static c => c.Get<OnnxRuntimeBackendSettings>(), failures);
        if (settings is not null)
        {
            if (settings.OnnxFolder is { } folder && CheckFolder(configuration, nameof(OnnxRuntimeBackendOptions.OnnxFolder), folder, failures))
            {
                options.OnnxFolder = folder;
            }

            if (settings.Variant is { } variant && CheckVariant(configuration, nameof(OnnxRuntimeBackendOptions.Variant), variant, failures))
            {
                options.Variant = variant.Length == 0 ? null : variant;
            }

            BindFileVariants(configuration, settings.FileVariants, options, failures);
            if (settings.VisionBatchSize is { } batch && CheckAtLeast(configuration, nameof(OnnxRuntimeBackendOptions.VisionBatchSize), batch, 1, failures))
            {
                options.VisionBatchSize = batch;
            }

            if (settings.LoadVisionEncoder is { } loadVision)
            {
                options.LoadVisionEncoder = loadVision;
            }

            CheckLibraryKeys(configuration, settings.NativeLibraryDirectory, settings.NativeLibraryPath, failures);
        }

        BindSession(configuration.GetSection(nameof(OnnxRuntimeBackendOptions.Session)), options.Session, failures);
        ThrowIfFailed(configuration, typeof(OnnxRuntimeBackendOptions), failures);

        // Only a valid section touches the process-wide library options.
        ApplyLibraryKeys(configuration, settings?.NativeLibraryDirectory, settings?.NativeLibraryPath);
        return options;
    }

    /// <summary>Binds a session section (<see cref="OnnxRuntimeSessionOptions"/>) onto existing options, collecting what is wrong.</summary>
    /// <param name="section">The section; a missing one changes nothing.</param>
    /// <param name="target">The options to set.</param>
    /// <param name="failures">Receives one message per bad key.</param>
    internal static void BindSession(IConfigurationSection section, OnnxRuntimeSessionOptions target, List<string> failures)
    {
        if (!section.Exists())
        {
            return;
        }

        CheckKeys(section, s_sessionKeys, failures);
        var settings = Get(section, static c => c.Get<OnnxRuntimeSessionSettings>(), failures);
        if (settings is null)
        {
            return;
        }

        if (settings.IntraOpThreads is { } intra && CheckAtLeast(section, nameof(OnnxRuntimeSessionOptions.IntraOpThreads), intra, 0, failures))
        {
            target.IntraOpThreads = intra;
        }

        if (settings.InterOpThreads is { } inter && CheckAtLeast(section, nameof(OnnxRuntimeSessionOptions.InterOpThreads), inter, 0, failures))
        {
            target.InterOpThreads = inter;
        }

        if (ParseEnum<OnnxRuntimeGraphOptimizationLevel>(section, nameof(OnnxRuntimeSessionOptions.GraphOptimizationLevel), settings.GraphOptimizationLevel, failures) is { } level)
        {
            target.GraphOptimizationLevel = level;
        }

        if (ParseEnum<OnnxRuntimeExecutionProvider>(section, nameof(OnnxRuntimeSessionOptions.ExecutionProvider), settings.ExecutionProvider, failures) is { } provider)
        {
            target.ExecutionProvider = provider;
        }

        if (settings.CudaDeviceId is { } device && CheckAtLeast(section, nameof(OnnxRuntimeSessionOptions.CudaDeviceId), device, 0, failures))
        {
            target.CudaDeviceId = device;
        }

        if (settings.CudaMemoryLimitBytes is { } limit && CheckAtLeast(section, nameof(OnnxRuntimeSessionOptions.CudaMemoryLimitBytes), limit, 1, failures))
        {
            target.CudaMemoryLimitBytes = limit;
        }

        if (settings.EnableMemoryPattern is { } pattern)
        {
            target.EnableMemoryPattern = pattern;
        }

        if (settings.EnableCpuMemoryArena is { } arena)
        {
            target.EnableCpuMemoryArena = arena;
        }

        foreach (var (key, value) in settings.ConfigEntries ?? [])
        {
            if (value is null || value.Contains('\0', StringComparison.Ordinal) || key.Contains('\0', StringComparison.Ordinal))
            {
                failures.Add($"{KeyPath(section, nameof(OnnxRuntimeSessionOptions.ConfigEntries))}:{key} must be a string without NUL characters.");
                continue;
            }

            target.ConfigEntries[key] = value;
        }
    }

    /// <summary>Reports every child of a section whose key is not one of <paramref name="known"/> (compared ignoring case, as configuration keys are).</summary>
    /// <param name="section">The section.</param>
    /// <param name="known">The keys the section may have.</param>
    /// <param name="failures">Receives one message per unknown key.</param>
    internal static void CheckKeys(IConfiguration section, IReadOnlyCollection<string> known, List<string> failures)
    {
        foreach (var child in section.GetChildren())
        {
            if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                failures.Add($"{child.Path} is not a known key; the section accepts {string.Join(", ", known)}.");
            }
        }
    }

    /// <summary>Binds a settings class with the binder, turning a value it cannot convert into a failure that names the key.</summary>
    /// <typeparam name="T">The settings class.</typeparam>
    /// <param name="section">The section.</param>
    /// <param name="bind">Calls the binder with the concrete type (the source generator binds only non-generic call sites).</param>
    /// <param name="failures">Receives the binder's message.</param>
    /// <returns>The settings (empty for a missing section), or <see langword="null"/> when a value could not be converted.</returns>
    internal static T? Get<T>(IConfiguration section, Func<IConfiguration, T?> bind, List<string> failures)
        where T : class, new()
    {
        try
        {
            return bind(section) ?? new T();
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the full key and the type ("Failed to convert configuration value at 'A:B' to type 'System.Int32'.").
            failures.Add(ex.Message);
            return null;
        }
    }

    /// <summary>Checks a folder value: not blank, no NUL character.</summary>
    /// <returns>Whether it is valid.</returns>
    internal static bool CheckFolder(IConfiguration section, string key, string value, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Contains('\0', StringComparison.Ordinal))
        {
            failures.Add($"{KeyPath(section, key)} must be a folder path (relative to the model folder, or absolute); it is '{value}'.");
            return false;
        }

        return true;
    }

    /// <summary>Checks that a number is at least <paramref name="minimum"/>.</summary>
    /// <returns>Whether it is valid.</returns>
    internal static bool CheckAtLeast(IConfiguration section, string key, long value, long minimum, List<string> failures)
    {
        if (value < minimum)
        {
            failures.Add($"{KeyPath(section, key)} must be {minimum} or more; it is {value}.");
            return false;
        }

        return true;
    }

    /// <summary>Parses an enum value by name (ignoring case), accepting only defined values.</summary>
    /// <returns>The value, or <see langword="null"/> when the key is absent or invalid.</returns>
    internal static TEnum? ParseEnum<TEnum>(IConfiguration section, string key, string? value, List<string> failures)
        where TEnum : struct, Enum
    {
        if (value is null)
        {
            return null;
        }

        // One name only: Enum.TryParse also takes numbers ("7", undefined) and lists ("Cpu, Cuda").
        var name = Enum.GetNames<TEnum>().FirstOrDefault(n => string.Equals(n, value.Trim(), StringComparison.OrdinalIgnoreCase));
        if (name is not null)
        {
            return Enum.Parse<TEnum>(name);
        }

        failures.Add($"{KeyPath(section, key)} must be one of {string.Join(", ", Enum.GetNames<TEnum>())}; it is '{value}'.");
        return null;
    }

    /// <summary>Checks the native-library keys (<c>NativeLibraryDirectory</c>, <c>NativeLibraryPath</c>): not blank, no NUL character.</summary>
    internal static void CheckLibraryKeys(IConfiguration section, string? directory, string? path, List<string> failures)
    {
        if (directory is not null && (string.IsNullOrWhiteSpace(directory) || directory.Contains('\0', StringComparison.Ordinal)))
        {
            failures.Add($"{KeyPath(section, nameof(OnnxRuntimeBackendSettings.NativeLibraryDirectory))} must be a folder path; it is '{directory}'.");
        }

        if (path is not null && (string.IsNullOrWhiteSpace(path) || path.Contains('\0', StringComparison.Ordinal)))
        {
            failures.Add($"{KeyPath(section, nameof(OnnxRuntimeBackendSettings.NativeLibraryPath))} must be the path of the library file; it is '{path}'.");
        }
    }

    /// <summary>Adds a search directory to process-wide library options unless it is there already (so that binding the same section twice is harmless).</summary>
    /// <param name="section">The section, for messages.</param>
    /// <param name="options">The shared options.</param>
    /// <param name="directory">The folder.</param>
    /// <param name="add">Adds it (the options' own <c>AddSearchDirectory</c>).</param>
    /// <exception cref="InvalidOperationException">The options are frozen and do not have the folder.</exception>
    internal static void AddSearchDirectory(IConfiguration section, NativeLibraryOptions options, string directory, Action<string> add)
    {
        var full = Path.GetFullPath(directory);
        if (options.SearchDirectories.Any(d => string.Equals(Path.GetFullPath(d), full, StringComparison.Ordinal)))
        {
            return;
        }

        try
        {
            add(directory);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"{KeyPath(section, nameof(OnnxRuntimeBackendSettings.NativeLibraryDirectory))} ('{directory}') cannot be applied: {ex.Message}", ex);
        }
    }

    /// <summary>Sets an explicit library path on process-wide options unless it is set already.</summary>
    /// <param name="section">The section, for messages.</param>
    /// <param name="current">The path set now.</param>
    /// <param name="path">The path from configuration.</param>
    /// <param name="set">Sets it.</param>
    /// <exception cref="InvalidOperationException">The options are frozen with another path.</exception>
    internal static void SetLibraryPath(IConfiguration section, string? current, string path, Action<string> set)
    {
        if (current is not null && string.Equals(Path.GetFullPath(current), Path.GetFullPath(path), StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            set(path);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"{KeyPath(section, nameof(OnnxRuntimeBackendSettings.NativeLibraryPath))} ('{path}') cannot be applied: {ex.Message}", ex);
        }
    }

    /// <summary>Throws when anything was reported.</summary>
    /// <exception cref="OptionsValidationException"><paramref name="failures"/> is not empty.</exception>
    internal static void ThrowIfFailed(IConfiguration section, Type optionsType, List<string> failures)
    {
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(section is IConfigurationSection s ? s.Path : string.Empty, optionsType, failures);
        }
    }

    /// <summary>Gets the full configuration path of a key in a section, as messages name it.</summary>
    internal static string KeyPath(IConfiguration section, string key) =>
        section is IConfigurationSection { Path.Length: > 0 } s ? ConfigurationPath.Combine(s.Path, key) : key;

    private static bool CheckVariant(IConfiguration section, string key, string value, List<string> failures)
    {
        // The variant becomes part of a file name (decoder_model_merged_<variant>.onnx): no separators, no "..".
        if (value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') && !value.Contains("..", StringComparison.Ordinal))
        {
            return true;
        }

        failures.Add($"{KeyPath(section, key)} must be a file-name suffix of letters, digits, '_', '-' and '.' (for example q4, fp16 or quantized); it is '{value}'.");
        return false;
    }

    private static void BindFileVariants(IConfiguration section, Dictionary<string, string?>? variants, OnnxRuntimeBackendOptions options, List<string> failures)
    {
        foreach (var (key, value) in variants ?? [])
        {
            var path = KeyPath(section, nameof(OnnxRuntimeBackendOptions.FileVariants)) + ":" + key;
            var graph = s_graphs.FirstOrDefault(g => string.Equals(g, key, StringComparison.OrdinalIgnoreCase));
            if (graph is null)
            {
                failures.Add($"{path} names no graph; FileVariants keys are {string.Join(", ", s_graphs)}.");
                continue;
            }

            if (CheckVariant(section, $"{nameof(OnnxRuntimeBackendOptions.FileVariants)}:{key}", value ?? string.Empty, failures))
            {
                options.FileVariants[graph] = value ?? string.Empty;
            }
        }
    }

    private static void ApplyLibraryKeys(IConfiguration section, string? directory, string? path)
    {
        var shared = OnnxRuntimeLibraryOptions.Shared;
        if (directory is not null)
        {
            AddSearchDirectory(section, shared, directory, d => shared.AddSearchDirectory(d));
        }

        if (path is not null)
        {
            SetLibraryPath(section, shared.OnnxRuntimePath, path, p => shared.OnnxRuntimePath = p);
        }
    }
}

/// <summary>The keys of an ONNX Runtime backend section, all optional, as the binder fills them.</summary>
internal sealed class OnnxRuntimeBackendSettings
{
    /// <summary>Gets or sets <see cref="OnnxRuntimeBackendOptions.OnnxFolder"/>.</summary>
    public string? OnnxFolder { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeBackendOptions.Variant"/>.</summary>
    public string? Variant { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeBackendOptions.FileVariants"/>.</summary>
    public Dictionary<string, string?>? FileVariants { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeBackendOptions.VisionBatchSize"/>.</summary>
    public int? VisionBatchSize { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeBackendOptions.LoadVisionEncoder"/>.</summary>
    public bool? LoadVisionEncoder { get; set; }

    /// <summary>Gets or sets a folder added to <see cref="Interop.NativeLibraryOptions.SearchDirectories"/> of <see cref="OnnxRuntimeLibraryOptions.Shared"/>.</summary>
    public string? NativeLibraryDirectory { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeLibraryOptions.OnnxRuntimePath"/> of <see cref="OnnxRuntimeLibraryOptions.Shared"/>.</summary>
    public string? NativeLibraryPath { get; set; }
}

/// <summary>The keys of a session section (<see cref="OnnxRuntimeSessionOptions"/>), all optional, as the binder fills them; enums stay text so that a bad name gets our message.</summary>
internal sealed class OnnxRuntimeSessionSettings
{
    /// <summary>Gets or sets <see cref="OnnxRuntimeSessionOptions.IntraOpThreads"/>.</summary>
    public int? IntraOpThreads { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeSessionOptions.InterOpThreads"/>.</summary>
    public int? InterOpThreads { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeSessionOptions.GraphOptimizationLevel"/> by name.</summary>
    public string? GraphOptimizationLevel { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeSessionOptions.ExecutionProvider"/> by name.</summary>
    public string? ExecutionProvider { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeSessionOptions.CudaDeviceId"/>.</summary>
    public int? CudaDeviceId { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeSessionOptions.CudaMemoryLimitBytes"/>.</summary>
    public long? CudaMemoryLimitBytes { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeSessionOptions.EnableMemoryPattern"/>.</summary>
    public bool? EnableMemoryPattern { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeSessionOptions.EnableCpuMemoryArena"/>.</summary>
    public bool? EnableCpuMemoryArena { get; set; }

    /// <summary>Gets or sets the entries added to <see cref="OnnxRuntimeSessionOptions.ConfigEntries"/>.</summary>
    public Dictionary<string, string?>? ConfigEntries { get; set; }
}
