// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;

namespace Multimodal.Tokenizers;

/// <summary>Loading <c>.model</c> files: valid models, and every kind of malformed file failing with a <see cref="ModelLoadException"/> that names the file.</summary>
public sealed class SentencePieceLoadTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "sp-load-tests-" + Guid.NewGuid().ToString("N"));

    public SentencePieceLoadTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Load_CommittedModels_ReadsTheirSpecs()
    {
        var bpe = SentencePieceTestModels.Bpe;
        Assert.Equal(SentencePieceModelType.Bpe, bpe.ModelType);
        Assert.Equal(2000, bpe.PieceCount);
        Assert.True(bpe.ByteFallback);
        Assert.True(bpe.AddDummyPrefix);

        var unigram = SentencePieceTestModels.Unigram;
        Assert.Equal(SentencePieceModelType.Unigram, unigram.ModelType);
        Assert.Equal(2000, unigram.PieceCount);
        Assert.False(unigram.ByteFallback);
        Assert.True(unigram.AddDummyPrefix);
    }

    [Fact]
    public void Load_EmptyFile_Throws()
    {
        var path = Write("empty.model", []);

        var ex = Assert.Throws<ModelLoadException>(() => SentencePieceProcessor.Load(path));

        Assert.Equal($"'{path}' is not a SentencePiece model: the file is empty", ex.Message);
        Assert.Equal(path, ex.ModelPath);
    }

    [Fact]
    public void Load_MissingFile_ThrowsWithInnerException()
    {
        var path = Path.Combine(_folder, "missing.model");

        var ex = Assert.Throws<ModelLoadException>(() => SentencePieceProcessor.Load(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Equal(path, ex.ModelPath);
        Assert.IsType<FileNotFoundException>(ex.InnerException);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(1000)]
    public void Load_TruncatedModel_ThrowsNamingTheFileAndTheOffset(int length)
    {
        var data = File.ReadAllBytes(SentencePieceTestModels.PathOf("bpe"));
        var path = Write("truncated.model", data[..length]);

        var ex = Assert.Throws<ModelLoadException>(() => SentencePieceProcessor.Load(path));

        Assert.StartsWith($"'{path}' is not a SentencePiece model: truncated ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(" at byte ", ex.Message, StringComparison.Ordinal);
        Assert.Equal(path, ex.ModelPath);
    }

    [Fact]
    public void Load_ModelMissingItsLastByte_Throws()
    {
        var data = File.ReadAllBytes(SentencePieceTestModels.PathOf("unigram"));
        var path = Write("short.model", data[..^1]);

        var ex = Assert.Throws<ModelLoadException>(() => SentencePieceProcessor.Load(path));

        Assert.Contains("is not a SentencePiece model: truncated", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hello, this is not a model\n")]
    [InlineData("{\"model\": {\"type\": \"Unigram\"}}")]
    [InlineData("\u2581the -1.5\n\u2581a -2.0\n")]
    public void Load_TextFile_Throws(string text)
    {
        var path = Write("text.model", Encoding.UTF8.GetBytes(text));

        var ex = Assert.Throws<ModelLoadException>(() => SentencePieceProcessor.Load(path));

        Assert.StartsWith($"'{path}' is not a SentencePiece model: ", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Load_RandomBytes_Throws(int seed)
    {
        var data = new byte[4096];
        new Random(seed).NextBytes(data);
        var path = Write($"random{seed}.model", data);

        var ex = Assert.Throws<ModelLoadException>(() => SentencePieceProcessor.Load(path));

        Assert.StartsWith($"'{path}' is not a SentencePiece model: ", ex.Message, StringComparison.Ordinal);
        Assert.Equal(path, ex.ModelPath);
    }

    [Fact]
    public void Load_EveryTruncation_EitherLoadsOrThrowsModelLoadException()
    {
        // Cutting at a boundary between pieces leaves a well-formed (smaller) message; anywhere else must fail cleanly.
        foreach (var name in new[] { "bpe", "unigram" })
        {
            var data = File.ReadAllBytes(SentencePieceTestModels.PathOf(name));
            for (var length = 0; length < data.Length; length += length < 600 ? 1 : 211)
            {
                try
                {
                    SentencePieceProcessor.Load(data.AsSpan(0, length), name);
                }
                catch (ModelLoadException ex)
                {
                    Assert.StartsWith($"'{name}' ", ex.Message, StringComparison.Ordinal);
                }
            }
        }
    }

    [Fact]
    public void Load_CorruptedBytes_EitherLoadsAndEncodesOrThrowsModelLoadException()
    {
        var original = File.ReadAllBytes(SentencePieceTestModels.PathOf("unigram"));
        var random = new Random(1234);
        var ids = new List<int>();
        for (var trial = 0; trial < 300; trial++)
        {
            var data = (byte[])original.Clone();
            for (var k = 0; k < 3; k++)
            {
                data[random.Next(data.Length)] = (byte)random.Next(256);
            }

            SentencePieceProcessor sp;
            try
            {
                sp = SentencePieceProcessor.Load(data, "corrupt.model");
            }
            catch (ModelLoadException)
            {
                continue;
            }

            for (var i = 0; i < TestData.Corpus.Count; i += 97)
            {
                ids.Clear();
                sp.Encode(TestData.Corpus[i], ids);
                Assert.All(ids, id => Assert.InRange(id, 0, sp.PieceCount - 1));
                sp.Decode(ids.ToArray());
            }
        }
    }

    [Theory]
    [InlineData(3, "model type WORD is not supported")]
    [InlineData(4, "model type CHAR is not supported")]
    public void Load_WordOrCharModel_ThrowsUnsupported(int modelType, string expected)
    {
        var ex = Assert.Throws<ModelLoadException>(() => Load(ProtoBuilder.Model(modelType)));

        Assert.Equal($"'test.model' cannot be loaded: {expected} (only UNIGRAM and BPE are)", ex.Message);
    }

    [Fact]
    public void Load_UnknownModelType_Throws()
    {
        var ex = Assert.Throws<ModelLoadException>(() => Load(ProtoBuilder.Model(9)));

        Assert.Contains("trainer_spec.model_type is 9", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_HandcraftedModel_Works()
    {
        var sp = Load(ProtoBuilder.Model(2));
        var ids = new List<int>();

        sp.Encode("ab a", ids);

        Assert.Equal(SentencePieceModelType.Bpe, sp.ModelType);
        Assert.Equal(8, sp.PieceCount);
        Assert.Equal((0, 1, 2, -1), (sp.UnknownId, sp.BosId, sp.EosId, sp.PadId));

        // "▁ab▁a": "ab" (-1.2) merges first, which leaves the first "▁" alone; then the second "▁a" (-1.5) merges.
        Assert.Equal([3, 7, 6], ids);
        Assert.Equal("ab a", sp.Decode(ids.ToArray()));
    }

    [Fact]
    public void Load_UnknownFieldsOfEveryWireType_AreSkipped()
    {
        var model = ProtoBuilder.Model(1)
            .Int(99, 12345)
            .Tag(98, 1).Raw(1, 2, 3, 4, 5, 6, 7, 8)
            .Tag(97, 5).Raw(1, 2, 3, 4)
            .String(96, "ignored")
            .Tag(95, 3).Int(1, 7).String(2, "nested").Tag(95, 4)
            .Message(4, new ProtoBuilder().Message(1, new ProtoBuilder().String(1, "a").String(2, "\u2581a")));

        var sp = Load(model);

        Assert.Equal(8, sp.PieceCount);
    }

    [Theory]
    [MemberData(nameof(MalformedModels))]
    public void Load_MalformedModel_ThrowsDescriptiveMessage(string description, byte[] data, string expected)
    {
        var ex = Assert.Throws<ModelLoadException>(() => SentencePieceProcessor.Load(data, "test.model"));

        Assert.True(ex.Message.Contains(expected, StringComparison.Ordinal), $"{description}: '{ex.Message}' does not contain '{expected}'");
        Assert.StartsWith("'test.model' is not a SentencePiece model: ", ex.Message, StringComparison.Ordinal);
        Assert.Equal("test.model", ex.ModelPath);
    }

    public static TheoryData<string, byte[], string> MalformedModels() => new()
    {
        { "no pieces", new ProtoBuilder().Message(2, new ProtoBuilder().Int(3, 1)).ToArray(), "it has no pieces" },
        { "pieces as varint", new ProtoBuilder().Int(1, 5).ToArray(), "field ModelProto.pieces at byte 0 has wire type Varint, expected LengthDelimited" },
        { "score as varint", new ProtoBuilder().Message(1, new ProtoBuilder().String(1, "a").Int(2, 1)).ToArray(), "field pieces[0].score at byte 5 has wire type Varint, expected Fixed32" },
        { "bad piece type", new ProtoBuilder().Message(1, new ProtoBuilder().String(1, "a").Int(3, 7)).ToArray(), "pieces[0].type at byte 5 is 7" },
        { "wire type 7", new ProtoBuilder().Raw(0x0F, 0x00).ToArray(), "invalid wire type 7 for field 1 at byte 0" },
        { "field 0", new ProtoBuilder().Raw(0x00, 0x00).ToArray(), "invalid field number 0 at byte 0" },
        { "truncated varint", new ProtoBuilder().Raw(0x38, 0xFF, 0xFF).ToArray(), "truncated varint at byte 1" },
        { "eleven-byte varint", new ProtoBuilder().Raw(0x38, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01).ToArray(), "at byte 1 is longer than" },
        { "truncated fixed32", new ProtoBuilder().Message(1, new ProtoBuilder().String(1, "a").Raw(0x15, 0x00)).ToArray(), "truncated 32-bit value at byte 6" },
        { "unclosed group", ProtoBuilder.Model(1).Tag(20, 3).Int(1, 1).ToArray(), "group of field 20 is not closed" },
        { "stray end group", ProtoBuilder.Model(1).Tag(20, 4).ToArray(), "unexpected end-group tag of field 20" },
        { "empty piece", ProtoBuilder.Model(1, extraPieces: m => m.Message(1, ProtoBuilder.Piece(string.Empty, 0))).ToArray(), "piece 8 is empty" },
        { "duplicate piece", ProtoBuilder.Model(1, extraPieces: m => m.Message(1, ProtoBuilder.Piece("ab", -3))).ToArray(), "piece 8 'ab' is already defined as piece 7" },
        { "two unknowns", ProtoBuilder.Model(1, extraPieces: m => m.Message(1, ProtoBuilder.Piece("<unk2>", 0, type: 2))).ToArray(), "pieces 0 and 8 are both of type UNKNOWN" },
        { "no unknown", new ProtoBuilder().Message(1, ProtoBuilder.Piece("a", -1)).ToArray(), "it has no piece of type UNKNOWN" },
        { "byte piece without byte_fallback", ProtoBuilder.Model(1, extraPieces: m => m.Message(1, ProtoBuilder.Piece("<0x41>", 0, type: 6))).ToArray(), "byte piece 8 '<0x41>' is present although trainer_spec.byte_fallback is false" },
        { "malformed byte piece", ProtoBuilder.Model(1, t => t.Int(35, 1), m => m.Message(1, ProtoBuilder.Piece("<0x4g>", 0, type: 6))).ToArray(), "byte piece 8 '<0x4g>' is not of the form <0xXX>" },
        { "missing byte pieces", ProtoBuilder.Model(1, t => t.Int(35, 1), m => m.Message(1, ProtoBuilder.Piece("<0x00>", 0, type: 6))).ToArray(), "there is no byte piece <0x01>" },
        { "bos_id out of range", ProtoBuilder.Model(1, t => t.Int(41, 500)).ToArray(), "trainer_spec.bos_id is 500, outside the 8 pieces" },
        { "pad_id below -1", ProtoBuilder.Model(1, t => t.Int(43, -2)).ToArray(), "trainer_spec.pad_id is -2" },
        { "short charsmap", ProtoBuilder.Model(1).Message(3, new ProtoBuilder().Bytes(2, [1, 2, 3])).ToArray(), "precompiled_charsmap is 3 bytes" },
        { "charsmap size too large", ProtoBuilder.Model(1).Message(3, new ProtoBuilder().Bytes(2, [0xFF, 0, 0, 0, 1, 2, 3, 4])).ToArray(), "precompiled_charsmap claims a 255-byte trie" },
    };

    private static SentencePieceProcessor Load(ProtoBuilder model) => SentencePieceProcessor.Load(model.ToArray(), "test.model");

    private string Write(string name, byte[] data)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, data);
        return path;
    }
}
