// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>The 0-based slot of each <c>OrtApi</c> function this binding calls (<c>offsetof(OrtApi, X) / sizeof(void*)</c>).</summary>
/// <remarks>
/// ONNX Runtime only appends to <c>OrtApi</c> and never moves a shipped slot (its <c>onnxruntime_c_api.cc</c>
/// static-asserts the offsets of every released version), so the indices are fixed. Every slot here is at most
/// <see cref="LastOfApi11"/>, the last slot of API version 11, which is why <see cref="OrtLibrary.ApiVersion"/> is 11 and
/// the binding runs on ONNX Runtime 1.11 or newer. <c>OrtApiAbiTests</c> checks each value against the C header.
/// </remarks>
internal static class OrtApiSlots
{
    /// <summary><c>GetErrorCode</c> (API 1).</summary>
    public const int GetErrorCode = 1;

    /// <summary><c>GetErrorMessage</c> (API 1).</summary>
    public const int GetErrorMessage = 2;

    /// <summary><c>CreateEnv</c> (API 1).</summary>
    public const int CreateEnv = 3;

    /// <summary><c>CreateSession</c> (API 1).</summary>
    public const int CreateSession = 7;

    /// <summary><c>CreateSessionFromArray</c> (API 1).</summary>
    public const int CreateSessionFromArray = 8;

    /// <summary><c>Run</c> (API 1).</summary>
    public const int Run = 9;

    /// <summary><c>CreateSessionOptions</c> (API 1).</summary>
    public const int CreateSessionOptions = 10;

    /// <summary><c>EnableMemPattern</c> (API 1).</summary>
    public const int EnableMemPattern = 16;

    /// <summary><c>DisableMemPattern</c> (API 1).</summary>
    public const int DisableMemPattern = 17;

    /// <summary><c>EnableCpuMemArena</c> (API 1).</summary>
    public const int EnableCpuMemArena = 18;

    /// <summary><c>DisableCpuMemArena</c> (API 1).</summary>
    public const int DisableCpuMemArena = 19;

    /// <summary><c>SetSessionGraphOptimizationLevel</c> (API 1).</summary>
    public const int SetSessionGraphOptimizationLevel = 23;

    /// <summary><c>SetIntraOpNumThreads</c> (API 1).</summary>
    public const int SetIntraOpNumThreads = 24;

    /// <summary><c>SetInterOpNumThreads</c> (API 1).</summary>
    public const int SetInterOpNumThreads = 25;

    /// <summary><c>SessionGetInputCount</c> (API 1).</summary>
    public const int SessionGetInputCount = 30;

    /// <summary><c>SessionGetOutputCount</c> (API 1).</summary>
    public const int SessionGetOutputCount = 31;

    /// <summary><c>SessionGetInputTypeInfo</c> (API 1).</summary>
    public const int SessionGetInputTypeInfo = 33;

    /// <summary><c>SessionGetOutputTypeInfo</c> (API 1).</summary>
    public const int SessionGetOutputTypeInfo = 34;

    /// <summary><c>SessionGetInputName</c> (API 1).</summary>
    public const int SessionGetInputName = 36;

    /// <summary><c>SessionGetOutputName</c> (API 1).</summary>
    public const int SessionGetOutputName = 37;

    /// <summary><c>CreateRunOptions</c> (API 1).</summary>
    public const int CreateRunOptions = 39;

    /// <summary><c>RunOptionsSetTerminate</c> (API 1).</summary>
    public const int RunOptionsSetTerminate = 46;

    /// <summary><c>RunOptionsUnsetTerminate</c> (API 1).</summary>
    public const int RunOptionsUnsetTerminate = 47;

    /// <summary><c>CreateTensorAsOrtValue</c> (API 1).</summary>
    public const int CreateTensorAsOrtValue = 48;

    /// <summary><c>CreateTensorWithDataAsOrtValue</c> (API 1).</summary>
    public const int CreateTensorWithDataAsOrtValue = 49;

