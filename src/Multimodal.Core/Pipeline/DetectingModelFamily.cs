// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>A family that picks one of several installed families from the model folder's <c>config.json</c> when the model loads.</summary>
/// <remarks>Use it when the folder is chosen at run time (a command-line argument, configuration):
/// <c>builder.UseFamily(new DetectingModelFamily([llava, longVa, ...]))</c>. The first family whose
/// <see cref="IModelFamily.CanLoad"/> accepts the folder configures the load.</remarks>
public sealed class DetectingModelFamily : IModelFamily
{
    private readonly IReadOnlyList<IModelFamily> _families;

    /// <summary>Initializes the detector.</summary>
    /// <param name="families">The installed families, in the order they are asked.</param>
    public DetectingModelFamily(IEnumerable<IModelFamily> families)
    {
        ArgumentNullException.ThrowIfNull(families);
        _families = [.. families];
        if (_families.Count == 0)
        {
            throw new ArgumentException("At least one family is needed.", nameof(families));
        }
    }

    /// <inheritdoc />
    public string Name => "auto(" + string.Join("|", _families.Select(f => f.Name)) + ")";

    /// <summary>Gets the installed families.</summary>
    public IReadOnlyList<IModelFamily> Families => _families;

    /// <inheritdoc />
    public bool CanLoad(ModelFolder folder) => _families.Any(f => f.CanLoad(folder));

    /// <summary>Finds the family of a folder.</summary>
    /// <param name="path">The model folder.</param>
    /// <returns>The family.</returns>
    /// <exception cref="ModelLoadException">The folder is missing, has no valid config.json, or no installed family recognises it.</exception>
    public IModelFamily Detect(string path) => ModelFolder.Open(path).DetectFamily(_families);

    /// <inheritdoc />
    public ValueTask ConfigureAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var path = context.ModelPath ?? throw new ModelLoadException("Detecting the model family needs a model folder; set ModelPath.");
        return Detect(path).ConfigureAsync(context, cancellationToken);
    }
}
