// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Multimodal.Backends.Managed.SafeTensors;

/// <summary>Reading valid checkpoints (single, sharded, every float dtype) and rejecting each kind of malformed one.</summary>
public sealed class SafeTensorsCheckpointTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mm-safetensors-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void SingleFile_ReadsEveryFloatDType()
    {
        float[] values = [1.5f, -2.25f, 0f, 3.75f, -0.5f, 100f];
        var f16 = values.Select(v => (Half)v).ToArray();
        var bf16 = values.Select(v => (ushort)(BitConverter.SingleToInt32Bits(v) >>> 16)).ToArray();
        var f64 = values.Select(v => (double)v).ToArray();
        var path = Write("model.safetensors", [
            ("a.f32", "F32", [2, 3], MemoryMarshal.AsBytes(values.AsSpan()).ToArray()),
            ("b.f16", "F16", [3, 2], MemoryMarshal.AsBytes(f16.AsSpan()).ToArray()),
            ("c.bf16", "BF16", [6], MemoryMarshal.AsBytes(bf16.AsSpan()).ToArray()),
            ("d.f64", "F64", [1, 6], MemoryMarshal.AsBytes(f64.AsSpan()).ToArray()),
            ("e.i8", "I8", [2], [0xFF, 0x02]),
        ], metadata: """{"format":"pt"}""");

        using var checkpoint = SafeTensorsCheckpoint.Open(_folder);
        Assert.Equal(path, checkpoint.Path);
        Assert.Equal(["a.f32", "b.f16", "c.bf16", "d.f64", "e.i8"], checkpoint.Names);
        Assert.Equal("pt", checkpoint.Metadata["format"]);
        foreach (var name in new[] { "a.f32", "b.f16", "c.bf16", "d.f64" })
        {
            Assert.Equal(values, checkpoint.ReadSingle(name));
        }

        Assert.Equal(values, checkpoint.ReadSingle("a.f32", 2, 3));
        Assert.Equal(TensorDType.I8, checkpoint.GetInfo("e.i8").DType);
        Assert.Equal(new byte[] { 0xFF, 0x02 }, checkpoint.GetBytes("e.i8").ToArray());
        var error = Assert.Throws<ModelLoadException>(() => checkpoint.ReadSingle("e.i8"));
        Assert.Contains("'e.i8' is I8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sharded_FollowsTheIndex()
    {
        Write("model-00001-of-00002.safetensors", [("x", "F32", [1], Floats(1f)), ("stray", "F32", [1], Floats(9f))]);
        Write("model-00002-of-00002.safetensors", [("y", "F32", [2], Floats(2f, 3f))]);
        WriteIndex("""{"metadata":{"total_size":12},"weight_map":{"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}}""");

        using var checkpoint = SafeTensorsCheckpoint.Open(_folder);
        Assert.Equal(["x", "y"], checkpoint.Names);
        Assert.Equal([2f, 3f], checkpoint.ReadSingle("y"));
        Assert.False(checkpoint.Contains("stray"));
        Assert.Equal("12", checkpoint.Metadata["total_size"]);
    }

    [Fact]
    public void Dispose_MakesTensorMemoryUnusable()
    {
        Write("model.safetensors", [("x", "F32", [2], Floats(1f, 2f))]);
        var checkpoint = SafeTensorsCheckpoint.Open(_folder);
        var memory = checkpoint.GetBytes("x");
        checkpoint.Dispose();
        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => checkpoint.GetBytes("x"));
    }

    public static TheoryData<string, string> MalformedHeaders => new()
    {
        { """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", "needs 8 bytes" },
        { """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}""", "outside the 8 data bytes" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}""", "overlap" },
        { """{"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}""", "unknown dtype \"Q4\"" },
        { """{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", "dimensions must be non-negative" },
        { """{"x":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}}""", "more than 2^40 elements" },
        { """{"x":{"dtype":"F32","shape":[2]}}""", "data_offsets" },
        { """{"x":{"dtype":"F32","shape":[2],"data_offsets":[4,0]}}""", "outside" },
        { """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", "lists 'x' twice" },
        { """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""", "not valid JSON" },
        { """[1,2]""", "not an object" },
        { """{"__metadata__":{"a":1}}""", "must be strings" },
    };

    [Theory]
    [MemberData(nameof(MalformedHeaders))]
    public void MalformedHeader_RaisesModelLoadException(string header, string expected)
    {
        var path = Path.Combine(_folder, "model.safetensors");
        WriteRaw(path, header, new byte[8]);
        var error = Assert.Throws<ModelLoadException>(() => SafeTensorsCheckpoint.Open(path));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Equal(path, error.ModelPath);
    }

    [Fact]
    public void TruncatedFile_IsReportedAsTruncated()
    {
        var path = Write("model.safetensors", [("x", "F32", [4], Floats(1f, 2f, 3f, 4f))]);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^5]);
        var error = Assert.Throws<ModelLoadException>(() => SafeTensorsCheckpoint.Open(path));
        Assert.Contains("tensor 'x'", error.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);

        File.WriteAllBytes(path, bytes[..20]);
        error = Assert.Throws<ModelLoadException>(() => SafeTensorsCheckpoint.Open(path));
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);

        File.WriteAllBytes(path, bytes[..5]);
        error = Assert.Throws<ModelLoadException>(() => SafeTensorsCheckpoint.Open(path));
        Assert.Contains("5 bytes long", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AbsurdHeaderLength_IsRejectedBeforeAllocating()
    {
        var path = Path.Combine(_folder, "model.safetensors");
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<ModelLoadException>(() => SafeTensorsCheckpoint.Open(path));
        Assert.Contains("between 1 byte and 100 MB", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingTensorAndWrongShape_NameTheTensor()
    {
        Write("model.safetensors", [("model.norm.weight", "F32", [2], Floats(1f, 2f))]);
        using var checkpoint = SafeTensorsCheckpoint.Open(_folder);
        var missing = Assert.Throws<ModelLoadException>(() => checkpoint.GetInfo("model.layers.0.input_layernorm.weight"));
        Assert.Contains("no tensor 'model.layers.0.input_layernorm.weight'", missing.Message, StringComparison.Ordinal);
        Assert.Contains("model.norm.weight", missing.Message, StringComparison.Ordinal);
        var shape = Assert.Throws<ModelLoadException>(() => checkpoint.ReadSingle("model.norm.weight", 3));
        Assert.Contains("shape [2] but the config implies [3]", shape.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BrokenIndex_IsRejectedWithTheReason()
    {
        Write("model-00001-of-00002.safetensors", [("x", "F32", [1], Floats(1f))]);
        WriteIndex("""{"weight_map":{"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}}""");
        Assert.Contains("missing from", Assert.Throws<ModelLoadException>(() => SafeTensorsCheckpoint.Open(_folder)).Message, StringComparison.Ordinal);

        WriteIndex("""{"weight_map":{"x":"../model-00001-of-00002.safetensors"}}""");
        Assert.Contains("plain file names", Assert.Throws<ModelLoadException>(() => SafeTensorsCheckpoint.Open(_folder)).Message, StringComparison.Ordinal);

        WriteIndex("""{"weight_map":{"x":"model-00001-of-00002.safetensors","z":"model-00001-of-00002.safetensors"}}""");
        Assert.Contains("does not contain it", Assert.Throws<ModelLoadException>(() => SafeTensorsCheckpoint.Open(_folder)).Message, StringComparison.Ordinal);

        WriteIndex("""{"tensors":{}}""");
        Assert.Contains("no \"weight_map\"", Assert.Throws<ModelLoadException>(() => SafeTensorsCheckpoint.Open(_folder)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FolderWithoutSafetensors_SaysWhatIsThere()
    {
        File.WriteAllBytes(Path.Combine(_folder, "pytorch_model.bin"), [1, 2, 3]);
        var error = Assert.Throws<ModelLoadException>(() => SafeTensorsCheckpoint.Open(_folder));
        Assert.Contains("pytorch_model.bin", error.Message, StringComparison.Ordinal);
        Assert.Contains("convert them to safetensors", error.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", Assert.Throws<ModelLoadException>(() => SafeTensorsCheckpoint.Open(Path.Combine(_folder, "nope"))).Message, StringComparison.Ordinal);
    }

    private static byte[] Floats(params float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private string Write(string file, (string Name, string DType, long[] Shape, byte[] Data)[] tensors, string? metadata = null)
    {
        var header = new StringBuilder("{");
        var offset = 0;
        foreach (var (name, dtype, shape, data) in tensors)
        {
            header.Append($"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{offset + data.Length}]}},");
            offset += data.Length;
        }

        header.Append(metadata is null ? string.Empty : $"\"__metadata__\":{metadata},");
        header.Length--;
        header.Append('}');
        var path = Path.Combine(_folder, file);
        WriteRaw(path, header.ToString(), tensors.SelectMany(t => t.Data).ToArray());
        return path;
    }

    private static void WriteRaw(string path, string header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        using var stream = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        stream.Write(length);
        stream.Write(json);
        stream.Write(data);
    }

    private void WriteIndex(string json) => File.WriteAllText(Path.Combine(_folder, SafeTensorsCheckpoint.IndexFileName), json);
}
