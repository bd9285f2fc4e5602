// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Testing;

namespace Multimodal.Models.Tests;

/// <summary>A backend that records the load context the family configured, then stops the load.</summary>
internal sealed class CapturingBackend : IModelBackend
{
    public string Name => "capture";

    public ModelLoadContext? Context { get; private set; }

    public ValueTask LoadAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        Context = context;
        throw new StopLoadException();
    }

    /// <summary>Loads <paramref name="builder"/>'s model up to the backend and returns the captured context.</summary>
    public static async Task<ModelLoadContext> ConfigureAsync(MultimodalModelBuilder builder)
    {
        var backend = new CapturingBackend();
        await using var model = builder.UseBackend(backend).Build();
        await Assert.ThrowsAsync<StopLoadException>(() => model.LoadAsync());
        return Assert.IsType<ModelLoadContext>(backend.Context);
    }

    /// <summary>Thrown by <see cref="LoadAsync"/>; a <see cref="MultimodalException"/> so that the model passes it on unwrapped.</summary>
    internal sealed class StopLoadException : MultimodalException
    {
        public StopLoadException()
            : base("Stopped after the family configured the load.")
        {
        }
    }
}

/// <summary>A family that sets values on the load context first and then lets another family configure it, as a
/// family registered in front of it would.</summary>
internal sealed class PresettingFamily(IModelFamily inner, Action<ModelLoadContext> preset) : IModelFamily
{
    public string Name => inner.Name;

    public bool CanLoad(ModelFolder folder) => inner.CanLoad(folder);

    public ValueTask ConfigureAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        preset(context);
        return inner.ConfigureAsync(context, cancellationToken);
    }
}

/// <summary>A temporary model folder: a config.json (and optional preprocessor_config.json) plus, optionally, a tokenizer copied from models/.</summary>
internal sealed class TempModelFolder : IDisposable
{
    public TempModelFolder(string configJson, string? tokenizerFrom = null, string? preprocessorJson = null)
    {
        Path = Directory.CreateTempSubdirectory("mm-family-").FullName;
        Write("config.json", configJson);
        if (preprocessorJson is not null)
        {
            Write("preprocessor_config.json", preprocessorJson);
        }

        if (tokenizerFrom is not null)
        {
            CopyTokenizer(tokenizerFrom, Path);
        }
    }

    public string Path { get; }

    /// <summary>Writes (or overwrites) a file under the folder, creating its subfolders; <paramref name="relativePath"/>
    /// may name one, as in <c>visual_encoder/config.json</c>.</summary>
    /// <returns>The file's full path.</returns>
    public string Write(string relativePath, string text)
    {
        var path = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Copies files of another folder (a checkpoint's configs, say) to the same relative paths under this one.</summary>
    public void CopyFrom(string sourceFolder, params string[] relativePaths)
    {
        foreach (var relative in relativePaths)
        {
            Write(relative, File.ReadAllText(System.IO.Path.Combine(sourceFolder, relative)));
        }
    }

    /// <summary>Copies the tokenizer files (only those) of a bundled model into a folder.</summary>
    public static void CopyTokenizer(string model, string destination)
    {
        string[] names = ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"];
        foreach (var name in names)
        {
            var source = RepositoryPaths.Combine("models", model, name);
            if (File.Exists(source))
            {
                File.Copy(source, System.IO.Path.Combine(destination, name));
            }
        }
    }

    public ModelFolder Open() => ModelFolder.Open(Path);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder does not fail a test.
        }
    }
}

/// <summary>Test images.</summary>
internal static class TestImages
{
    /// <summary>An RGB image with a horizontal gradient, so that resizing has something to resample.</summary>
    public static ImageFrame Rgb(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = ((y * width) + x) * 3;
                pixels[i] = (byte)(x * 255 / Math.Max(1, width - 1));
                pixels[i + 1] = (byte)(y * 255 / Math.Max(1, height - 1));
                pixels[i + 2] = 128;
            }
        }

        return new ImageFrame(width, height, ImagePixelFormat.Rgb24, pixels);
    }
}

/// <summary>A backend with fakes in place of weights: an encoder giving <c>tokensPerView</c> rows per view and recording
/// its calls, and a decoder recording its input and answering with EOS at once; for pipeline tests of the families'
/// splitters, processors, templates and load steps.</summary>
internal sealed class FakeBackend(int tokensPerView, int hiddenSize = 8) : IModelBackend
{
    public string Name => "fake";

    public RecordingEncoder Encoder { get; } = new(tokensPerView, hiddenSize);

    public RecordingDecoder? Decoder { get; private set; }

    public ValueTask LoadAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        var tokenizer = context.Tokenizer ?? throw new InvalidOperationException("The family set no tokenizer.");
        Decoder = new RecordingDecoder(tokenizer.VocabularySize, hiddenSize, tokenizer.SpecialTokens.EosTokenIds[0]);
        context.VisionEncoder = Encoder;
        context.LanguageDecoder = Decoder;
        return ValueTask.CompletedTask;
    }

    internal sealed class RecordingEncoder(int tokensPerView, int hiddenSize) : IVisionEncoder
    {
        public VisionEncoderMetadata Metadata { get; } = new("fake", 0, 14, hiddenSize, tokensPerView);

        public List<(IReadOnlyList<DenseTensor<float>> Views, VisionEncodeOptions? Options)> Calls { get; } = [];

        public ValueTask<IReadOnlyList<DenseTensor<float>>> EncodeAsync(IReadOnlyList<DenseTensor<float>> views, VisionEncodeOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls.Add((views, options));
            return ValueTask.FromResult<IReadOnlyList<DenseTensor<float>>>([.. views.Select(_ => new DenseTensor<float>(tokensPerView, hiddenSize))]);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose()
        {
        }
    }

    internal sealed class RecordingDecoder(int vocabularySize, int hiddenSize, int eosId) : ILanguageDecoder
    {
        public LanguageDecoderMetadata Metadata { get; } = new("fake", vocabularySize, 1 << 20, hiddenSize);

        public List<DecoderInput> Inputs { get; } = [];

        public IDecoderState CreateState() => new State();

        public void Forward(IDecoderState state, DecoderInput input, Span<float> logits, CancellationToken cancellationToken = default)
        {
            Inputs.Add(input);
            ((State)state).Length += input.Length;
            logits.Clear();
            logits[eosId] = 10;
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose()
        {
        }

        private sealed class State : IDecoderState
        {
            public int Length { get; set; }

            public void Truncate(int length) => Length = length;

            public IDecoderState Fork() => new State { Length = Length };

            public void Dispose()
            {
            }
        }
    }
}

/// <summary>A PDF rasteriser that renders every document as the given pages.</summary>
internal sealed class FakePdfRasterizer(params ImageFrame[] pages) : IPdfRasterizer
{
    public async IAsyncEnumerable<RenderedPage> RenderPagesAsync(PdfContent document, double defaultZoom, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        for (var i = 0; i < pages.Length; i++)
        {
            yield return new RenderedPage(i + 1, pages[i]);
        }
    }
}
