// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;

namespace Multimodal.Tokenizers;

/// <summary>One vocabulary entry of a <c>.model</c> file (<c>ModelProto.SentencePiece</c>).</summary>
/// <param name="Piece">The piece's UTF-8 bytes, exactly as stored.</param>
/// <param name="Score">The score (log probability for Unigram, merge priority for BPE).</param>
/// <param name="Type">The kind of piece.</param>
internal sealed record SentencePieceProto(byte[] Piece, float Score, SentencePiecePieceType Type);

/// <summary>The fields of <c>TrainerSpec</c> that tokenization depends on, with their proto2 defaults.</summary>
internal sealed class SentencePieceTrainerSpec
{
    /// <summary>Gets or sets <c>model_type</c> (field 3, default UNIGRAM = 1; 3 is WORD and 4 is CHAR).</summary>
    public int ModelType { get; set; } = 1;

    /// <summary>Gets or sets <c>vocab_size</c> (field 4, default 8000); informational only.</summary>
    public int VocabSize { get; set; } = 8000;

    /// <summary>Gets or sets <c>treat_whitespace_as_suffix</c> (field 24, default false).</summary>
    public bool TreatWhitespaceAsSuffix { get; set; }

    /// <summary>Gets or sets <c>allow_whitespace_only_pieces</c> (field 26, default false); training only.</summary>
    public bool AllowWhitespaceOnlyPieces { get; set; }

    /// <summary>Gets or sets <c>split_digits</c> (field 25, default false); training only, the vocabulary reflects it.</summary>
    public bool SplitDigits { get; set; }

    /// <summary>Gets or sets <c>byte_fallback</c> (field 35, default false).</summary>
    public bool ByteFallback { get; set; }

    /// <summary>Gets or sets <c>unk_id</c> (field 40, default 0).</summary>
    public int UnkId { get; set; }

    /// <summary>Gets or sets <c>bos_id</c> (field 41, default 1).</summary>
    public int BosId { get; set; } = 1;

    /// <summary>Gets or sets <c>eos_id</c> (field 42, default 2).</summary>
    public int EosId { get; set; } = 2;

    /// <summary>Gets or sets <c>pad_id</c> (field 43, default -1).</summary>
    public int PadId { get; set; } = -1;

    /// <summary>Gets the special-id fields (40 to 43) that the file sets explicitly, with their values, for range checks.</summary>
    public List<(string Name, int Id)> ExplicitIds { get; } = [];

    /// <summary>Gets or sets <c>unk_piece</c> (field 45, default "&lt;unk&gt;").</summary>
    public string UnkPiece { get; set; } = "<unk>";

    /// <summary>Gets or sets <c>bos_piece</c> (field 46, default "&lt;s&gt;").</summary>
    public string BosPiece { get; set; } = "<s>";

    /// <summary>Gets or sets <c>eos_piece</c> (field 47, default "&lt;/s&gt;").</summary>
    public string EosPiece { get; set; } = "</s>";

    /// <summary>Gets or sets <c>pad_piece</c> (field 48, default "&lt;pad&gt;").</summary>
    public string PadPiece { get; set; } = "<pad>";

    /// <summary>Gets or sets <c>unk_surface</c> (field 44) as UTF-8, or null when the file does not set it (the decoder then uses " ⁇ ").</summary>
    public byte[]? UnkSurface { get; set; }
}

/// <summary>The fields of <c>NormalizerSpec</c>, with their proto2 defaults.</summary>
internal sealed class SentencePieceNormalizerSpec
{
    /// <summary>Gets or sets <c>name</c> (field 1), e.g. "nmt_nfkc" or "identity"; informational only.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Gets or sets <c>precompiled_charsmap</c> (field 2): the Darts-clone trie and the replacement strings; empty for identity.</summary>
    public byte[] PrecompiledCharsMap { get; set; } = [];

    /// <summary>Gets or sets <c>add_dummy_prefix</c> (field 3, default true).</summary>
    public bool AddDummyPrefix { get; set; } = true;

    /// <summary>Gets or sets <c>remove_extra_whitespaces</c> (field 4, default true).</summary>
    public bool RemoveExtraWhitespaces { get; set; } = true;

    /// <summary>Gets or sets <c>escape_whitespaces</c> (field 5, default true).</summary>
    public bool EscapeWhitespaces { get; set; } = true;
}