    /// <summary><c>IsTensor</c> (API 1).</summary>
    public const int IsTensor = 50;

    /// <summary><c>GetTensorMutableData</c> (API 1).</summary>
    public const int GetTensorMutableData = 51;

    /// <summary><c>CastTypeInfoToTensorInfo</c> (API 1).</summary>
    public const int CastTypeInfoToTensorInfo = 55;

    /// <summary><c>GetOnnxTypeFromTypeInfo</c> (API 1).</summary>
    public const int GetOnnxTypeFromTypeInfo = 56;

    /// <summary><c>GetTensorElementType</c> (API 1).</summary>
    public const int GetTensorElementType = 60;

    /// <summary><c>GetDimensionsCount</c> (API 1).</summary>
    public const int GetDimensionsCount = 61;

    /// <summary><c>GetDimensions</c> (API 1).</summary>
    public const int GetDimensions = 62;

    /// <summary><c>GetSymbolicDimensions</c> (API 1).</summary>
    public const int GetSymbolicDimensions = 63;

    /// <summary><c>GetTensorShapeElementCount</c> (API 1).</summary>
    public const int GetTensorShapeElementCount = 64;

    /// <summary><c>GetTensorTypeAndShape</c> (API 1).</summary>
    public const int GetTensorTypeAndShape = 65;

    /// <summary><c>GetValueType</c> (API 1).</summary>
    public const int GetValueType = 67;

    /// <summary><c>CreateCpuMemoryInfo</c> (API 1).</summary>
    public const int CreateCpuMemoryInfo = 69;

    /// <summary><c>AllocatorFree</c> (API 1).</summary>
    public const int AllocatorFree = 76;

    /// <summary><c>GetAllocatorWithDefaultOptions</c> (API 1).</summary>
    public const int GetAllocatorWithDefaultOptions = 78;

    /// <summary><c>ReleaseEnv</c> (API 1).</summary>
    public const int ReleaseEnv = 92;

    /// <summary><c>ReleaseStatus</c> (API 1).</summary>
    public const int ReleaseStatus = 93;

    /// <summary><c>ReleaseMemoryInfo</c> (API 1).</summary>
    public const int ReleaseMemoryInfo = 94;

    /// <summary><c>ReleaseSession</c> (API 1).</summary>
    public const int ReleaseSession = 95;

    /// <summary><c>ReleaseValue</c> (API 1).</summary>
    public const int ReleaseValue = 96;

    /// <summary><c>ReleaseRunOptions</c> (API 1).</summary>
    public const int ReleaseRunOptions = 97;

    /// <summary><c>ReleaseTypeInfo</c> (API 1).</summary>
    public const int ReleaseTypeInfo = 98;

    /// <summary><c>ReleaseTensorTypeAndShapeInfo</c> (API 1).</summary>
    public const int ReleaseTensorTypeAndShapeInfo = 99;

    /// <summary><c>ReleaseSessionOptions</c> (API 1).</summary>
    public const int ReleaseSessionOptions = 100;

    /// <summary><c>AddSessionConfigEntry</c> (API 5).</summary>
    public const int AddSessionConfigEntry = 130;

    /// <summary><c>RunWithBinding</c> (API 5).</summary>
    public const int RunWithBinding = 133;

    /// <summary><c>CreateIoBinding</c> (API 5).</summary>
    public const int CreateIoBinding = 134;

    /// <summary><c>ReleaseIoBinding</c> (API 5).</summary>
    public const int ReleaseIoBinding = 135;

    /// <summary><c>BindInput</c> (API 5).</summary>
    public const int BindInput = 136;

    /// <summary><c>BindOutput</c> (API 5).</summary>
    public const int BindOutput = 137;

    /// <summary><c>BindOutputToDevice</c> (API 5).</summary>
    public const int BindOutputToDevice = 138;

