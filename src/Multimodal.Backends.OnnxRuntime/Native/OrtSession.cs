// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>One input or output of a model, as the session reports it.</summary>
/// <param name="Name">The name runs refer to it by (for example <c>past_key_values.0.key</c>).</param>
/// <param name="Kind">Tensor, sequence, map…</param>
/// <param name="ElementType">The tensor element type, or <see cref="OrtElementType.Undefined"/> for a value that is not a tensor.</param>
/// <param name="Shape">The dimensions, with -1 for each symbolic or unknown one; empty for a scalar or a value that is not a tensor.</param>
/// <param name="SymbolicDimensions">Per dimension, its symbolic name (for example <c>batch</c>), or an empty string for a fixed or unnamed one.</param>
internal sealed record OrtNodeInfo(string Name, OrtValueKind Kind, OrtElementType ElementType, long[] Shape, string[] SymbolicDimensions);

/// <summary>A loaded model (<c>OrtSession</c>), ready to run.</summary>
/// <remarks>
/// <para>
/// <see cref="Run(IReadOnlyList{string}, IReadOnlyList{OrtValue}, IReadOnlyList{string}, OrtRunOptions?, CancellationToken)"/>
/// may be called from several threads at once: ONNX Runtime allows concurrent runs of one session, and each call
/// here uses only its own arguments. Disposing while runs are in progress is safe; the native session is released
/// when the last run returns. <see cref="Inputs"/> and <see cref="Outputs"/> are read once, when the session is created.
/// </para>
/// <para>
/// Sessions live in the process-wide <see cref="OrtEnvironment"/>. The first session loads ONNX Runtime through
/// <see cref="OnnxRuntimeLibraryOptions.Shared"/>.
/// </para>
/// </remarks>
internal sealed unsafe class OrtSession : IDisposable
{
    private readonly SafeOrtSessionHandle _handle;

    private OrtSession(SafeOrtSessionHandle handle, string description)
    {
        _handle = handle;
        Description = description;
        var session = handle.DangerousGetHandle();
        Inputs = ReadNodes(session, inputs: true);
        Outputs = ReadNodes(session, inputs: false);
    }

    /// <summary>Gets how messages name the model: <c>'path'</c> for a file, or the display name and size for bytes.</summary>
    public string Description { get; }

    /// <summary>Gets the model's inputs, in the model's order.</summary>
    public IReadOnlyList<OrtNodeInfo> Inputs { get; }

    /// <summary>Gets the model's outputs, in the model's order.</summary>
    public IReadOnlyList<OrtNodeInfo> Outputs { get; }

    /// <summary>Gets the native handle.</summary>
    internal SafeOrtSessionHandle Handle => _handle;

    /// <summary>Loads a model file (<c>CreateSession</c>; the path is UTF-16 on Windows and UTF-8 elsewhere, as <c>ORTCHAR_T</c> is).</summary>
    /// <param name="modelPath">The <c>.onnx</c> file. External data files are found relative to it.</param>
    /// <param name="options">How to create the session; <see langword="null"/> for the defaults.</param>
    /// <returns>The session.</returns>
    /// <exception cref="ArgumentException"><paramref name="modelPath"/> is empty or contains a NUL character.</exception>
    /// <exception cref="OnnxRuntimeException">The file does not exist, ONNX Runtime cannot load it, or an option (such as the CUDA provider) cannot be applied.</exception>
    /// <exception cref="Multimodal.NativeLibraryException">ONNX Runtime cannot be found, loaded or used.</exception>
    public static OrtSession Create(string modelPath, OnnxRuntimeSessionOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        if (modelPath.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The path must not contain NUL characters.", nameof(modelPath));
        }

        var description = $"'{modelPath}'";
        if (!File.Exists(modelPath))
        {
            throw new OnnxRuntimeException(
                $"ONNX Runtime could not create a session for {description}: the file does not exist ({Path.GetFullPath(modelPath)}).",
                OnnxRuntimeErrorCode.NoSuchFile);
        }

        var env = OrtEnvironment.Handle;
        using var nativeOptions = OrtSessionOptionsFactory.Create(options);
        nint raw;
        nint status;
        if (OperatingSystem.IsWindows())
        {
            // A .NET string is NUL-terminated UTF-16 in memory, which is exactly a wchar_t* on Windows.
            fixed (char* path = modelPath)
            {
                status = OrtApi.CreateSession(env.DangerousGetHandle(), path, nativeOptions.DangerousGetHandle(), &raw);
            }
        }
        else
        {
            fixed (byte* path = OrtMemory.Utf8(modelPath, nameof(modelPath)))
            {
                status = OrtApi.CreateSession(env.DangerousGetHandle(), path, nativeOptions.DangerousGetHandle(), &raw);
            }
        }

        if (status != 0)
        {
            OrtStatus.Throw(status, $"create a session for {description}");
        }

        return Adopt(raw, description);
    }

