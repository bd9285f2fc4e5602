// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers.Binary;
using System.Text.Json;

namespace Multimodal.Backends.Managed.SafeTensors;

/// <summary>Writes a safetensors file tensor by tensor, streaming the data (synthetic checkpoints for benchmarks,
/// test fixtures).</summary>
internal static class SafeTensorsWriter
{
    /// <summary>One tensor to write: its data is produced in chunks by <see cref="Fill"/>.</summary>
    /// <param name="Name">The tensor name.</param>
    /// <param name="DType">The element type.</param>
    /// <param name="Shape">The shape.</param>
    /// <param name="Fill">Writes the bytes starting at the given byte offset of the tensor into the span.</param>
    public sealed record Entry(string Name, TensorDType DType, long[] Shape, Action<long, Span<byte>> Fill)
    {
        public long ByteLength => Shape.Aggregate(1L, (a, b) => a * b) * SafeTensorsHeader.ElementSize(DType);
    }

    /// <summary>Writes the file.</summary>
    public static void Write(string path, IReadOnlyList<Entry> entries)
    {
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            var offset = 0L;
            foreach (var e in entries)
            {
                writer.WriteStartObject(e.Name);
                writer.WriteString("dtype", Name(e.DType));
                writer.WriteStartArray("shape");
                foreach (var d in e.Shape)
                {
                    writer.WriteNumberValue(d);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + e.ByteLength);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += e.ByteLength;
            }

            writer.WriteEndObject();
        }

        var header = json.ToArray().Concat(Enumerable.Repeat((byte)' ', (8 - ((int)json.Length % 8)) % 8)).ToArray();
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        file.Write(length);
        file.Write(header);
        var buffer = new byte[1 << 22];
        foreach (var e in entries)
        {
            for (var done = 0L; done < e.ByteLength; done += buffer.Length)
            {
                var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, e.ByteLength - done));
                e.Fill(done, chunk);
                file.Write(chunk);
            }
        }
    }

    private static string Name(TensorDType dtype) => dtype switch
    {
        TensorDType.F8E4M3 => "F8_E4M3",
        TensorDType.F8E5M2 => "F8_E5M2",
        TensorDType.Bool => "BOOL",
        _ => dtype.ToString().ToUpperInvariant(),
    };
}
