// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>The element types of GenAI tensors (<c>OgaElementType</c>); the values are ONNX's.</summary>
internal enum GenAiElementType
{
    /// <summary>OgaElementType_undefined.</summary>
    Undefined = 0,

    /// <summary>OgaElementType_float32.</summary>
    Float32 = 1,

    /// <summary>OgaElementType_uint8.</summary>
    UInt8 = 2,

    /// <summary>OgaElementType_int8.</summary>
    Int8 = 3,

    /// <summary>OgaElementType_uint16.</summary>
    UInt16 = 4,

    /// <summary>OgaElementType_int16.</summary>
    Int16 = 5,

    /// <summary>OgaElementType_int32.</summary>
    Int32 = 6,

    /// <summary>OgaElementType_int64.</summary>
    Int64 = 7,

    /// <summary>OgaElementType_string (not supported by GenAI).</summary>
    String = 8,

    /// <summary>OgaElementType_bool.</summary>
    Bool = 9,

    /// <summary>OgaElementType_float16.</summary>
    Float16 = 10,

    /// <summary>OgaElementType_float64.</summary>
    Float64 = 11,

    /// <summary>OgaElementType_uint32.</summary>
    UInt32 = 12,

    /// <summary>OgaElementType_uint64.</summary>
    UInt64 = 13,

    /// <summary>OgaElementType_complex64.</summary>
    Complex64 = 14,

    /// <summary>OgaElementType_complex128.</summary>
    Complex128 = 15,

    /// <summary>OgaElementType_bfloat16.</summary>
    BFloat16 = 16,
}

/// <summary>The ONNX Runtime GenAI C API functions this package uses (<c>ort_genai_c.h</c>, 0.15.2).</summary>
/// <remarks>
/// Every <c>OgaResult*</c> is <see cref="IntPtr.Zero"/> on success; pass it to <see cref="GenAiResult.ThrowIfFailed"/>.
/// Object arguments are the owning <see cref="SafeHandle"/>s, which the marshaller keeps alive for the call; objects
/// GenAI creates come back as raw pointers that the caller adopts into a handle at once. On Windows the header declares
/// <c>_stdcall</c>, which is the platform default on x64 and arm64, so no calling convention is spelled out.
/// The header says "This API is not thread safe": see the wrapper types for what may run concurrently.
/// </remarks>
internal static unsafe partial class GenAiNative
{
    private const string Lib = GenAiLibrary.LogicalName;

    // Any call into this class first installs the assembly's resolver, which loads ONNX Runtime and then GenAI.
    static GenAiNative() => GenAiLibrary.RegisterResolver();

    // ---------------------------------------------------------------- global, results, strings

    // void OgaShutdown();
    [LibraryImport(Lib, EntryPoint = "OgaShutdown")]
    public static partial void Shutdown();

    // const char* OgaResultGetError(const OgaResult* result);
    [LibraryImport(Lib, EntryPoint = "OgaResultGetError")]
    public static partial byte* ResultGetError(IntPtr result);

    // void OgaDestroyResult(OgaResult* result);
    [LibraryImport(Lib, EntryPoint = "OgaDestroyResult")]
    public static partial void DestroyResult(IntPtr result);

    // void OgaDestroyString(const char*);
    [LibraryImport(Lib, EntryPoint = "OgaDestroyString")]
    public static partial void DestroyString(byte* value);

    // ---------------------------------------------------------------- config

