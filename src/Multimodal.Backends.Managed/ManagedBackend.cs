// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.Managed;

/// <summary>The managed CPU backend for <see cref="MultimodalModelBuilder.UseBackend"/>: loads the model folder with
/// <see cref="ManagedModel.Load"/> and provides its vision encoder and language decoder.</summary>
/// <param name="options">Quantization and threading options, or <see langword="null"/> for the defaults.</param>
public sealed class ManagedBackend(ManagedModelOptions? options = null) : IModelBackend
{
    /// <inheritdoc />
    public string Name => "managed";

    /// <inheritdoc />
    public ValueTask LoadAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var folder = context.ModelPath ?? throw new ModelLoadException("The managed backend loads weights from a model folder; none was given.");
        cancellationToken.ThrowIfCancellationRequested();
        context.Report("Loading weights (managed)", 0);
#pragma warning disable CA2000 // Ownership passes to the pipeline: disposing its encoder and decoder releases the model.
        var model = ManagedModel.Load(folder, options);
#pragma warning restore CA2000
        context.VisionEncoder = model.VisionEncoder;
        context.LanguageDecoder = model.LanguageDecoder;
        context.Report("Loading weights (managed)", 1);
        return ValueTask.CompletedTask;
    }
}
