// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;
using System.Text;

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>The process-wide ONNX Runtime objects every session shares: the default CPU allocator and a CPU memory info.</summary>
/// <remarks>Both are created on first use and live for the process (the default allocator must never be released).</remarks>
internal static unsafe class OrtMemory
{
    private static readonly Lock s_lock = new();
    private static nint s_defaultAllocator;
    private static SafeOrtMemoryInfoHandle? s_cpu;

    /// <summary>Gets ONNX Runtime's default CPU allocator (<c>GetAllocatorWithDefaultOptions</c>), which allocates names and ONNX Runtime-owned tensors.</summary>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot return it.</exception>
    public static nint DefaultAllocator
    {
        get
        {
            var allocator = Volatile.Read(ref s_defaultAllocator);
            if (allocator != 0)
            {
                return allocator;
            }

            OrtStatus.ThrowIfFailed(OrtApi.GetAllocatorWithDefaultOptions(&allocator), "get its default allocator");
            Volatile.Write(ref s_defaultAllocator, allocator);
            return allocator;
        }
    }

    /// <summary>Gets a CPU memory info (arena allocator type, default memory type): where tensors over managed memory live and where <see cref="OrtIoBinding.BindOutputToCpu"/> puts outputs.</summary>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot create it.</exception>
    public static SafeOrtMemoryInfoHandle Cpu
    {
        get
        {
            var cpu = Volatile.Read(ref s_cpu);
            if (cpu is not null)
            {
                return cpu;
            }

            lock (s_lock)
            {
                if (s_cpu is null)
                {
                    nint info;
                    OrtStatus.ThrowIfFailed(OrtApi.CreateCpuMemoryInfo(OrtConstants.ArenaAllocator, OrtConstants.MemTypeDefault, &info), "create a CPU memory info");
                    s_cpu = SafeOrtMemoryInfoHandle.Adopt(info);
                }

                return s_cpu!;
            }
        }
    }

    /// <summary>Reads a string ONNX Runtime allocated with <see cref="DefaultAllocator"/> and frees it.</summary>
    /// <param name="text">The <c>char*</c>; freed with <c>AllocatorFree</c> even when reading fails.</param>
    /// <returns>The string (empty for null).</returns>
    public static string TakeString(byte* text)
    {
        if (text is null)
        {
            return string.Empty;
        }

        using var owned = SafeOrtAllocatedHandle.Adopt((nint)text);
        return Marshal.PtrToStringUTF8((nint)text) ?? string.Empty;
    }

    /// <summary>Encodes a string as NUL-terminated UTF-8.</summary>
    /// <param name="value">The string.</param>
    /// <param name="paramName">The argument name for errors.</param>
    /// <returns>The bytes, ending with a 0.</returns>
    /// <exception cref="ArgumentException"><paramref name="value"/> contains a NUL character.</exception>
    public static byte[] Utf8(string value, string paramName)
    {
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The string must not contain NUL characters.", paramName);
        }

        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }
}

/// <summary>An array of NUL-terminated UTF-8 strings in one native block, for <c>const char* const*</c> parameters; free it with <see cref="Dispose"/>.</summary>
internal unsafe struct Utf8StringArray : IDisposable
{
    private byte** _block;

    /// <summary>Encodes the strings.</summary>
    /// <param name="strings">The strings.</param>
    /// <param name="paramName">The argument name for errors.</param>
    /// <exception cref="ArgumentException">A string is null or contains a NUL character.</exception>
    public Utf8StringArray(IReadOnlyList<string> strings, string paramName)
    {
        var count = strings.Count;
        var total = (nuint)(count * sizeof(byte*));
        for (var i = 0; i < count; i++)
        {
            var s = strings[i] ?? throw new ArgumentException($"Element {i} is null.", paramName);
            if (s.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException($"Element {i} contains a NUL character.", paramName);
            }

            total += (nuint)Encoding.UTF8.GetByteCount(s) + 1;
        }

        Count = count;
        _block = (byte**)NativeMemory.Alloc(Math.Max(total, 1));
        var text = (byte*)(_block + count);
        var end = (byte*)_block + total;
        for (var i = 0; i < count; i++)
        {
            _block[i] = text;
            var written = Encoding.UTF8.GetBytes(strings[i], new Span<byte>(text, (int)(end - text)));
            text[written] = 0;
            text += written + 1;
        }
    }

    /// <summary>Gets the pointers, one per string.</summary>
    public readonly byte** Pointers => _block;

    /// <summary>Gets the number of strings.</summary>
    public int Count { get; }

    /// <summary>Frees the block.</summary>
    public void Dispose()
    {
        NativeMemory.Free(_block);
        _block = null;
    }
}