    /// <summary><c>GetBoundOutputValues</c> (API 5).</summary>
    public const int GetBoundOutputValues = 140;

    /// <summary><c>ClearBoundInputs</c> (API 5).</summary>
    public const int ClearBoundInputs = 141;

    /// <summary><c>ClearBoundOutputs</c> (API 5).</summary>
    public const int ClearBoundOutputs = 142;

    /// <summary><c>SessionOptionsAppendExecutionProvider_CUDA_V2</c> (API 11).</summary>
    public const int SessionOptionsAppendExecutionProviderCudaV2 = 204;

    /// <summary><c>CreateCUDAProviderOptions</c> (API 11).</summary>
    public const int CreateCudaProviderOptions = 205;

    /// <summary><c>UpdateCUDAProviderOptions</c> (API 11).</summary>
    public const int UpdateCudaProviderOptions = 206;

    /// <summary><c>ReleaseCUDAProviderOptions</c> (API 11).</summary>
    public const int ReleaseCudaProviderOptions = 208;

    /// <summary>Not called: <c>SessionOptionsAppendExecutionProvider_MIGraphX</c>, the last slot of API version 11 (the first of 12, <c>AddExternalInitializers</c>, is 210).</summary>
    /// <remarks>Every slot above must be at most this one; the ABI test enforces it.</remarks>
    public const int LastOfApi11 = 209;
}

/// <summary>Typed calls into the <c>OrtApi</c> function table: each reads its slot from <see cref="OrtLibrary.Api"/> and calls it as an unmanaged function pointer.</summary>
/// <remarks>
/// <para>
/// <c>ORT_API_CALL</c> is <c>__stdcall</c> on 32-bit Windows and the platform default elsewhere, which is what a plain
/// <c>delegate* unmanaged</c> means on every platform. Opaque ONNX Runtime objects travel as <see cref="IntPtr"/>
/// (<c>nint</c>); callers hold them in SafeHandles and pass them through <see cref="HandleLease"/> so that a concurrent
/// <c>Dispose</c> cannot free an object during a call. Functions returning <c>OrtStatus*</c> return it as
/// <see cref="IntPtr"/>: <see cref="IntPtr.Zero"/> is success; anything else goes to <see cref="OrtStatus"/>.
/// </para>
/// <para>The C declaration is quoted above each member (names of enum types kept, <c>_In_</c> annotations dropped).</para>
/// </remarks>
internal static unsafe class OrtApi
{
    private static nint* Table => OrtLibrary.Api;

    // OrtErrorCode GetErrorCode(const OrtStatus* status);
    public static int GetErrorCode(nint status) => ((delegate* unmanaged<nint, int>)Table[OrtApiSlots.GetErrorCode])(status);

    // const char* GetErrorMessage(const OrtStatus* status);
    public static byte* GetErrorMessage(nint status) => ((delegate* unmanaged<nint, byte*>)Table[OrtApiSlots.GetErrorMessage])(status);

    // OrtStatus* CreateEnv(OrtLoggingLevel log_severity_level, const char* logid, OrtEnv** out);
    public static nint CreateEnv(int logSeverityLevel, byte* logId, nint* env) =>
        ((delegate* unmanaged<int, byte*, nint*, nint>)Table[OrtApiSlots.CreateEnv])(logSeverityLevel, logId, env);

    // OrtStatus* CreateSession(const OrtEnv* env, const ORTCHAR_T* model_path, const OrtSessionOptions* options, OrtSession** out);
    // ORTCHAR_T is wchar_t (UTF-16) on Windows and char (UTF-8) elsewhere; the pointer is passed untyped.
    public static nint CreateSession(nint env, void* modelPath, nint options, nint* session) =>
        ((delegate* unmanaged<nint, void*, nint, nint*, nint>)Table[OrtApiSlots.CreateSession])(env, modelPath, options, session);