    /// <summary>Loads a model from memory (<c>CreateSessionFromArray</c>); ONNX Runtime copies what it needs, so the bytes may be reused afterwards.</summary>
    /// <param name="model">The serialized ONNX model (without external data).</param>
    /// <param name="options">How to create the session; <see langword="null"/> for the defaults.</param>
    /// <param name="displayName">How messages name the model (for example the file it was read from); <see langword="null"/> for "an in-memory model".</param>
    /// <returns>The session.</returns>
    /// <exception cref="ArgumentException"><paramref name="model"/> is empty.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot load the model, or an option cannot be applied.</exception>
    /// <exception cref="Multimodal.NativeLibraryException">ONNX Runtime cannot be found, loaded or used.</exception>
    public static OrtSession Create(ReadOnlySpan<byte> model, OnnxRuntimeSessionOptions? options = null, string? displayName = null)
    {
        if (model.IsEmpty)
        {
            throw new ArgumentException("The model bytes are empty.", nameof(model));
        }

        var description = displayName is null ? $"an in-memory model ({model.Length} bytes)" : $"'{displayName}' (in memory, {model.Length} bytes)";
        var env = OrtEnvironment.Handle;
        using var nativeOptions = OrtSessionOptionsFactory.Create(options);
        nint raw;
        nint status;
        fixed (byte* data = model)
        {
            status = OrtApi.CreateSessionFromArray(env.DangerousGetHandle(), data, (nuint)model.Length, nativeOptions.DangerousGetHandle(), &raw);
        }

        if (status != 0)
        {
            OrtStatus.Throw(status, $"create a session for {description}");
        }

        return Adopt(raw, description);
    }

    /// <summary>Runs the model (<c>Run</c>) on the given inputs and returns the requested outputs, which ONNX Runtime allocates.</summary>
    /// <param name="inputNames">The names of the inputs fed, parallel to <paramref name="inputValues"/>.</param>
    /// <param name="inputValues">The input tensors; they are only read, and stay owned by the caller.</param>
    /// <param name="outputNames">The outputs wanted, in the order to return them.</param>
    /// <param name="runOptions">Options whose <see cref="OrtRunOptions.Terminate"/> stops this run, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the run at the next operator boundary (through the run options' terminate flag).</param>
    /// <returns>The outputs, parallel to <paramref name="outputNames"/>; the caller disposes them.</returns>
    /// <exception cref="ArgumentException">The name and value lists differ in length, or a value is null.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime rejects the inputs (an unknown name, a wrong shape or type) or the run fails.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before or during the run.</exception>
    /// <exception cref="ObjectDisposedException">The session, an input or the run options are disposed.</exception>
    public OrtValue[] Run(
        IReadOnlyList<string> inputNames,
        IReadOnlyList<OrtValue> inputValues,
        IReadOnlyList<string> outputNames,
        OrtRunOptions? runOptions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputNames);
        ArgumentNullException.ThrowIfNull(inputValues);
        ArgumentNullException.ThrowIfNull(outputNames);
        if (inputNames.Count != inputValues.Count)
        {
            throw new ArgumentException($"{inputNames.Count} input names were given for {inputValues.Count} values.", nameof(inputValues));
        }

