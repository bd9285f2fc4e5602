// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;
using System.Text.Json;

namespace Multimodal.Backends.Managed.SafeTensors;

/// <summary>
/// A Hugging Face safetensors checkpoint, single file or sharded (<c>model.safetensors.index.json</c>), memory-mapped
/// and read lazily: opening reads and validates only the headers; tensor bytes are paged in when first used.
/// </summary>
/// <remarks>
/// <para>Every header is validated when the checkpoint opens (see <see cref="ModelLoadException"/> messages): well-formed
/// JSON, known dtypes, sane shapes, offsets inside the file, sizes equal to shape × dtype, no overlapping tensors; a
/// sharded index must name existing files inside its folder, and every tensor it maps must be in that file. A
/// checkpoint that opened can therefore never read outside its files.</para>
/// <para>Memory returned by <see cref="GetBytes"/> points into the mapping and is valid until <see cref="Dispose"/>;
/// models keep their checkpoint open for their lifetime. Thread-safe for reading.</para>
/// </remarks>
public sealed class SafeTensorsCheckpoint : IDisposable
{
    /// <summary>The conventional single-file name.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>The conventional index name of a sharded checkpoint.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly Dictionary<string, SafeTensorInfo> _tensors;
    private readonly Dictionary<string, MappedFile> _files;
    private readonly List<string> _names;
    private readonly Dictionary<string, Microsoft.Win32.SafeHandles.SafeFileHandle> _handles = new(StringComparer.Ordinal);
    private bool _disposed;

    private SafeTensorsCheckpoint(string path, Dictionary<string, SafeTensorInfo> tensors, List<string> names, Dictionary<string, MappedFile> files, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _tensors = tensors;
        _names = names;
        _files = files;
        Metadata = metadata;
    }

    /// <summary>Gets the file or index the checkpoint was opened from.</summary>
    public string Path { get; }

