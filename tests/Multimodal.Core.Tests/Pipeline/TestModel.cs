// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.TestDoubles;

namespace Multimodal.Pipeline;

/// <summary>A model assembled from the test doubles: it answers with a scripted text, then EOS.</summary>
internal sealed class TestModel
{
    public TestModel(string answer = "ok", int contextLength = 4096)
    {
        Tokenizer = new TestTokenizer();
        Decoder = new TestLanguageDecoder(Tokenizer.VocabularySize, contextLength);
        Encoder = new TestVisionEncoder();
        Template = new TestPromptTemplate();
        ImageDecoder = new TestImageDecoder();
        var script = System.Text.Encoding.UTF8.GetBytes(answer).Select(b => (int)b).ToArray();
        Decoder.NextLogits = history =>
        {
            // The answer starts after the last ':' of the prompt ("ASSISTANT:"), so it repeats on every request.
            var start = history.Count - 1 - history.AsEnumerable().Reverse().TakeWhile(id => id != ':').Count();
            var step = history.Count - 1 - start;
            var next = step < script.Length ? script[step] : TestTokenizer.Eos;
            return TestLanguageDecoder.OneHot(Tokenizer.VocabularySize, next);
        };
    }

    public TestTokenizer Tokenizer { get; }

    public TestLanguageDecoder Decoder { get; }

    public TestVisionEncoder Encoder { get; }

    public TestPromptTemplate Template { get; }

    public TestImageDecoder ImageDecoder { get; }

    public MultimodalModelBuilder Builder() => new MultimodalModelBuilder()
        .UseModelId("test-model")
        .UseTokenizer(Tokenizer)
        .UseLanguageDecoder(Decoder)
        .UseVisionEncoder(Encoder)
        .UsePromptTemplate(Template)
        .UseImageDecoder(ImageDecoder)
        .UseImageProcessor(new NormalizingImageProcessor([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]));

    public MultimodalModel Build() => Builder().Build();
}