/// <summary>The parsed <c>ModelProto</c> of a SentencePiece <c>.model</c> file (sentencepiece_model.proto).</summary>
/// <remarks>
/// Only the fields that affect encoding and decoding are kept; every other field, known or not, is skipped by
/// wire type. A known field with the wrong wire type is an error (the file is then not a SentencePiece model), and so
/// is an enum value the schema does not define. Repeated occurrences of a singular message merge, as in proto2.
/// </remarks>
internal sealed class SentencePieceModelProto
{
    /// <summary>Gets the vocabulary, in id order (field 1).</summary>
    public List<SentencePieceProto> Pieces { get; } = [];

    /// <summary>Gets the trainer spec (field 2).</summary>
    public SentencePieceTrainerSpec TrainerSpec { get; } = new();

    /// <summary>Gets the normalizer spec (field 3).</summary>
    public SentencePieceNormalizerSpec NormalizerSpec { get; } = new();

    /// <summary>Gets the denormalizer spec (field 5), or null when absent.</summary>
    public SentencePieceNormalizerSpec? DenormalizerSpec { get; private set; }

    /// <summary>Parses a serialized <c>ModelProto</c>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a well-formed <c>ModelProto</c>.</exception>
    public static SentencePieceModelProto Parse(ReadOnlySpan<byte> data)
    {
        var model = new SentencePieceModelProto();
        var reader = new SentencePieceProtoReader(data);
        while (!reader.IsAtEnd)
        {
            var start = reader.Offset;
            var (field, wireType) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    Expect(wireType, ProtoWireType.LengthDelimited, "ModelProto.pieces", start);
                    model.Pieces.Add(ParsePiece(reader.ReadLengthDelimited(out var pieceOrigin), pieceOrigin, model.Pieces.Count));
                    break;
                case 2:
                    Expect(wireType, ProtoWireType.LengthDelimited, "ModelProto.trainer_spec", start);
                    ParseTrainerSpec(reader.ReadLengthDelimited(out var trainerOrigin), trainerOrigin, model.TrainerSpec);
                    break;
                case 3:
                    Expect(wireType, ProtoWireType.LengthDelimited, "ModelProto.normalizer_spec", start);
                    ParseNormalizerSpec(reader.ReadLengthDelimited(out var normalizerOrigin), normalizerOrigin, model.NormalizerSpec, "normalizer_spec");
                    break;
                case 5:
                    Expect(wireType, ProtoWireType.LengthDelimited, "ModelProto.denormalizer_spec", start);
                    model.DenormalizerSpec ??= new SentencePieceNormalizerSpec();
                    ParseNormalizerSpec(reader.ReadLengthDelimited(out var denormalizerOrigin), denormalizerOrigin, model.DenormalizerSpec, "denormalizer_spec");
                    break;
                default:
                    // self_test_data (4), extensions and fields of newer versions.
                    reader.Skip(field, wireType);
                    break;
            }
        }

