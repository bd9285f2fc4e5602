/* Copyright (c) Multimodal contributors.
   Licensed under the MIT License.
   Prints the OrtApi slot of every function OrtApiSlots names (offsetof(OrtApi, X) / sizeof(void*)) and the value of
   every C enum member the binding mirrors, as "<group> <managed name> <value>" lines. Compiled by OrtApiAbiTests
   against .tools/native/include/onnxruntime_c_api.h. */
#include <stddef.h>
#include <stdio.h>
#include "onnxruntime_c_api.h"

#define SLOT(managed, c) printf("slot " #managed " %zu\n", offsetof(OrtApi, c) / sizeof(void*))
#define VALUE(group, managed, c) printf(group " " #managed " %d\n", (int)(c))

int main(void) {
    SLOT(GetErrorCode, GetErrorCode); SLOT(GetErrorMessage, GetErrorMessage); SLOT(CreateEnv, CreateEnv);
    SLOT(CreateSession, CreateSession); SLOT(CreateSessionFromArray, CreateSessionFromArray); SLOT(Run, Run);
    SLOT(CreateSessionOptions, CreateSessionOptions); SLOT(EnableMemPattern, EnableMemPattern);
    SLOT(DisableMemPattern, DisableMemPattern); SLOT(EnableCpuMemArena, EnableCpuMemArena);
    SLOT(DisableCpuMemArena, DisableCpuMemArena); SLOT(SetSessionGraphOptimizationLevel, SetSessionGraphOptimizationLevel);
    SLOT(SetIntraOpNumThreads, SetIntraOpNumThreads); SLOT(SetInterOpNumThreads, SetInterOpNumThreads);
    SLOT(SessionGetInputCount, SessionGetInputCount); SLOT(SessionGetOutputCount, SessionGetOutputCount);
    SLOT(SessionGetInputTypeInfo, SessionGetInputTypeInfo); SLOT(SessionGetOutputTypeInfo, SessionGetOutputTypeInfo);
    SLOT(SessionGetInputName, SessionGetInputName); SLOT(SessionGetOutputName, SessionGetOutputName);
    SLOT(CreateRunOptions, CreateRunOptions); SLOT(RunOptionsSetTerminate, RunOptionsSetTerminate);
    SLOT(RunOptionsUnsetTerminate, RunOptionsUnsetTerminate); SLOT(CreateTensorAsOrtValue, CreateTensorAsOrtValue);
    SLOT(CreateTensorWithDataAsOrtValue, CreateTensorWithDataAsOrtValue); SLOT(IsTensor, IsTensor);
    SLOT(GetTensorMutableData, GetTensorMutableData); SLOT(CastTypeInfoToTensorInfo, CastTypeInfoToTensorInfo);
    SLOT(GetOnnxTypeFromTypeInfo, GetOnnxTypeFromTypeInfo); SLOT(GetTensorElementType, GetTensorElementType);
    SLOT(GetDimensionsCount, GetDimensionsCount); SLOT(GetDimensions, GetDimensions);
    SLOT(GetSymbolicDimensions, GetSymbolicDimensions); SLOT(GetTensorShapeElementCount, GetTensorShapeElementCount);
    SLOT(GetTensorTypeAndShape, GetTensorTypeAndShape); SLOT(GetValueType, GetValueType);
    SLOT(CreateCpuMemoryInfo, CreateCpuMemoryInfo); SLOT(AllocatorFree, AllocatorFree);
    SLOT(GetAllocatorWithDefaultOptions, GetAllocatorWithDefaultOptions); SLOT(ReleaseEnv, ReleaseEnv);
    SLOT(ReleaseStatus, ReleaseStatus); SLOT(ReleaseMemoryInfo, ReleaseMemoryInfo); SLOT(ReleaseSession, ReleaseSession);
    SLOT(ReleaseValue, ReleaseValue); SLOT(ReleaseRunOptions, ReleaseRunOptions); SLOT(ReleaseTypeInfo, ReleaseTypeInfo);
    SLOT(ReleaseTensorTypeAndShapeInfo, ReleaseTensorTypeAndShapeInfo); SLOT(ReleaseSessionOptions, ReleaseSessionOptions);
    SLOT(AddSessionConfigEntry, AddSessionConfigEntry); SLOT(RunWithBinding, RunWithBinding);
    SLOT(CreateIoBinding, CreateIoBinding); SLOT(ReleaseIoBinding, ReleaseIoBinding); SLOT(BindInput, BindInput);
    SLOT(BindOutput, BindOutput); SLOT(BindOutputToDevice, BindOutputToDevice);
    SLOT(GetBoundOutputValues, GetBoundOutputValues); SLOT(ClearBoundInputs, ClearBoundInputs);
    SLOT(ClearBoundOutputs, ClearBoundOutputs);
    SLOT(SessionOptionsAppendExecutionProviderCudaV2, SessionOptionsAppendExecutionProvider_CUDA_V2);
    SLOT(CreateCudaProviderOptions, CreateCUDAProviderOptions); SLOT(UpdateCudaProviderOptions, UpdateCUDAProviderOptions);
    SLOT(ReleaseCudaProviderOptions, ReleaseCUDAProviderOptions);
    /* The last slot of API version 11 and the first of version 12 (both "\since Version 1.1x" in the header). */
    SLOT(LastOfApi11, SessionOptionsAppendExecutionProvider_MIGraphX);
    printf("api12 AddExternalInitializers %zu\n", offsetof(OrtApi, AddExternalInitializers) / sizeof(void*));
    printf("header ORT_API_VERSION %d\n", ORT_API_VERSION);
    printf("base size %zu\n", sizeof(OrtApiBase) / sizeof(void*));
    printf("base GetApi %zu\n", offsetof(OrtApiBase, GetApi) / sizeof(void*));
    printf("base GetVersionString %zu\n", offsetof(OrtApiBase, GetVersionString) / sizeof(void*));

    VALUE("elem", Undefined, ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED); VALUE("elem", Float, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT);
    VALUE("elem", UInt8, ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8); VALUE("elem", Int8, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8);
    VALUE("elem", UInt16, ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16); VALUE("elem", Int16, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16);
    VALUE("elem", Int32, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32); VALUE("elem", Int64, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64);
    VALUE("elem", String, ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING); VALUE("elem", Bool, ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL);
    VALUE("elem", Float16, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16); VALUE("elem", Double, ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE);
    VALUE("elem", UInt32, ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32); VALUE("elem", UInt64, ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64);
    VALUE("elem", Complex64, ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX64); VALUE("elem", Complex128, ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX128);
    VALUE("elem", BFloat16, ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16); VALUE("elem", Float8E4M3FN, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN);
    VALUE("elem", Float8E4M3FNUZ, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FNUZ); VALUE("elem", Float8E5M2, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2);
    VALUE("elem", Float8E5M2FNUZ, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2FNUZ); VALUE("elem", UInt4, ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT4);
    VALUE("elem", Int4, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT4);

    VALUE("kind", Unknown, ONNX_TYPE_UNKNOWN); VALUE("kind", Tensor, ONNX_TYPE_TENSOR); VALUE("kind", Sequence, ONNX_TYPE_SEQUENCE);
    VALUE("kind", Map, ONNX_TYPE_MAP); VALUE("kind", Opaque, ONNX_TYPE_OPAQUE); VALUE("kind", SparseTensor, ONNX_TYPE_SPARSETENSOR);
    VALUE("kind", Optional, ONNX_TYPE_OPTIONAL);

    VALUE("err", Ok, ORT_OK); VALUE("err", Fail, ORT_FAIL); VALUE("err", InvalidArgument, ORT_INVALID_ARGUMENT);
    VALUE("err", NoSuchFile, ORT_NO_SUCHFILE); VALUE("err", NoModel, ORT_NO_MODEL); VALUE("err", EngineError, ORT_ENGINE_ERROR);
    VALUE("err", RuntimeException, ORT_RUNTIME_EXCEPTION); VALUE("err", InvalidProtobuf, ORT_INVALID_PROTOBUF);
    VALUE("err", ModelLoaded, ORT_MODEL_LOADED); VALUE("err", NotImplemented, ORT_NOT_IMPLEMENTED);
    VALUE("err", InvalidGraph, ORT_INVALID_GRAPH); VALUE("err", EpFail, ORT_EP_FAIL);
    VALUE("err", ModelLoadCanceled, ORT_MODEL_LOAD_CANCELED); VALUE("err", ModelRequiresCompilation, ORT_MODEL_REQUIRES_COMPILATION);
    VALUE("err", NotFound, ORT_NOT_FOUND); VALUE("err", DeviceReset, ORT_DEVICE_RESET);

    VALUE("opt", Disabled, ORT_DISABLE_ALL); VALUE("opt", Basic, ORT_ENABLE_BASIC); VALUE("opt", Extended, ORT_ENABLE_EXTENDED);
    VALUE("opt", All, ORT_ENABLE_ALL);

    VALUE("const", LoggingLevelWarning, ORT_LOGGING_LEVEL_WARNING); VALUE("const", ArenaAllocator, OrtArenaAllocator);
    VALUE("const", MemTypeDefault, OrtMemTypeDefault);
#ifdef MULTIMODAL_ORT_ERROR_CODE_STUB
    printf("stub onnxruntime_error_code.h 1\n");
#endif
    return 0;
}