    /// <summary>Gets the names of every tensor, in file order (shard by shard).</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Gets the <c>__metadata__</c> of the first file (or the index's <c>metadata</c> strings), possibly empty.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens a checkpoint: a <c>.safetensors</c> file, a <c>*.safetensors.index.json</c>, or a folder holding
    /// <c>model.safetensors.index.json</c>, <c>model.safetensors</c> or exactly one other <c>.safetensors</c> file.</summary>
    /// <param name="path">The file or folder.</param>
    /// <returns>The open checkpoint.</returns>
    /// <exception cref="ModelLoadException">Nothing loadable is there, or a header or the index is malformed.</exception>
    public static SafeTensorsCheckpoint Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            return Open(FindInFolder(full));
        }

        if (!File.Exists(full))
        {
            throw new ModelLoadException($"Cannot load the checkpoint: '{path}' does not exist.", path);
        }

        return full.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? OpenSharded(full) : OpenFiles(full, [full], null, null);
    }

    /// <summary>Tells whether a tensor exists.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>Whether it exists.</returns>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>Returns a tensor's header entry.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="ModelLoadException">No such tensor.</exception>
    public SafeTensorInfo GetInfo(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_tensors.TryGetValue(name, out var info))
        {
            return info;
        }

        var similar = _names.Where(n => n.EndsWith(name.Split('.')[^1], StringComparison.Ordinal)).Take(3).ToList();
        var hint = similar.Count > 0 ? $" Tensors with a similar ending: {string.Join(", ", similar)}." : string.Empty;
        throw new ModelLoadException($"The checkpoint has no tensor '{name}' ({_names.Count} tensors in {System.IO.Path.GetFileName(Path)}); it is incomplete or has a different layout than the model's config says.{hint}", Path);
    }

    /// <summary>Returns a tensor's raw bytes, memory-mapped (valid until the checkpoint is disposed).</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>The bytes, little-endian, row-major.</returns>
    /// <exception cref="ModelLoadException">No such tensor, or it is larger than 2 GB.</exception>
    /// <exception cref="ObjectDisposedException">The checkpoint is disposed.</exception>
    public ReadOnlyMemory<byte> GetBytes(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var info = GetInfo(name);
        if (info.ByteLength > int.MaxValue)
        {
            throw new ModelLoadException($"Tensor '{name}' is {info.ByteLength} bytes; tensors over 2 GB are not supported by this loader.", Path);
        }

        return _files[info.FilePath].Slice(info.Offset, (int)info.ByteLength);
    }

    /// <summary>Reads a floating-point tensor (F32, F16, BF16, F64) converted to float32.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>The values, row-major.</returns>
    /// <exception cref="ModelLoadException">No such tensor, or it is not floating point.</exception>
    public float[] ReadSingle(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var info = GetInfo(name);
        if (info.DType is not (TensorDType.F32 or TensorDType.F16 or TensorDType.BF16 or TensorDType.F64))
        {
            throw new ModelLoadException($"Tensor '{name}' is {info.DType}; a floating-point tensor (F32, F16, BF16 or F64) was expected.", Path);
        }

        // Read through the file rather than the mapping: converted copies should not also keep the mapped pages
        // resident (a quantized 7B model would otherwise hold its bf16 file in memory as well).
        var size = SafeTensorsHeader.ElementSize(info.DType);
        var result = GC.AllocateUninitializedArray<float>(checked((int)info.ElementCount));
        var handle = Handle(info.FilePath);
        const int ChunkElements = 1 << 20;
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(ChunkElements * size);
        try
        {
            for (var first = 0; first < result.Length; first += ChunkElements)
            {
                var count = Math.Min(ChunkElements, result.Length - first);
                var bytes = buffer.AsSpan(0, count * size);
                ReadExactly(handle, info, bytes, (long)first * size);

                Convert(info.DType, bytes, result.AsSpan(first, count));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        return result;
    }

    /// <summary>Copies a tensor's raw bytes through the file (not the mapping, so they do not stay resident).</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="destination">Receives the bytes; at least <see cref="SafeTensorInfo.ByteLength"/> long.</param>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="ModelLoadException">No such tensor, or the file ended early.</exception>
    public int ReadBytes(string name, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var info = GetInfo(name);
        if (info.ByteLength > destination.Length)
        {
            throw new ArgumentException($"Tensor '{name}' has {info.ByteLength} bytes; the destination holds {destination.Length}.", nameof(destination));
        }

        var bytes = destination[..(int)info.ByteLength];
        ReadExactly(Handle(info.FilePath), info, bytes, 0);

        return bytes.Length;
    }

    /// <summary>Reads a floating-point tensor after checking its shape.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="shape">The expected shape.</param>
    /// <returns>The values, row-major.</returns>
    /// <exception cref="ModelLoadException">No such tensor, wrong shape, or not floating point; the message names the tensor, the expected and the actual shape.</exception>
    public float[] ReadSingle(string name, params ReadOnlySpan<long> shape)
    {
        CheckShape(name, shape);
        return ReadSingle(name);
    }

    /// <summary>Checks a tensor's shape.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="shape">The expected shape.</param>
    /// <returns>The tensor's entry.</returns>
    /// <exception cref="ModelLoadException">No such tensor, or its shape differs; the message names both shapes.</exception>
    public SafeTensorInfo CheckShape(string name, params ReadOnlySpan<long> shape)
    {
        var info = GetInfo(name);
        if (!info.Shape.SequenceEqual(shape.ToArray()))
        {
            throw new ModelLoadException($"Tensor '{name}' has shape [{string.Join(", ", info.Shape)}] but the config implies [{string.Join(", ", shape.ToArray())}]; the checkpoint does not match its config.json.", Path);
        }

        return info;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var file in _files.Values)
        {
            ((IDisposable)file).Dispose();
        }

        lock (_handles)
        {
            foreach (var handle in _handles.Values)
            {
                handle.Dispose();
            }

            _handles.Clear();
        }
    }

    /// <summary>Converts stored floating-point bytes (F32, F16, BF16, F64) to float32.</summary>
    internal static void Convert(TensorDType dtype, ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        switch (dtype)
        {
            case TensorDType.F32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
                break;
            case TensorDType.F16:
                Kernels.HalfConvert.HalfToSingle(bytes, destination);
                break;
            case TensorDType.BF16:
                Kernels.HalfConvert.BFloat16ToSingle(bytes, destination);
                break;
            default:
                var doubles = MemoryMarshal.Cast<byte, double>(bytes);
                for (var i = 0; i < doubles.Length; i++)
                {
                    destination[i] = (float)doubles[i];
                }

                break;
        }
    }

    /// <summary>Fills <paramref name="bytes"/> from the tensor's data starting <paramref name="offset"/> bytes in.</summary>
    private void ReadExactly(Microsoft.Win32.SafeHandles.SafeFileHandle handle, SafeTensorInfo info, Span<byte> bytes, long offset)
    {
        var read = 0;
        while (read < bytes.Length)
        {
            var n = RandomAccess.Read(handle, bytes[read..], info.Offset + offset + read);
            if (n == 0)
            {
                throw new ModelLoadException($"Tensor '{info.Name}' could not be read: {System.IO.Path.GetFileName(info.FilePath)} ended early (was it truncated after opening?).", Path);
            }

            read += n;
        }
    }

    private Microsoft.Win32.SafeHandles.SafeFileHandle Handle(string file)
    {
        lock (_handles)
        {
            if (!_handles.TryGetValue(file, out var handle))
            {
                handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.Read);
                _handles[file] = handle;
            }

            return handle;
        }
    }

    private static string FindInFolder(string folder)
    {
        var index = System.IO.Path.Combine(folder, IndexFileName);
        if (File.Exists(index))
        {
            return index;
        }

        var single = System.IO.Path.Combine(folder, SingleFileName);
        if (File.Exists(single))
        {
            return single;
        }

        var files = Directory.GetFiles(folder, "*.safetensors");
        if (files.Length == 1)
        {
            return files[0];
        }

        var indexes = Directory.GetFiles(folder, "*.safetensors.index.json");
        if (indexes.Length == 1)
        {
            return indexes[0];
        }

        if (files.Length > 1)
        {
            throw new ModelLoadException($"'{folder}' holds {files.Length} .safetensors files but no {IndexFileName} saying how they fit together; add the index or open one file.", folder);
        }

        var pickles = Directory.GetFiles(folder, "*.bin").Concat(Directory.GetFiles(folder, "*.pt")).ToList();
        var hint = pickles.Count > 0
            ? $" It has PyTorch pickle files ({string.Join(", ", pickles.Select(System.IO.Path.GetFileName).Take(3))}); convert them to safetensors first (for example with transformers' save_pretrained(safe_serialization=True))."
            : string.Empty;
        throw new ModelLoadException($"'{folder}' has no safetensors checkpoint ({SingleFileName} or {IndexFileName}).{hint}", folder);
    }

    private static SafeTensorsCheckpoint OpenSharded(string indexPath)
    {
        var folder = System.IO.Path.GetDirectoryName(indexPath)!;
        Dictionary<string, string> weightMap = new(StringComparer.Ordinal);
        Dictionary<string, string> metadata = new(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new ModelLoadException($"The index {System.IO.Path.GetFileName(indexPath)} has no \"weight_map\" object.", indexPath);
            }

            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                {
                    throw new ModelLoadException($"The index maps '{entry.Name}' to a {entry.Value.ValueKind}; file names must be strings.", indexPath);
                }

                if (!weightMap.TryAdd(entry.Name, entry.Value.GetString()!))
                {
                    throw new ModelLoadException($"The index lists '{entry.Name}' twice.", indexPath);
                }
            }

            if (document.RootElement.TryGetProperty("metadata", out var meta) && meta.ValueKind == JsonValueKind.Object)
            {
                foreach (var entry in meta.EnumerateObject())
                {
                    metadata[entry.Name] = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText();
                }
            }
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"The index {System.IO.Path.GetFileName(indexPath)} is not valid JSON: {e.Message}", indexPath, e);
        }

        var shardNames = weightMap.Values.Distinct(StringComparer.Ordinal).ToList();
        var shardPaths = new List<string>();
        foreach (var shard in shardNames)
        {
            if (shard.Length == 0 || shard.Contains('/', StringComparison.Ordinal) || shard.Contains('\\', StringComparison.Ordinal) || shard is "." or "..")
            {
                throw new ModelLoadException($"The index names the shard '{shard}'; shards must be plain file names in the index's folder.", indexPath);
            }

            var shardPath = System.IO.Path.Combine(folder, shard);
            if (!File.Exists(shardPath))
            {
                throw new ModelLoadException($"The index names the shard '{shard}', which is missing from '{folder}'; the download is incomplete.", indexPath);
            }

            shardPaths.Add(shardPath);
        }

        return OpenFiles(indexPath, shardPaths, weightMap, metadata);
    }

    private static SafeTensorsCheckpoint OpenFiles(string path, List<string> files, Dictionary<string, string>? weightMap, Dictionary<string, string>? indexMetadata)
    {
        var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        var names = new List<string>();
        var mapped = new Dictionary<string, MappedFile>(StringComparer.Ordinal);
        IReadOnlyDictionary<string, string>? metadata = indexMetadata;
        try
        {
            foreach (var file in files)
            {
                var length = new FileInfo(file).Length;
                var infos = SafeTensorsHeader.Read(file, length, out var fileMetadata);
                metadata ??= fileMetadata;
                foreach (var info in infos)
                {
                    if (weightMap is not null && (!weightMap.TryGetValue(info.Name, out var owner) || owner != System.IO.Path.GetFileName(file)))
                    {
                        continue; // The index decides which shard a tensor comes from.
                    }

                    if (!tensors.TryAdd(info.Name, info))
                    {
                        throw new ModelLoadException($"Tensor '{info.Name}' appears in two files ({System.IO.Path.GetFileName(tensors[info.Name].FilePath)} and {System.IO.Path.GetFileName(file)}).", path);
                    }

                    names.Add(info.Name);
                }

                mapped[file] = MappedFile.Open(file);
            }

            if (weightMap is not null)
            {
                var missing = weightMap.Keys.Where(n => !tensors.ContainsKey(n)).Take(3).ToList();
                if (missing.Count > 0)
                {
                    throw new ModelLoadException($"The index maps {string.Join(", ", missing.Select(m => $"'{m}' to {weightMap[m]}"))}, but that file does not contain it; the shards and the index do not belong together.", path);
                }
            }

            return new SafeTensorsCheckpoint(path, tensors, names, mapped, metadata ?? new Dictionary<string, string>());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            foreach (var file in mapped.Values)
            {
                ((IDisposable)file).Dispose();
            }

            throw new ModelLoadException($"Cannot read the checkpoint '{path}': {e.Message}", path, e);
        }
        catch
        {
            foreach (var file in mapped.Values)
            {
                ((IDisposable)file).Dispose();
            }

            throw;
        }
    }
}