    // OrtStatus* CreateSessionFromArray(const OrtEnv* env, const void* model_data, size_t model_data_length,
    //     const OrtSessionOptions* options, OrtSession** out);
    public static nint CreateSessionFromArray(nint env, void* modelData, nuint modelDataLength, nint options, nint* session) =>
        ((delegate* unmanaged<nint, void*, nuint, nint, nint*, nint>)Table[OrtApiSlots.CreateSessionFromArray])(env, modelData, modelDataLength, options, session);

    // OrtStatus* Run(OrtSession* session, const OrtRunOptions* run_options, const char* const* input_names,
    //     const OrtValue* const* inputs, size_t input_len, const char* const* output_names, size_t output_names_len,
    //     OrtValue** outputs);
    public static nint Run(nint session, nint runOptions, byte** inputNames, nint* inputs, nuint inputCount, byte** outputNames, nuint outputCount, nint* outputs) =>
        ((delegate* unmanaged<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint>)Table[OrtApiSlots.Run])(
            session, runOptions, inputNames, inputs, inputCount, outputNames, outputCount, outputs);

    // OrtStatus* CreateSessionOptions(OrtSessionOptions** options);
    public static nint CreateSessionOptions(nint* options) => ((delegate* unmanaged<nint*, nint>)Table[OrtApiSlots.CreateSessionOptions])(options);

    // OrtStatus* EnableMemPattern(OrtSessionOptions* options);
    public static nint EnableMemPattern(nint options) => ((delegate* unmanaged<nint, nint>)Table[OrtApiSlots.EnableMemPattern])(options);

    // OrtStatus* DisableMemPattern(OrtSessionOptions* options);
    public static nint DisableMemPattern(nint options) => ((delegate* unmanaged<nint, nint>)Table[OrtApiSlots.DisableMemPattern])(options);

    // OrtStatus* EnableCpuMemArena(OrtSessionOptions* options);
    public static nint EnableCpuMemArena(nint options) => ((delegate* unmanaged<nint, nint>)Table[OrtApiSlots.EnableCpuMemArena])(options);

    // OrtStatus* DisableCpuMemArena(OrtSessionOptions* options);
    public static nint DisableCpuMemArena(nint options) => ((delegate* unmanaged<nint, nint>)Table[OrtApiSlots.DisableCpuMemArena])(options);

    // OrtStatus* SetSessionGraphOptimizationLevel(OrtSessionOptions* options, GraphOptimizationLevel graph_optimization_level);
    public static nint SetSessionGraphOptimizationLevel(nint options, int level) =>
        ((delegate* unmanaged<nint, int, nint>)Table[OrtApiSlots.SetSessionGraphOptimizationLevel])(options, level);

    // OrtStatus* SetIntraOpNumThreads(OrtSessionOptions* options, int intra_op_num_threads);
    public static nint SetIntraOpNumThreads(nint options, int threads) =>
        ((delegate* unmanaged<nint, int, nint>)Table[OrtApiSlots.SetIntraOpNumThreads])(options, threads);

    // OrtStatus* SetInterOpNumThreads(OrtSessionOptions* options, int inter_op_num_threads);
    public static nint SetInterOpNumThreads(nint options, int threads) =>
        ((delegate* unmanaged<nint, int, nint>)Table[OrtApiSlots.SetInterOpNumThreads])(options, threads);

    // OrtStatus* SessionGetInputCount(const OrtSession* session, size_t* out);
    public static nint SessionGetInputCount(nint session, nuint* count) =>
        ((delegate* unmanaged<nint, nuint*, nint>)Table[OrtApiSlots.SessionGetInputCount])(session, count);

    // OrtStatus* SessionGetOutputCount(const OrtSession* session, size_t* out);
    public static nint SessionGetOutputCount(nint session, nuint* count) =>
        ((delegate* unmanaged<nint, nuint*, nint>)Table[OrtApiSlots.SessionGetOutputCount])(session, count);

