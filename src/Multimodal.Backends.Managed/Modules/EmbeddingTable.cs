// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.SafeTensors;

namespace Multimodal.Backends.Managed.Modules;

/// <summary>A token embedding matrix <c>[vocab, hidden]</c> kept as stored (F32, F16 or BF16) and converted row by row.</summary>
internal sealed class EmbeddingTable
{
    private readonly ReadOnlyMemory<byte> _data;
    private readonly TensorDType _dtype;

    /// <summary>Initializes the table over checkpoint bytes.</summary>
    public EmbeddingTable(ReadOnlyMemory<byte> data, TensorDType dtype, int rows, int width)
    {
        if (dtype is not (TensorDType.F32 or TensorDType.F16 or TensorDType.BF16))
        {
            throw new ModelLoadException($"An embedding table must be F32, F16 or BF16, not {dtype}.");
        }

        _data = data;
        _dtype = dtype;
        Rows = rows;
        Width = width;
    }

    /// <summary>Gets the number of rows (the vocabulary size).</summary>
    public int Rows { get; }

    /// <summary>Gets the row width (the hidden size).</summary>
    public int Width { get; }

    /// <summary>Gets the stored bytes (for an LM head tied to the embeddings).</summary>
    public ReadOnlyMemory<byte> Data => _data;

    /// <summary>Gets the stored element type.</summary>
    public TensorDType DType => _dtype;

    /// <summary>Loads a table from a checkpoint after checking its shape.</summary>
    public static EmbeddingTable Load(WeightLoader loader, string name, int rows, int width)
    {
        var info = loader.Checkpoint.CheckShape(name, rows, width);
        return info.DType is TensorDType.F32 or TensorDType.F16 or TensorDType.BF16
            ? new EmbeddingTable(loader.Checkpoint.GetBytes(name), info.DType, rows, width)
            : throw new ModelLoadException($"Tensor '{name}' is {info.DType}; embeddings must be F32, F16 or BF16.", loader.Checkpoint.Path);
    }

    /// <summary>Copies one row as float32, multiplied by <paramref name="scale"/>.</summary>
    public void CopyRow(int row, Span<float> destination, float scale = 1f)
    {
        var size = _dtype == TensorDType.F32 ? 4 : 2;
        SafeTensorsCheckpoint.Convert(_dtype, _data.Span.Slice(row * Width * size, Width * size), destination);

        if (scale != 1f)
        {
            System.Numerics.Tensors.TensorPrimitives.Multiply(destination[..Width], scale, destination);
        }
    }
}
