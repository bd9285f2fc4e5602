// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Multimodal.Tokenizers;

/// <summary>Protocol-buffer wire types (the low three bits of a field tag).</summary>
internal enum ProtoWireType
{
    /// <summary>Base-128 varint: int32, int64, uint32, uint64, bool, enum.</summary>
    Varint = 0,

    /// <summary>Eight little-endian bytes: fixed64, sfixed64, double.</summary>
    Fixed64 = 1,

    /// <summary>A varint length followed by that many bytes: string, bytes, embedded messages, packed fields.</summary>
    LengthDelimited = 2,

    /// <summary>Start of a (deprecated) group.</summary>
    StartGroup = 3,

    /// <summary>End of a (deprecated) group.</summary>
    EndGroup = 4,

    /// <summary>Four little-endian bytes: fixed32, sfixed32, float.</summary>
    Fixed32 = 5,
}

/// <summary>A minimal, allocation-free reader of the protocol-buffer wire format over a span.</summary>
/// <remarks>
/// Every malformation (truncation, over-long varints, impossible wire types, lengths past the end) throws
/// <see cref="InvalidDataException"/> with the absolute byte offset in the file, so the loader can report exactly
/// where a file stops being a valid message. Offsets of nested readers stay absolute.
/// </remarks>
internal ref struct SentencePieceProtoReader
{
    private const int MaxGroupDepth = 64;

    private readonly ReadOnlySpan<byte> _data;
    private readonly int _origin;
    private int _position;

    /// <summary>Initializes a reader over <paramref name="data"/>, whose first byte is at <paramref name="origin"/> in the file.</summary>
    public SentencePieceProtoReader(ReadOnlySpan<byte> data, int origin = 0)
    {
        _data = data;
        _origin = origin;
        _position = 0;
    }

    /// <summary>Gets a value indicating whether all bytes were consumed.</summary>
    public readonly bool IsAtEnd => _position >= _data.Length;

    /// <summary>Gets the absolute offset of the next byte in the file.</summary>
    public readonly int Offset => _origin + _position;

    /// <summary>Reads a field tag; throws on field number 0, numbers past 2^29-1 and wire types 6 and 7.</summary>
    public (int Field, ProtoWireType WireType) ReadTag()
    {
        var start = Offset;
        var tag = ReadVarint("field tag");
        if (tag > uint.MaxValue)
        {
            Fail($"field tag at byte {start} is larger than 32 bits");
        }

        var wireType = (int)(tag & 7);
        var field = (int)(tag >> 3);
        if (field == 0)
        {
            Fail($"invalid field number 0 at byte {start}");
        }

        if (wireType > 5)
        {
            Fail($"invalid wire type {wireType} for field {field} at byte {start}");
        }

        return (field, (ProtoWireType)wireType);
    }

    /// <summary>Reads a base-128 varint of at most ten bytes.</summary>
    public ulong ReadVarint(string what = "varint")
    {
        var start = Offset;
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _data.Length)
            {
                Fail($"truncated {what} at byte {start}");
            }

            var b = _data[_position++];
            if (shift == 63 && b > 1)
            {
                Fail($"{what} at byte {start} is longer than 64 bits");
            }

            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        Fail($"{what} at byte {start} is longer than ten bytes");
        return 0;
    }

    /// <summary>Reads four little-endian bytes.</summary>
    public uint ReadFixed32()
    {
        if (_data.Length - _position < 4)
        {
            Fail($"truncated 32-bit value at byte {Offset}");
        }

        var value = BinaryPrimitives.ReadUInt32LittleEndian(_data.Slice(_position, 4));
        _position += 4;
        return value;
    }

    /// <summary>Reads eight little-endian bytes.</summary>
    public ulong ReadFixed64()
    {
        if (_data.Length - _position < 8)
        {
            Fail($"truncated 64-bit value at byte {Offset}");
        }

        var value = BinaryPrimitives.ReadUInt64LittleEndian(_data.Slice(_position, 8));
        _position += 8;
        return value;
    }

    /// <summary>Reads the payload of a length-delimited field; <paramref name="origin"/> receives its absolute offset.</summary>
    public ReadOnlySpan<byte> ReadLengthDelimited(out int origin)
    {
        var start = Offset;
        var length = ReadVarint("length");
        var remaining = _data.Length - _position;
        if (length > (ulong)remaining)
        {
            Fail($"truncated length-delimited field at byte {start}: it claims {length} bytes but only {remaining} remain");
        }

        origin = Offset;
        var payload = _data.Slice(_position, (int)length);
        _position += (int)length;
        return payload;
    }

    /// <summary>Skips the value of a field of unknown number.</summary>
    public void Skip(int field, ProtoWireType wireType) => Skip(field, wireType, 0);

    [DoesNotReturn]
    private static void Fail(string message) => throw new InvalidDataException(message);

    private void Skip(int field, ProtoWireType wireType, int depth)
    {
        switch (wireType)
        {
            case ProtoWireType.Varint:
                ReadVarint();
                break;
            case ProtoWireType.Fixed64:
                ReadFixed64();
                break;
            case ProtoWireType.Fixed32:
                ReadFixed32();
                break;
            case ProtoWireType.LengthDelimited:
                ReadLengthDelimited(out _);
                break;
            case ProtoWireType.StartGroup:
                // A group runs until the end-group tag with the same field number.
                if (depth >= MaxGroupDepth)
                {
                    Fail($"groups nested deeper than {MaxGroupDepth} at byte {Offset}");
                }

                while (true)
                {
                    if (IsAtEnd)
                    {
                        Fail($"group of field {field} is not closed before byte {Offset}");
                    }

                    var start = Offset;
                    var (inner, innerType) = ReadTag();
                    if (innerType == ProtoWireType.EndGroup)
                    {
                        if (inner != field)
                        {
                            Fail($"end-group tag of field {inner} at byte {start} closes a group of field {field}");
                        }

                        return;
                    }

                    Skip(inner, innerType, depth + 1);
                }

            default:
                Fail($"unexpected end-group tag of field {field} before byte {Offset}");
                break;
        }
    }
}