    // OrtStatus* SessionGetInputTypeInfo(const OrtSession* session, size_t index, OrtTypeInfo** type_info);
    public static nint SessionGetInputTypeInfo(nint session, nuint index, nint* typeInfo) =>
        ((delegate* unmanaged<nint, nuint, nint*, nint>)Table[OrtApiSlots.SessionGetInputTypeInfo])(session, index, typeInfo);

    // OrtStatus* SessionGetOutputTypeInfo(const OrtSession* session, size_t index, OrtTypeInfo** type_info);
    public static nint SessionGetOutputTypeInfo(nint session, nuint index, nint* typeInfo) =>
        ((delegate* unmanaged<nint, nuint, nint*, nint>)Table[OrtApiSlots.SessionGetOutputTypeInfo])(session, index, typeInfo);

    // OrtStatus* SessionGetInputName(const OrtSession* session, size_t index, OrtAllocator* allocator, char** value);
    public static nint SessionGetInputName(nint session, nuint index, nint allocator, byte** name) =>
        ((delegate* unmanaged<nint, nuint, nint, byte**, nint>)Table[OrtApiSlots.SessionGetInputName])(session, index, allocator, name);

    // OrtStatus* SessionGetOutputName(const OrtSession* session, size_t index, OrtAllocator* allocator, char** value);
    public static nint SessionGetOutputName(nint session, nuint index, nint allocator, byte** name) =>
        ((delegate* unmanaged<nint, nuint, nint, byte**, nint>)Table[OrtApiSlots.SessionGetOutputName])(session, index, allocator, name);

    // OrtStatus* CreateRunOptions(OrtRunOptions** out);
    public static nint CreateRunOptions(nint* runOptions) => ((delegate* unmanaged<nint*, nint>)Table[OrtApiSlots.CreateRunOptions])(runOptions);

    // OrtStatus* RunOptionsSetTerminate(OrtRunOptions* options);
    public static nint RunOptionsSetTerminate(nint runOptions) => ((delegate* unmanaged<nint, nint>)Table[OrtApiSlots.RunOptionsSetTerminate])(runOptions);

    // OrtStatus* RunOptionsUnsetTerminate(OrtRunOptions* options);
    public static nint RunOptionsUnsetTerminate(nint runOptions) => ((delegate* unmanaged<nint, nint>)Table[OrtApiSlots.RunOptionsUnsetTerminate])(runOptions);

    // OrtStatus* CreateTensorAsOrtValue(OrtAllocator* allocator, const int64_t* shape, size_t shape_len,
    //     ONNXTensorElementDataType type, OrtValue** out);
    public static nint CreateTensorAsOrtValue(nint allocator, long* shape, nuint rank, int elementType, nint* value) =>
        ((delegate* unmanaged<nint, long*, nuint, int, nint*, nint>)Table[OrtApiSlots.CreateTensorAsOrtValue])(allocator, shape, rank, elementType, value);

    // OrtStatus* CreateTensorWithDataAsOrtValue(const OrtMemoryInfo* info, void* p_data, size_t p_data_len,
    //     const int64_t* shape, size_t shape_len, ONNXTensorElementDataType type, OrtValue** out);
    public static nint CreateTensorWithDataAsOrtValue(nint memoryInfo, void* data, nuint byteLength, long* shape, nuint rank, int elementType, nint* value) =>
        ((delegate* unmanaged<nint, void*, nuint, long*, nuint, int, nint*, nint>)Table[OrtApiSlots.CreateTensorWithDataAsOrtValue])(
            memoryInfo, data, byteLength, shape, rank, elementType, value);

    // OrtStatus* IsTensor(const OrtValue* value, int* out);
    public static nint IsTensor(nint value, int* isTensor) => ((delegate* unmanaged<nint, int*, nint>)Table[OrtApiSlots.IsTensor])(value, isTensor);

