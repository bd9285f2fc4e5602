// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using Multimodal.Advanced;
using Multimodal.TestDoubles;

namespace Multimodal.Generation;

public class IncrementalDetokenizerTests
{
    [Theory]
    [InlineData("😀")]
    [InlineData("héllo wörld")]
    [InlineData("日本語のテキスト")]
    [InlineData("a😀b🎉c")]
    public void ByteTokens_ProduceNoReplacementCharacter_AndTheExactText(string text)
    {
        var tokenizer = new TestTokenizer();
        var detokenizer = new IncrementalDetokenizer(tokenizer);
        var output = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            var delta = detokenizer.Add(b);
            Assert.DoesNotContain('\uFFFD', delta);
            output.Append(delta);
        }

        output.Append(detokenizer.Flush());
        Assert.Equal(text, output.ToString());
    }

    [Fact]
    public void InvalidBytes_AreReleasedAsReplacementCharacters_InsteadOfBlockingForever()
    {
        var tokenizer = new TestTokenizer();
        var detokenizer = new IncrementalDetokenizer(tokenizer);
        var output = new StringBuilder();

        // 0xFF is never valid UTF-8; the text after it must still stream.
        foreach (var b in new byte[] { 0xFF, (byte)'a', (byte)'b', (byte)'c', (byte)'d', (byte)'e', (byte)'f' })
        {
            output.Append(detokenizer.Add(b));
        }

        output.Append(detokenizer.Flush());
        Assert.Equal("\uFFFDabcdef", output.ToString());
    }

    [Fact]
    public void SpecialTokens_AreSkipped()
    {
        var tokenizer = new TestTokenizer("Hello");
        var detokenizer = new IncrementalDetokenizer(tokenizer);
        var text = detokenizer.Add(TestTokenizer.Bos) + detokenizer.Add(tokenizer.Id("Hello")) + detokenizer.Add(TestTokenizer.Eos) + detokenizer.Flush();
        Assert.Equal("Hello", text);
    }
}