        var inputCount = inputValues.Count;
        var outputCount = outputNames.Count;
        using var inNames = new Utf8StringArray(inputNames, nameof(inputNames));
        using var outNames = new Utf8StringArray(outputNames, nameof(outputNames));
        var inputs = new nint[inputCount];
        var outputs = new nint[outputCount];
        var leased = 0;
        using var session = new HandleLease(_handle);
        try
        {
            for (; leased < inputCount; leased++)
            {
                var value = inputValues[leased] ?? throw new ArgumentException($"Input value {leased} ('{inputNames[leased]}') is null.", nameof(inputValues));
                var added = false;
                value.Handle.DangerousAddRef(ref added);
                inputs[leased] = value.Handle.DangerousGetHandle();
            }

            using var scope = RunScope.Enter(runOptions, cancellationToken);
            nint status;
            fixed (nint* inputPointers = inputs)
            fixed (nint* outputPointers = outputs)
            {
                status = OrtApi.Run(session.Pointer, scope.Pointer, inNames.Pointers, inputPointers, (nuint)inputCount, outNames.Pointers, (nuint)outputCount, outputPointers);
            }

            if (status != 0)
            {
                throw scope.Failure(status, $"run {Description}");
            }

            return AdoptAll(outputs);
        }
        finally
        {
            for (var i = 0; i < leased; i++)
            {
                inputValues[i].Handle.DangerousRelease();
            }
        }
    }

    /// <summary>Releases the session once no run uses it.</summary>
    public void Dispose() => _handle.Dispose();

    /// <summary>Wraps values ONNX Runtime returned; if wrapping fails part-way, releases every one of them.</summary>
    /// <param name="values">The <c>OrtValue*</c>s, each non-null.</param>
    /// <returns>The values, owned by the caller.</returns>
    internal static OrtValue[] AdoptAll(ReadOnlySpan<nint> values)
    {
        var result = new OrtValue[values.Length];
        var adopted = 0;
        try
        {
            for (; adopted < values.Length; adopted++)
            {
                result[adopted] = OrtValue.Adopt(values[adopted]);
            }

            return result;
        }
        catch
        {
            for (var i = 0; i < values.Length; i++)
            {
                if (i < adopted)
                {
                    result[i].Dispose();
                }
                else if (values[i] != 0)
                {
                    OrtApi.ReleaseValue(values[i]);
                }
            }

            throw;
        }
    }

    private static OrtSession Adopt(nint raw, string description)
    {
        var handle = SafeOrtSessionHandle.Adopt(raw);
        try
        {
            return new OrtSession(handle, description);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static OrtNodeInfo[] ReadNodes(nint session, bool inputs)
    {
        var kind = inputs ? "input" : "output";
        nuint count;
        OrtStatus.ThrowIfFailed(inputs ? OrtApi.SessionGetInputCount(session, &count) : OrtApi.SessionGetOutputCount(session, &count), $"count the model's {kind}s");
        var allocator = OrtMemory.DefaultAllocator;
        var nodes = new OrtNodeInfo[(int)count];
        for (nuint i = 0; i < count; i++)
        {
            byte* rawName;
            OrtStatus.ThrowIfFailed(
                inputs ? OrtApi.SessionGetInputName(session, i, allocator, &rawName) : OrtApi.SessionGetOutputName(session, i, allocator, &rawName),
                $"read the name of {kind} {i}");
            var name = OrtMemory.TakeString(rawName);

            nint rawType;
            var status = inputs ? OrtApi.SessionGetInputTypeInfo(session, i, &rawType) : OrtApi.SessionGetOutputTypeInfo(session, i, &rawType);
            if (status != 0)
            {
                OrtStatus.Throw(status, $"read the type of {kind} '{name}'");
            }

            using var typeInfo = SafeOrtTypeInfoHandle.Adopt(rawType);
            nodes[(int)i] = ReadNode(name, rawType);
        }

        return nodes;
    }

    private static OrtNodeInfo ReadNode(string name, nint typeInfo)
    {
        int kind;
        OrtStatus.ThrowIfFailed(OrtApi.GetOnnxTypeFromTypeInfo(typeInfo, &kind), $"read the kind of '{name}'");
        nint tensorInfo;
        OrtStatus.ThrowIfFailed(OrtApi.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo), $"read the tensor type of '{name}'");
        if ((OrtValueKind)kind != OrtValueKind.Tensor || tensorInfo == 0)
        {
            return new OrtNodeInfo(name, (OrtValueKind)kind, OrtElementType.Undefined, [], []);
        }

        // tensorInfo belongs to typeInfo: it is not released here.
        int elementType;
        nuint rank;
        OrtStatus.ThrowIfFailed(OrtApi.GetTensorElementType(tensorInfo, &elementType), $"read the element type of '{name}'");
        OrtStatus.ThrowIfFailed(OrtApi.GetDimensionsCount(tensorInfo, &rank), $"read the rank of '{name}'");
        var shape = new long[(int)rank];
        var symbols = new string[(int)rank];
        var symbolPointers = new nint[(int)rank];
        fixed (long* dims = shape)
        fixed (nint* names = symbolPointers)
        {
            OrtStatus.ThrowIfFailed(OrtApi.GetDimensions(tensorInfo, dims, rank), $"read the dimensions of '{name}'");
            OrtStatus.ThrowIfFailed(OrtApi.GetSymbolicDimensions(tensorInfo, (byte**)names, rank), $"read the symbolic dimensions of '{name}'");
        }

        for (var d = 0; d < symbols.Length; d++)
        {
            symbols[d] = Marshal.PtrToStringUTF8(symbolPointers[d]) ?? string.Empty;
        }

        return new OrtNodeInfo(name, OrtValueKind.Tensor, (OrtElementType)elementType, shape, symbols);
    }
}