    // OrtStatus* GetTensorMutableData(OrtValue* value, void** out);
    public static nint GetTensorMutableData(nint value, void** data) =>
        ((delegate* unmanaged<nint, void**, nint>)Table[OrtApiSlots.GetTensorMutableData])(value, data);

    // OrtStatus* CastTypeInfoToTensorInfo(const OrtTypeInfo* type_info, const OrtTensorTypeAndShapeInfo** out);
    // The result is owned by type_info (null for non-tensor types) and must not be released.
    public static nint CastTypeInfoToTensorInfo(nint typeInfo, nint* tensorInfo) =>
        ((delegate* unmanaged<nint, nint*, nint>)Table[OrtApiSlots.CastTypeInfoToTensorInfo])(typeInfo, tensorInfo);

    // OrtStatus* GetOnnxTypeFromTypeInfo(const OrtTypeInfo* type_info, enum ONNXType* out);
    public static nint GetOnnxTypeFromTypeInfo(nint typeInfo, int* onnxType) =>
        ((delegate* unmanaged<nint, int*, nint>)Table[OrtApiSlots.GetOnnxTypeFromTypeInfo])(typeInfo, onnxType);

    // OrtStatus* GetTensorElementType(const OrtTensorTypeAndShapeInfo* info, ONNXTensorElementDataType* out);
    public static nint GetTensorElementType(nint info, int* elementType) =>
        ((delegate* unmanaged<nint, int*, nint>)Table[OrtApiSlots.GetTensorElementType])(info, elementType);

    // OrtStatus* GetDimensionsCount(const OrtTensorTypeAndShapeInfo* info, size_t* out);
    public static nint GetDimensionsCount(nint info, nuint* rank) =>
        ((delegate* unmanaged<nint, nuint*, nint>)Table[OrtApiSlots.GetDimensionsCount])(info, rank);

    // OrtStatus* GetDimensions(const OrtTensorTypeAndShapeInfo* info, int64_t* dim_values, size_t dim_values_length);
    public static nint GetDimensions(nint info, long* dims, nuint rank) =>
        ((delegate* unmanaged<nint, long*, nuint, nint>)Table[OrtApiSlots.GetDimensions])(info, dims, rank);

    // OrtStatus* GetSymbolicDimensions(const OrtTensorTypeAndShapeInfo* info, const char* dim_params[], size_t dim_params_length);
    // The strings are owned by info.
    public static nint GetSymbolicDimensions(nint info, byte** names, nuint rank) =>
        ((delegate* unmanaged<nint, byte**, nuint, nint>)Table[OrtApiSlots.GetSymbolicDimensions])(info, names, rank);

    // OrtStatus* GetTensorShapeElementCount(const OrtTensorTypeAndShapeInfo* info, size_t* out);
    public static nint GetTensorShapeElementCount(nint info, nuint* count) =>
        ((delegate* unmanaged<nint, nuint*, nint>)Table[OrtApiSlots.GetTensorShapeElementCount])(info, count);

    // OrtStatus* GetTensorTypeAndShape(const OrtValue* value, OrtTensorTypeAndShapeInfo** out);
    public static nint GetTensorTypeAndShape(nint value, nint* info) =>
        ((delegate* unmanaged<nint, nint*, nint>)Table[OrtApiSlots.GetTensorTypeAndShape])(value, info);

    // OrtStatus* GetValueType(const OrtValue* value, enum ONNXType* out);
    public static nint GetValueType(nint value, int* onnxType) => ((delegate* unmanaged<nint, int*, nint>)Table[OrtApiSlots.GetValueType])(value, onnxType);

    // OrtStatus* CreateCpuMemoryInfo(enum OrtAllocatorType type, enum OrtMemType mem_type, OrtMemoryInfo** out);
    public static nint CreateCpuMemoryInfo(int allocatorType, int memType, nint* memoryInfo) =>
        ((delegate* unmanaged<int, int, nint*, nint>)Table[OrtApiSlots.CreateCpuMemoryInfo])(allocatorType, memType, memoryInfo);