    // OgaResult* OgaCreateConfig(const char* config_path, OgaConfig** out);
    [LibraryImport(Lib, EntryPoint = "OgaCreateConfig", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr CreateConfig(string configPath, out IntPtr config);

    // OgaResult* OgaConfigClearProviders(OgaConfig* config);
    [LibraryImport(Lib, EntryPoint = "OgaConfigClearProviders")]
    public static partial IntPtr ConfigClearProviders(SafeGenAiConfigHandle config);

    // OgaResult* OgaConfigAppendProvider(OgaConfig* config, const char* provider);
    [LibraryImport(Lib, EntryPoint = "OgaConfigAppendProvider", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr ConfigAppendProvider(SafeGenAiConfigHandle config, string provider);

    // OgaResult* OgaConfigSetProviderOption(OgaConfig* config, const char* provider, const char* key, const char* value);
    [LibraryImport(Lib, EntryPoint = "OgaConfigSetProviderOption", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr ConfigSetProviderOption(SafeGenAiConfigHandle config, string provider, string key, string value);

    // OgaResult* OgaConfigOverlay(OgaConfig* config, const char* json);
    [LibraryImport(Lib, EntryPoint = "OgaConfigOverlay", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr ConfigOverlay(SafeGenAiConfigHandle config, string json);

    // void OgaDestroyConfig(OgaConfig* config);
    [LibraryImport(Lib, EntryPoint = "OgaDestroyConfig")]
    public static partial void DestroyConfig(IntPtr config);

    // ---------------------------------------------------------------- model

    // OgaResult* OgaCreateModelFromConfig(const OgaConfig* config, OgaModel** out);
    [LibraryImport(Lib, EntryPoint = "OgaCreateModelFromConfig")]
    public static partial IntPtr CreateModelFromConfig(SafeGenAiConfigHandle config, out IntPtr model);

    // OgaResult* OgaModelGetType(const OgaModel* model, const char** out);   (*out freed with OgaDestroyString)
    [LibraryImport(Lib, EntryPoint = "OgaModelGetType")]
    public static partial IntPtr ModelGetType(SafeGenAiModelHandle model, out byte* type);

    // void OgaDestroyModel(OgaModel* model);
    [LibraryImport(Lib, EntryPoint = "OgaDestroyModel")]
    public static partial void DestroyModel(IntPtr model);

    // ---------------------------------------------------------------- generator params

    // OgaResult* OgaCreateGeneratorParams(const OgaModel* model, OgaGeneratorParams** out);
    [LibraryImport(Lib, EntryPoint = "OgaCreateGeneratorParams")]
    public static partial IntPtr CreateGeneratorParams(SafeGenAiModelHandle model, out IntPtr generatorParams);

    // OgaResult* OgaGeneratorParamsSetSearchNumber(OgaGeneratorParams* params, const char* name, double value);
    [LibraryImport(Lib, EntryPoint = "OgaGeneratorParamsSetSearchNumber", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr GeneratorParamsSetSearchNumber(SafeGenAiGeneratorParamsHandle generatorParams, string name, double value);

    // OgaResult* OgaGeneratorParamsSetSearchBool(OgaGeneratorParams* params, const char* name, bool value);
    [LibraryImport(Lib, EntryPoint = "OgaGeneratorParamsSetSearchBool", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr GeneratorParamsSetSearchBool(SafeGenAiGeneratorParamsHandle generatorParams, string name, [MarshalAs(UnmanagedType.U1)] bool value);

    // void OgaDestroyGeneratorParams(OgaGeneratorParams* params);
    [LibraryImport(Lib, EntryPoint = "OgaDestroyGeneratorParams")]
    public static partial void DestroyGeneratorParams(IntPtr generatorParams);

    // ---------------------------------------------------------------- generator

    // OgaResult* OgaCreateGenerator(const OgaModel* model, const OgaGeneratorParams* params, OgaGenerator** out);
    [LibraryImport(Lib, EntryPoint = "OgaCreateGenerator")]
    public static partial IntPtr CreateGenerator(SafeGenAiModelHandle model, SafeGenAiGeneratorParamsHandle generatorParams, out IntPtr generator);

    // void OgaDestroyGenerator(OgaGenerator* generator);
    [LibraryImport(Lib, EntryPoint = "OgaDestroyGenerator")]
    public static partial void DestroyGenerator(IntPtr generator);

    // bool OgaGenerator_IsDone(OgaGenerator* generator);
    [LibraryImport(Lib, EntryPoint = "OgaGenerator_IsDone")]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool GeneratorIsDone(SafeGenAiGeneratorHandle generator);

    // OgaResult* OgaGenerator_SetInputs(OgaGenerator* generator, const OgaNamedTensors* named_tensors);
    [LibraryImport(Lib, EntryPoint = "OgaGenerator_SetInputs")]
    public static partial IntPtr GeneratorSetInputs(SafeGenAiGeneratorHandle generator, SafeGenAiNamedTensorsHandle namedTensors);

    // OgaResult* OgaGenerator_AppendTokens(OgaGenerator* generator, const int32_t* input_ids, size_t input_ids_count);
    [LibraryImport(Lib, EntryPoint = "OgaGenerator_AppendTokens")]
    public static partial IntPtr GeneratorAppendTokens(SafeGenAiGeneratorHandle generator, int* inputIds, nuint inputIdsCount);

    // size_t OgaGenerator_TokenCount(const OgaGenerator* generator);
    [LibraryImport(Lib, EntryPoint = "OgaGenerator_TokenCount")]
    public static partial nuint GeneratorTokenCount(SafeGenAiGeneratorHandle generator);

    // OgaResult* OgaGenerator_GenerateNextToken(OgaGenerator* generator);
    [LibraryImport(Lib, EntryPoint = "OgaGenerator_GenerateNextToken")]
    public static partial IntPtr GeneratorGenerateNextToken(SafeGenAiGeneratorHandle generator);

    // OgaResult* OgaGenerator_GetNextTokens(const OgaGenerator* generator, const int32_t** out, size_t* out_count);
    // (*out is valid until the next OgaGenerator call)
    [LibraryImport(Lib, EntryPoint = "OgaGenerator_GetNextTokens")]
    public static partial IntPtr GeneratorGetNextTokens(SafeGenAiGeneratorHandle generator, out int* tokens, out nuint count);

    // OgaResult* OgaGenerator_SetRuntimeOption(OgaGenerator* generator, const char* key, const char* value);
    [LibraryImport(Lib, EntryPoint = "OgaGenerator_SetRuntimeOption", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr GeneratorSetRuntimeOption(SafeGenAiGeneratorHandle generator, string key, string value);

    // OgaResult* OgaGenerator_RewindTo(OgaGenerator* generator, size_t new_length);
    [LibraryImport(Lib, EntryPoint = "OgaGenerator_RewindTo")]
    public static partial IntPtr GeneratorRewindTo(SafeGenAiGeneratorHandle generator, nuint newLength);

    // OgaResult* OgaGenerator_GetLogits(OgaGenerator* generator, OgaTensor** out);   (a [batch, 1, vocab] float32 copy)
    [LibraryImport(Lib, EntryPoint = "OgaGenerator_GetLogits")]
    public static partial IntPtr GeneratorGetLogits(SafeGenAiGeneratorHandle generator, out IntPtr tensor);

    // size_t OgaGenerator_GetSequenceCount(const OgaGenerator* generator, size_t index);
    [LibraryImport(Lib, EntryPoint = "OgaGenerator_GetSequenceCount")]
    public static partial nuint GeneratorGetSequenceCount(SafeGenAiGeneratorHandle generator, nuint index);

    // const int32_t* OgaGenerator_GetSequenceData(const OgaGenerator* generator, size_t index);   (valid until the next call)
    [LibraryImport(Lib, EntryPoint = "OgaGenerator_GetSequenceData")]
    public static partial int* GeneratorGetSequenceData(SafeGenAiGeneratorHandle generator, nuint index);

    // ---------------------------------------------------------------- tensors

    // OgaResult* OgaCreateTensorFromBuffer(void* data, const int64_t* shape_dims, size_t shape_dims_count, OgaElementType element_type, OgaTensor** out);
    // (data == NULL: GenAI allocates and owns the buffer; a non-null buffer would be wrapped, not copied)
    [LibraryImport(Lib, EntryPoint = "OgaCreateTensorFromBuffer")]
    public static partial IntPtr CreateTensorFromBuffer(void* data, long* shapeDims, nuint shapeDimsCount, GenAiElementType elementType, out IntPtr tensor);

    // void OgaDestroyTensor(OgaTensor* tensor);
    [LibraryImport(Lib, EntryPoint = "OgaDestroyTensor")]
    public static partial void DestroyTensor(IntPtr tensor);

    // OgaResult* OgaTensorGetType(OgaTensor*, OgaElementType* out);
    [LibraryImport(Lib, EntryPoint = "OgaTensorGetType")]
    public static partial IntPtr TensorGetType(SafeGenAiTensorHandle tensor, out GenAiElementType elementType);

    // OgaResult* OgaTensorGetShapeRank(OgaTensor*, size_t* out);
    [LibraryImport(Lib, EntryPoint = "OgaTensorGetShapeRank")]
    public static partial IntPtr TensorGetShapeRank(SafeGenAiTensorHandle tensor, out nuint rank);

    // OgaResult* OgaTensorGetShape(OgaTensor*, int64_t* shape_dims, size_t shape_dims_count);
    [LibraryImport(Lib, EntryPoint = "OgaTensorGetShape")]
    public static partial IntPtr TensorGetShape(SafeGenAiTensorHandle tensor, long* shapeDims, nuint shapeDimsCount);

    // OgaResult* OgaTensorGetData(OgaTensor*, void** out);
    [LibraryImport(Lib, EntryPoint = "OgaTensorGetData")]
    public static partial IntPtr TensorGetData(SafeGenAiTensorHandle tensor, out void* data);

    // ---------------------------------------------------------------- named tensors

    // OgaResult* OgaCreateNamedTensors(OgaNamedTensors** out);
    [LibraryImport(Lib, EntryPoint = "OgaCreateNamedTensors")]
    public static partial IntPtr CreateNamedTensors(out IntPtr namedTensors);

    // OgaResult* OgaNamedTensorsSet(OgaNamedTensors* named_tensors, const char* name, OgaTensor* tensor);   (takes a reference)
    [LibraryImport(Lib, EntryPoint = "OgaNamedTensorsSet", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr NamedTensorsSet(SafeGenAiNamedTensorsHandle namedTensors, string name, SafeGenAiTensorHandle tensor);

    // OgaResult* OgaNamedTensorsCount(const OgaNamedTensors* named_tensors, size_t* out);
    [LibraryImport(Lib, EntryPoint = "OgaNamedTensorsCount")]
    public static partial IntPtr NamedTensorsCount(SafeGenAiNamedTensorsHandle namedTensors, out nuint count);

    // void OgaDestroyNamedTensors(OgaNamedTensors*);
    [LibraryImport(Lib, EntryPoint = "OgaDestroyNamedTensors")]
    public static partial void DestroyNamedTensors(IntPtr namedTensors);
}
