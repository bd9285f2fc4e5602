// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>The element type of a tensor (<c>ONNXTensorElementDataType</c>); values equal the C enum's.</summary>
internal enum OrtElementType
{
    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED (also used for values that are not tensors).</summary>
    Undefined = 0,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: <see cref="float"/>.</summary>
    Float = 1,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: <see cref="byte"/>.</summary>
    UInt8 = 2,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: <see cref="sbyte"/>.</summary>
    Int8 = 3,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: <see cref="ushort"/>.</summary>
    UInt16 = 4,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: <see cref="short"/>.</summary>
    Int16 = 5,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: <see cref="int"/>.</summary>
    Int32 = 6,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: <see cref="long"/>.</summary>
    Int64 = 7,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING (not supported by <see cref="OrtValue"/>'s span accessors).</summary>
    String = 8,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: <see cref="bool"/> (one byte, 0 or 1).</summary>
    Bool = 9,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: <see cref="Half"/>.</summary>
    Float16 = 10,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: <see cref="double"/>.</summary>
    Double = 11,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: <see cref="uint"/>.</summary>
    UInt32 = 12,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: <see cref="ulong"/>.</summary>
    UInt64 = 13,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX64.</summary>
    Complex64 = 14,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX128.</summary>
    Complex128 = 15,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16.</summary>
    BFloat16 = 16,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN.</summary>
    Float8E4M3FN = 17,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FNUZ.</summary>
    Float8E4M3FNUZ = 18,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2.</summary>
    Float8E5M2 = 19,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2FNUZ.</summary>
    Float8E5M2FNUZ = 20,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT4 (two values per byte).</summary>
    UInt4 = 21,

    /// <summary>ONNX_TENSOR_ELEMENT_DATA_TYPE_INT4 (two values per byte).</summary>
    Int4 = 22,
}

/// <summary>What kind of value an input, output or <see cref="OrtValue"/> is (<c>ONNXType</c>); values equal the C enum's.</summary>
internal enum OrtValueKind
{
    /// <summary>ONNX_TYPE_UNKNOWN.</summary>
    Unknown = 0,

    /// <summary>ONNX_TYPE_TENSOR.</summary>
    Tensor = 1,

    /// <summary>ONNX_TYPE_SEQUENCE.</summary>
    Sequence = 2,

    /// <summary>ONNX_TYPE_MAP.</summary>
    Map = 3,

    /// <summary>ONNX_TYPE_OPAQUE.</summary>
    Opaque = 4,

    /// <summary>ONNX_TYPE_SPARSETENSOR.</summary>
    SparseTensor = 5,

    /// <summary>ONNX_TYPE_OPTIONAL.</summary>
    Optional = 6,
}

/// <summary>Values of other C enums the binding passes (<c>OrtLoggingLevel</c>, <c>OrtAllocatorType</c>, <c>OrtMemType</c>).</summary>
internal static class OrtConstants
{
    /// <summary>ORT_LOGGING_LEVEL_WARNING: the environment's log level.</summary>
    public const int LoggingLevelWarning = 2;

    /// <summary>OrtArenaAllocator: the allocator type named by the CPU memory info (as ONNX Runtime's own default CPU memory info does).</summary>
    public const int ArenaAllocator = 1;

    /// <summary>OrtMemTypeDefault: ordinary memory of the device.</summary>
    public const int MemTypeDefault = 0;
}

/// <summary>Maps .NET element types to <see cref="OrtElementType"/>.</summary>
internal static class OrtElementTypes
{
    /// <summary>Returns the ONNX element type of <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">An element type.</typeparam>
    /// <returns>The element type, or <see cref="OrtElementType.Undefined"/> when <typeparamref name="T"/> has no ONNX counterpart here.</returns>
    public static OrtElementType Of<T>()
        where T : unmanaged =>
        // The JIT folds these comparisons per instantiation, so this is a constant at each call site.
        typeof(T) == typeof(float) ? OrtElementType.Float
        : typeof(T) == typeof(long) ? OrtElementType.Int64
        : typeof(T) == typeof(int) ? OrtElementType.Int32
        : typeof(T) == typeof(byte) ? OrtElementType.UInt8
        : typeof(T) == typeof(bool) ? OrtElementType.Bool
        : typeof(T) == typeof(Half) ? OrtElementType.Float16
        : typeof(T) == typeof(double) ? OrtElementType.Double
        : typeof(T) == typeof(sbyte) ? OrtElementType.Int8
        : typeof(T) == typeof(short) ? OrtElementType.Int16
        : typeof(T) == typeof(ushort) ? OrtElementType.UInt16
        : typeof(T) == typeof(uint) ? OrtElementType.UInt32
        : typeof(T) == typeof(ulong) ? OrtElementType.UInt64
        : OrtElementType.Undefined;

    /// <summary>Returns the ONNX element type of <typeparamref name="T"/>, or throws when there is none.</summary>
    /// <typeparam name="T">An element type.</typeparam>
    /// <returns>The element type.</returns>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float, double, Half, bool or an 8- to 64-bit integer.</exception>
    public static OrtElementType Require<T>()
        where T : unmanaged
    {
        var type = Of<T>();
        return type != OrtElementType.Undefined
            ? type
            : throw new NotSupportedException($"{typeof(T).Name} has no ONNX tensor element type; use float, double, Half, bool, or an 8- to 64-bit integer.");
    }
}