    // OrtStatus* AllocatorFree(OrtAllocator* ort_allocator, void* p);
    public static nint AllocatorFree(nint allocator, void* pointer) => ((delegate* unmanaged<nint, void*, nint>)Table[OrtApiSlots.AllocatorFree])(allocator, pointer);

    // OrtStatus* GetAllocatorWithDefaultOptions(OrtAllocator** out);
    // The allocator is process-wide and must not be released.
    public static nint GetAllocatorWithDefaultOptions(nint* allocator) =>
        ((delegate* unmanaged<nint*, nint>)Table[OrtApiSlots.GetAllocatorWithDefaultOptions])(allocator);

    // void ReleaseEnv(OrtEnv* input);
    public static void ReleaseEnv(nint env) => ((delegate* unmanaged<nint, void>)Table[OrtApiSlots.ReleaseEnv])(env);

    // void ReleaseStatus(OrtStatus* input);
    public static void ReleaseStatus(nint status) => ((delegate* unmanaged<nint, void>)Table[OrtApiSlots.ReleaseStatus])(status);

    // void ReleaseMemoryInfo(OrtMemoryInfo* input);
    public static void ReleaseMemoryInfo(nint memoryInfo) => ((delegate* unmanaged<nint, void>)Table[OrtApiSlots.ReleaseMemoryInfo])(memoryInfo);

    // void ReleaseSession(OrtSession* input);
    public static void ReleaseSession(nint session) => ((delegate* unmanaged<nint, void>)Table[OrtApiSlots.ReleaseSession])(session);

    // void ReleaseValue(OrtValue* input);
    public static void ReleaseValue(nint value) => ((delegate* unmanaged<nint, void>)Table[OrtApiSlots.ReleaseValue])(value);

    // void ReleaseRunOptions(OrtRunOptions* input);
    public static void ReleaseRunOptions(nint runOptions) => ((delegate* unmanaged<nint, void>)Table[OrtApiSlots.ReleaseRunOptions])(runOptions);

    // void ReleaseTypeInfo(OrtTypeInfo* input);
    public static void ReleaseTypeInfo(nint typeInfo) => ((delegate* unmanaged<nint, void>)Table[OrtApiSlots.ReleaseTypeInfo])(typeInfo);

    // void ReleaseTensorTypeAndShapeInfo(OrtTensorTypeAndShapeInfo* input);
    public static void ReleaseTensorTypeAndShapeInfo(nint info) => ((delegate* unmanaged<nint, void>)Table[OrtApiSlots.ReleaseTensorTypeAndShapeInfo])(info);

    // void ReleaseSessionOptions(OrtSessionOptions* input);
    public static void ReleaseSessionOptions(nint options) => ((delegate* unmanaged<nint, void>)Table[OrtApiSlots.ReleaseSessionOptions])(options);

    // OrtStatus* AddSessionConfigEntry(OrtSessionOptions* options, const char* config_key, const char* config_value);
    public static nint AddSessionConfigEntry(nint options, byte* key, byte* value) =>
        ((delegate* unmanaged<nint, byte*, byte*, nint>)Table[OrtApiSlots.AddSessionConfigEntry])(options, key, value);

    // OrtStatus* RunWithBinding(OrtSession* session, const OrtRunOptions* run_options, const OrtIoBinding* binding_ptr);
    public static nint RunWithBinding(nint session, nint runOptions, nint binding) =>
        ((delegate* unmanaged<nint, nint, nint, nint>)Table[OrtApiSlots.RunWithBinding])(session, runOptions, binding);

    // OrtStatus* CreateIoBinding(OrtSession* session, OrtIoBinding** out);
    public static nint CreateIoBinding(nint session, nint* binding) =>
        ((delegate* unmanaged<nint, nint*, nint>)Table[OrtApiSlots.CreateIoBinding])(session, binding);