        return model;
    }

    private static SentencePieceProto ParsePiece(ReadOnlySpan<byte> data, int origin, int index)
    {
        byte[] piece = [];
        float score = 0;
        var type = SentencePiecePieceType.Normal;
        var reader = new SentencePieceProtoReader(data, origin);
        while (!reader.IsAtEnd)
        {
            var start = reader.Offset;
            var (field, wireType) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    Expect(wireType, ProtoWireType.LengthDelimited, $"pieces[{index}].piece", start);
                    piece = reader.ReadLengthDelimited(out _).ToArray();
                    break;
                case 2:
                    Expect(wireType, ProtoWireType.Fixed32, $"pieces[{index}].score", start);
                    score = BitConverter.UInt32BitsToSingle(reader.ReadFixed32());
                    break;
                case 3:
                    Expect(wireType, ProtoWireType.Varint, $"pieces[{index}].type", start);
                    var value = (long)reader.ReadVarint();
                    if (value is < 1 or > 6)
                    {
                        throw new InvalidDataException($"pieces[{index}].type at byte {start} is {value}, which is not a piece type (1 to 6)");
                    }

                    type = (SentencePiecePieceType)value;
                    break;
                default:
                    reader.Skip(field, wireType);
                    break;
            }
        }

        return new SentencePieceProto(piece, score, type);
    }

    private static void ParseTrainerSpec(ReadOnlySpan<byte> data, int origin, SentencePieceTrainerSpec spec)
    {
        var reader = new SentencePieceProtoReader(data, origin);
        while (!reader.IsAtEnd)
        {
            var start = reader.Offset;
            var (field, wireType) = reader.ReadTag();
            switch (field)
            {
                case 3:
                    spec.ModelType = ReadInt32(ref reader, wireType, "trainer_spec.model_type", start);
                    break;
                case 4:
                    spec.VocabSize = ReadInt32(ref reader, wireType, "trainer_spec.vocab_size", start);
                    break;
                case 24:
                    spec.TreatWhitespaceAsSuffix = ReadBool(ref reader, wireType, "trainer_spec.treat_whitespace_as_suffix", start);
                    break;
                case 25:
                    spec.SplitDigits = ReadBool(ref reader, wireType, "trainer_spec.split_digits", start);
                    break;
                case 26:
                    spec.AllowWhitespaceOnlyPieces = ReadBool(ref reader, wireType, "trainer_spec.allow_whitespace_only_pieces", start);
                    break;
                case 35:
                    spec.ByteFallback = ReadBool(ref reader, wireType, "trainer_spec.byte_fallback", start);
                    break;
                case 40:
                    spec.UnkId = ReadInt32(ref reader, wireType, "trainer_spec.unk_id", start);
                    spec.ExplicitIds.Add(("unk_id", spec.UnkId));
                    break;
                case 41:
                    spec.BosId = ReadInt32(ref reader, wireType, "trainer_spec.bos_id", start);
                    spec.ExplicitIds.Add(("bos_id", spec.BosId));
                    break;
                case 42:
                    spec.EosId = ReadInt32(ref reader, wireType, "trainer_spec.eos_id", start);
                    spec.ExplicitIds.Add(("eos_id", spec.EosId));
                    break;
                case 43:
                    spec.PadId = ReadInt32(ref reader, wireType, "trainer_spec.pad_id", start);
                    spec.ExplicitIds.Add(("pad_id", spec.PadId));
                    break;
                case 44:
                    Expect(wireType, ProtoWireType.LengthDelimited, "trainer_spec.unk_surface", start);
                    spec.UnkSurface = reader.ReadLengthDelimited(out _).ToArray();
                    break;
                case 45:
                    spec.UnkPiece = ReadString(ref reader, wireType, "trainer_spec.unk_piece", start);
                    break;
                case 46:
                    spec.BosPiece = ReadString(ref reader, wireType, "trainer_spec.bos_piece", start);
                    break;
                case 47:
                    spec.EosPiece = ReadString(ref reader, wireType, "trainer_spec.eos_piece", start);
                    break;
                case 48:
                    spec.PadPiece = ReadString(ref reader, wireType, "trainer_spec.pad_piece", start);
                    break;
                default:
                    reader.Skip(field, wireType);
                    break;
            }
        }
    }

    private static void ParseNormalizerSpec(ReadOnlySpan<byte> data, int origin, SentencePieceNormalizerSpec spec, string name)
    {
        var reader = new SentencePieceProtoReader(data, origin);
        while (!reader.IsAtEnd)
        {
            var start = reader.Offset;
            var (field, wireType) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    spec.Name = ReadString(ref reader, wireType, name + ".name", start);
                    break;
                case 2:
                    Expect(wireType, ProtoWireType.LengthDelimited, name + ".precompiled_charsmap", start);
                    spec.PrecompiledCharsMap = reader.ReadLengthDelimited(out _).ToArray();
                    break;
                case 3:
                    spec.AddDummyPrefix = ReadBool(ref reader, wireType, name + ".add_dummy_prefix", start);
                    break;
                case 4:
                    spec.RemoveExtraWhitespaces = ReadBool(ref reader, wireType, name + ".remove_extra_whitespaces", start);
                    break;
                case 5:
                    spec.EscapeWhitespaces = ReadBool(ref reader, wireType, name + ".escape_whitespaces", start);
                    break;
                default:
                    reader.Skip(field, wireType);
                    break;
            }
        }
    }

    private static int ReadInt32(ref SentencePieceProtoReader reader, ProtoWireType wireType, string name, int start)
    {
        Expect(wireType, ProtoWireType.Varint, name, start);

        // int32 is sign-extended to 64 bits on the wire; the low 32 bits are the value.
        return unchecked((int)reader.ReadVarint());
    }

    private static bool ReadBool(ref SentencePieceProtoReader reader, ProtoWireType wireType, string name, int start)
    {
        Expect(wireType, ProtoWireType.Varint, name, start);
        return reader.ReadVarint() != 0;
    }

    private static string ReadString(ref SentencePieceProtoReader reader, ProtoWireType wireType, string name, int start)
    {
        Expect(wireType, ProtoWireType.LengthDelimited, name, start);
        return Encoding.UTF8.GetString(reader.ReadLengthDelimited(out _));
    }

    private static void Expect(ProtoWireType actual, ProtoWireType expected, string name, int start)
    {
        if (actual != expected)
        {
            throw new InvalidDataException($"field {name} at byte {start} has wire type {actual}, expected {expected}");
        }
    }
}
