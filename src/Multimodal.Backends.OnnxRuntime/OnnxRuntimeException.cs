// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>ONNX Runtime reported a failure: a model that cannot be loaded, an input it rejects, an execution provider that cannot be enabled.</summary>
/// <remarks>
/// The message starts with what the library was doing ("ONNX Runtime could not create a session for 'x.onnx': …"),
/// followed by ONNX Runtime's own message and, where there is one, what to install or change.
/// <see cref="ErrorCode"/> is ONNX Runtime's classification of the failure.
/// </remarks>
public sealed class OnnxRuntimeException : MultimodalException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What failed, ONNX Runtime's message and what to do about it.</param>
    /// <param name="errorCode">ONNX Runtime's error code.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    internal OnnxRuntimeException(string message, OnnxRuntimeErrorCode errorCode, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
    }

    /// <summary>Gets ONNX Runtime's error code (<c>OrtErrorCode</c>).</summary>
    public OnnxRuntimeErrorCode ErrorCode { get; }
}

/// <summary>ONNX Runtime's error codes (<c>OrtErrorCode</c> in <c>onnxruntime_c_api.h</c>); the values are the C enum's.</summary>
public enum OnnxRuntimeErrorCode
{
    /// <summary>ORT_OK: no error.</summary>
    Ok = 0,

    /// <summary>ORT_FAIL: a failure with no more specific code (also a run stopped by its terminate flag).</summary>
    Fail = 1,

    /// <summary>ORT_INVALID_ARGUMENT: an argument ONNX Runtime rejects (an unknown input name, a wrong shape or type).</summary>
    InvalidArgument = 2,

    /// <summary>ORT_NO_SUCHFILE: a file (such as the model) does not exist.</summary>
    NoSuchFile = 3,

    /// <summary>ORT_NO_MODEL: retained for compatibility; no longer returned.</summary>
    NoModel = 4,

    /// <summary>ORT_ENGINE_ERROR: an accelerator or backend engine failed.</summary>
    EngineError = 5,

    /// <summary>ORT_RUNTIME_EXCEPTION: an exception was caught inside ONNX Runtime; the message has the detail.</summary>
    RuntimeException = 6,

    /// <summary>ORT_INVALID_PROTOBUF: the model is not a valid ONNX protobuf.</summary>
    InvalidProtobuf = 7,

    /// <summary>ORT_MODEL_LOADED: the session is in the wrong state for the call.</summary>
    ModelLoaded = 8,

    /// <summary>ORT_NOT_IMPLEMENTED: this build of ONNX Runtime lacks the feature (an operator, a data type, an execution provider).</summary>
    NotImplemented = 9,

    /// <summary>ORT_INVALID_GRAPH: the model graph is structurally invalid.</summary>
    InvalidGraph = 10,

    /// <summary>ORT_EP_FAIL: an execution provider failed.</summary>
    EpFail = 11,

    /// <summary>ORT_MODEL_LOAD_CANCELED: loading the model was cancelled on request.</summary>
    ModelLoadCanceled = 12,

    /// <summary>ORT_MODEL_REQUIRES_COMPILATION: the model needs compiling by an execution provider, which was disabled.</summary>
    ModelRequiresCompilation = 13,

    /// <summary>ORT_NOT_FOUND: a requested resource was not found.</summary>
    NotFound = 14,

    /// <summary>ORT_DEVICE_RESET: the execution provider's device was reset; release the session and create a new one.</summary>
    DeviceReset = 15,
}