    // void ReleaseIoBinding(OrtIoBinding* input);
    public static void ReleaseIoBinding(nint binding) => ((delegate* unmanaged<nint, void>)Table[OrtApiSlots.ReleaseIoBinding])(binding);

    // OrtStatus* BindInput(OrtIoBinding* binding_ptr, const char* name, const OrtValue* val_ptr);
    public static nint BindInput(nint binding, byte* name, nint value) =>
        ((delegate* unmanaged<nint, byte*, nint, nint>)Table[OrtApiSlots.BindInput])(binding, name, value);

    // OrtStatus* BindOutput(OrtIoBinding* binding_ptr, const char* name, const OrtValue* val_ptr);
    public static nint BindOutput(nint binding, byte* name, nint value) =>
        ((delegate* unmanaged<nint, byte*, nint, nint>)Table[OrtApiSlots.BindOutput])(binding, name, value);

    // OrtStatus* BindOutputToDevice(OrtIoBinding* binding_ptr, const char* name, const OrtMemoryInfo* mem_info_ptr);
    public static nint BindOutputToDevice(nint binding, byte* name, nint memoryInfo) =>
        ((delegate* unmanaged<nint, byte*, nint, nint>)Table[OrtApiSlots.BindOutputToDevice])(binding, name, memoryInfo);

    // OrtStatus* GetBoundOutputValues(const OrtIoBinding* binding_ptr, OrtAllocator* allocator, OrtValue*** output,
    //     size_t* output_count);
    // The array is allocated with allocator (free it with AllocatorFree); each OrtValue must be released.
    public static nint GetBoundOutputValues(nint binding, nint allocator, nint** values, nuint* count) =>
        ((delegate* unmanaged<nint, nint, nint**, nuint*, nint>)Table[OrtApiSlots.GetBoundOutputValues])(binding, allocator, values, count);

    // void ClearBoundInputs(OrtIoBinding* binding_ptr);
    public static void ClearBoundInputs(nint binding) => ((delegate* unmanaged<nint, void>)Table[OrtApiSlots.ClearBoundInputs])(binding);

    // void ClearBoundOutputs(OrtIoBinding* binding_ptr);
    public static void ClearBoundOutputs(nint binding) => ((delegate* unmanaged<nint, void>)Table[OrtApiSlots.ClearBoundOutputs])(binding);

    // OrtStatus* SessionOptionsAppendExecutionProvider_CUDA_V2(OrtSessionOptions* options, const OrtCUDAProviderOptionsV2* cuda_options);
    public static nint SessionOptionsAppendExecutionProviderCudaV2(nint options, nint cudaOptions) =>
        ((delegate* unmanaged<nint, nint, nint>)Table[OrtApiSlots.SessionOptionsAppendExecutionProviderCudaV2])(options, cudaOptions);

    // OrtStatus* CreateCUDAProviderOptions(OrtCUDAProviderOptionsV2** out);
    public static nint CreateCudaProviderOptions(nint* cudaOptions) =>
        ((delegate* unmanaged<nint*, nint>)Table[OrtApiSlots.CreateCudaProviderOptions])(cudaOptions);

    // OrtStatus* UpdateCUDAProviderOptions(OrtCUDAProviderOptionsV2* cuda_options, const char* const* provider_options_keys,
    //     const char* const* provider_options_values, size_t num_keys);
    public static nint UpdateCudaProviderOptions(nint cudaOptions, byte** keys, byte** values, nuint count) =>
        ((delegate* unmanaged<nint, byte**, byte**, nuint, nint>)Table[OrtApiSlots.UpdateCudaProviderOptions])(cudaOptions, keys, values, count);

    // void ReleaseCUDAProviderOptions(OrtCUDAProviderOptionsV2* input);
    public static void ReleaseCudaProviderOptions(nint cudaOptions) => ((delegate* unmanaged<nint, void>)Table[OrtApiSlots.ReleaseCudaProviderOptions])(cudaOptions);
}
