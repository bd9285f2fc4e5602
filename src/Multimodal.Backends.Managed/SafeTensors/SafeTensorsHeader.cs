// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers.Binary;
using System.Text.Json;

namespace Multimodal.Backends.Managed.SafeTensors;

/// <summary>
/// Reads and validates the header of one safetensors file: an 8-byte little-endian length N, N bytes of UTF-8 JSON
/// (<c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}}</c>), then the
/// data, with offsets relative to the end of the header.
/// </summary>
/// <remarks>
/// Everything a later read relies on is checked here, so that no tensor access can read outside the file: the header
/// length, well-formed JSON without duplicate names, known dtypes, non-negative dimensions whose product does not
/// overflow, offsets inside the data, byte lengths equal to element count × element size, and no two tensors sharing
/// bytes. Each failure names the file, the tensor and the problem.
/// </remarks>
internal static class SafeTensorsHeader
{
    /// <summary>The format's own limit on the header (100 MB).</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>No real tensor has more elements than this (2^40, about 4 TB of float32).</summary>
    public const long MaxElements = 1L << 40;

    /// <summary>The most dimensions a tensor may have.</summary>
    public const int MaxRank = 8;

    /// <summary>Reads a file's header.</summary>
    /// <param name="path">The file.</param>
    /// <param name="fileLength">The file length in bytes.</param>
    /// <param name="metadata">The <c>__metadata__</c> entries (empty when absent).</param>
    /// <returns>The tensors in data order.</returns>
    /// <exception cref="ModelLoadException">The header is malformed or inconsistent with the file.</exception>
    public static List<SafeTensorInfo> Read(string path, long fileLength, out Dictionary<string, string> metadata)
    {
        var file = Path.GetFileName(path);
        if (fileLength < 8)
        {
            throw Fail(path, $"{file} is {fileLength} bytes long; a safetensors file starts with an 8-byte header length. The file is truncated or not a safetensors file.");
        }

        byte[] headerBytes;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None))
        {
            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            var length = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (length == 0 || length > MaxHeaderLength)
            {
                throw Fail(path, $"{file} declares a {length}-byte header; it must be between 1 byte and 100 MB. The file is not a safetensors file or is corrupt.");
            }

            if ((long)length > fileLength - 8)
            {
                throw Fail(path, $"{file} declares a {length}-byte header but only {fileLength - 8} bytes follow the length: the file is truncated.");
            }

            headerBytes = new byte[length];
            stream.ReadExactly(headerBytes);
        }

        var dataStart = 8 + headerBytes.Length;
        var dataLength = fileLength - dataStart;
        var tensors = Parse(path, headerBytes, dataStart, dataLength, out metadata);
        CheckOverlaps(path, tensors, dataStart);
        return tensors;
    }

    /// <summary>The size in bytes of one element.</summary>
    public static int ElementSize(TensorDType dtype) => dtype switch
    {
        TensorDType.Bool or TensorDType.U8 or TensorDType.I8 or TensorDType.F8E4M3 or TensorDType.F8E5M2 => 1,
        TensorDType.I16 or TensorDType.U16 or TensorDType.F16 or TensorDType.BF16 => 2,
        TensorDType.I32 or TensorDType.U32 or TensorDType.F32 => 4,
        _ => 8,
    };

    private static List<SafeTensorInfo> Parse(string path, byte[] header, long dataStart, long dataLength, out Dictionary<string, string> metadata)
    {
        var file = Path.GetFileName(path);
        metadata = [];
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Fail(path, $"the header of {file} is not valid JSON ({e.Message}). The file is corrupt.", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Fail(path, $"the header of {file} is a JSON {document.RootElement.ValueKind}, not an object.");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            var tensors = new List<SafeTensorInfo>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw Fail(path, $"the header of {file} lists '{property.Name}' twice.");
                }

                if (property.Name == "__metadata__")
                {
                    metadata = ParseMetadata(path, property.Value);
                    continue;
                }

                tensors.Add(ParseTensor(path, property.Name, property.Value, dataStart, dataLength));
            }

            return tensors;
        }
    }

    private static Dictionary<string, string> ParseMetadata(string path, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Fail(path, $"__metadata__ in {Path.GetFileName(path)} must be an object of strings.");
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw Fail(path, $"__metadata__ entry '{entry.Name}' in {Path.GetFileName(path)} is a {entry.Value.ValueKind}; metadata values must be strings.");
            }

            metadata[entry.Name] = entry.Value.GetString()!;
        }

        return metadata;
    }

    private static SafeTensorInfo ParseTensor(string path, string name, JsonElement value, long dataStart, long dataLength)
    {
        var where = $"tensor '{name}' in {Path.GetFileName(path)}";
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Fail(path, $"{where}: the entry is a JSON {value.ValueKind}, not an object with dtype, shape and data_offsets.");
        }

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw Fail(path, $"{where}: missing or non-string \"dtype\".");
        }

        var dtype = ParseDType(dtypeElement.GetString()!) ?? throw Fail(path, $"{where}: unknown dtype \"{dtypeElement.GetString()}\" (expected one of BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64, F8_E4M3, F8_E5M2).");

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw Fail(path, $"{where}: missing or non-array \"shape\".");
        }

        if (shapeElement.GetArrayLength() > MaxRank)
        {
            throw Fail(path, $"{where}: {shapeElement.GetArrayLength()} dimensions; at most {MaxRank} are supported.");
        }

        var shape = new long[shapeElement.GetArrayLength()];
        var elements = 1L;
        var i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var size) || size < 0)
            {
                throw Fail(path, $"{where}: dimension {i} is {dim.GetRawText()}; dimensions must be non-negative integers.");
            }

            shape[i++] = size;
            if (size != 0 && elements > MaxElements / size)
            {
                throw Fail(path, $"{where}: the shape [{string.Join(", ", shape.Take(i))}...] has more than 2^40 elements; the header is corrupt.");
            }

            elements *= size;
        }

        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || !offsets[0].TryGetInt64(out var begin) || !offsets[1].TryGetInt64(out var end))
        {
            throw Fail(path, $"{where}: \"data_offsets\" must be an array of two integers [begin, end].");
        }

        if (begin < 0 || end < begin || end > dataLength)
        {
            throw Fail(path, $"{where}: data_offsets [{begin}, {end}] lie outside the {dataLength} data bytes of the file (truncated file or corrupt header).");
        }

        var expected = elements * ElementSize(dtype);
        if (end - begin != expected)
        {
            throw Fail(path, $"{where}: shape [{string.Join(", ", shape)}] of {dtype} needs {expected} bytes but data_offsets [{begin}, {end}] hold {end - begin}.");
        }

        return new SafeTensorInfo(name, dtype, shape, path, dataStart + begin, end - begin);
    }

    private static void CheckOverlaps(string path, List<SafeTensorInfo> tensors, long dataStart)
    {
        var ordered = tensors.Where(t => t.ByteLength > 0).OrderBy(t => t.Offset).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            var previous = ordered[i - 1];
            if (ordered[i].Offset < previous.Offset + previous.ByteLength)
            {
                throw Fail(path, $"tensors '{previous.Name}' (bytes {previous.Offset - dataStart}..{previous.Offset - dataStart + previous.ByteLength}) and '{ordered[i].Name}' (from byte {ordered[i].Offset - dataStart}) overlap in {Path.GetFileName(path)}; the header is corrupt.");
            }
        }
    }

    private static TensorDType? ParseDType(string text) => text switch
    {
        "BOOL" => TensorDType.Bool,
        "U8" => TensorDType.U8,
        "I8" => TensorDType.I8,
        "I16" => TensorDType.I16,
        "U16" => TensorDType.U16,
        "F16" => TensorDType.F16,
        "BF16" => TensorDType.BF16,
        "I32" => TensorDType.I32,
        "U32" => TensorDType.U32,
        "F32" => TensorDType.F32,
        "F64" => TensorDType.F64,
        "I64" => TensorDType.I64,
        "U64" => TensorDType.U64,
        "F8_E4M3" => TensorDType.F8E4M3,
        "F8_E5M2" => TensorDType.F8E5M2,
        _ => null,
    };

    private static ModelLoadException Fail(string path, string message, Exception? inner = null) =>
        new($"Cannot load the safetensors checkpoint: {message}", path, inner);
}
