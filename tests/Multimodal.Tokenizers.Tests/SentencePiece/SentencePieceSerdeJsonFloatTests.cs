// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Text;

namespace Multimodal.Tokenizers;

/// <summary>serde_json's (non-round-trip) float parsing, which Hugging Face tokenizers use for tokenizer.json scores.</summary>
public sealed class SentencePieceSerdeJsonFloatTests
{
    [Theory]

    // Values observed from Hugging Face tokenizers 0.23.2 (read, then saved again): one ULP off the correctly rounded value.
    [InlineData("-3.2421531677246094", "-3.24215316772461")]
    [InlineData("-7.9326653480529785", "-7.932665348052979")]
    [InlineData("-9.029059410095215", "-9.029059410095217")]
    [InlineData("-10.711343765258789", "-10.711343765258787")]

    // Where the fast path is exact.
    [InlineData("-3.4779295921325684", "-3.4779295921325684")]
    [InlineData("0.5", "0.5")]
    [InlineData("1E2", "100")]
    [InlineData("1.5e-3", "0.0015")]
    [InlineData("123", "123")]
    [InlineData("-42", "-42")]
    [InlineData("18446744073709551615", "1.8446744073709552E+19")]
    [InlineData("18446744073709551616", "1.8446744073709552E+19")]
    public void TryParse_ReproducesSerdeJson(string text, string expected)
    {
        Assert.True(SerdeJsonFloat.TryParse(Encoding.ASCII.GetBytes(text), out var value));

        Assert.Equal(double.Parse(expected, CultureInfo.InvariantCulture), value);
    }

    [Fact]
    public void TryParse_KeepsTheSignOfZero()
    {
        Assert.True(SerdeJsonFloat.TryParse("-0"u8, out var negativeZero));
        Assert.True(double.IsNegative(negativeZero));
        Assert.True(SerdeJsonFloat.TryParse("0.0"u8, out var zero));
        Assert.False(double.IsNegative(zero));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("01")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData("1e")]
    [InlineData("1e+")]
    [InlineData("1x")]
    [InlineData("1e400")]
    [InlineData("NaN")]
    public void TryParse_RejectsWhatSerdeJsonRejects(string text)
    {
        Assert.False(SerdeJsonFloat.TryParse(Encoding.ASCII.GetBytes(text), out _));
    }
}
