// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;

namespace Multimodal.Tokenizers;

/// <summary>Writes protobuf wire format by hand, to craft (mal)formed <c>.model</c> files in tests.</summary>
internal sealed class ProtoBuilder
{
    private readonly List<byte> _bytes = [];

    /// <summary>Gets the bytes written.</summary>
    public byte[] ToArray() => [.. _bytes];

    /// <summary>Writes a raw varint.</summary>
    public ProtoBuilder Varint(ulong value)
    {
        while (value >= 0x80)
        {
            _bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        _bytes.Add((byte)value);
        return this;
    }

    /// <summary>Writes a tag.</summary>
    public ProtoBuilder Tag(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

    /// <summary>Writes a varint field (negative int32 values are sign-extended, as protobuf does).</summary>
    public ProtoBuilder Int(int field, long value) => Tag(field, 0).Varint(unchecked((ulong)value));

    /// <summary>Writes a float field.</summary>
    public ProtoBuilder Float(int field, float value)
    {
        Tag(field, 5);
        _bytes.AddRange(BitConverter.GetBytes(value));
        return this;
    }

    /// <summary>Writes a length-delimited field.</summary>
    public ProtoBuilder Bytes(int field, byte[] value)
    {
        Tag(field, 2).Varint((ulong)value.Length);
        _bytes.AddRange(value);
        return this;
    }

    /// <summary>Writes a string field.</summary>
    public ProtoBuilder String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>Writes an embedded message.</summary>
    public ProtoBuilder Message(int field, ProtoBuilder message) => Bytes(field, message.ToArray());

    /// <summary>Writes raw bytes.</summary>
    public ProtoBuilder Raw(params byte[] bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    /// <summary>A <c>ModelProto.SentencePiece</c> message.</summary>
    public static ProtoBuilder Piece(string piece, float score, int type = 1)
    {
        var builder = new ProtoBuilder().String(1, piece).Float(2, score);
        return type == 1 ? builder : builder.Int(3, type);
    }

    /// <summary>A small valid model: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, then normal pieces, identity normalization.</summary>
    public static ProtoBuilder Model(int modelType = 1, Action<ProtoBuilder>? trainer = null, Action<ProtoBuilder>? extraPieces = null)
    {
        var model = new ProtoBuilder()
            .Message(1, Piece("<unk>", 0, type: 2))
            .Message(1, Piece("<s>", 0, type: 3))
            .Message(1, Piece("</s>", 0, type: 3))
            .Message(1, Piece("\u2581", -1))
            .Message(1, Piece("a", -2))
            .Message(1, Piece("b", -2.5f))
            .Message(1, Piece("\u2581a", -1.5f))
            .Message(1, Piece("ab", -1.2f));
        extraPieces?.Invoke(model);
        var trainerSpec = new ProtoBuilder().Int(3, modelType);
        trainer?.Invoke(trainerSpec);
        return model
            .Message(2, trainerSpec)
            .Message(3, new ProtoBuilder().String(1, "identity"));
    }
}
