// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>One generation state of a <see cref="GenAiModel"/> (<c>OgaGenerator</c>): the token sequence, the KV cache and the search, batch size 1.</summary>
/// <remarks>
/// <para>
/// How GenAI runs the model: <see cref="SetInputs"/> and <see cref="AppendTokens"/> run the model on the new tokens
/// at once, so logits are ready afterwards. <see cref="GenerateNextToken"/> picks a token from the ready logits and
/// appends it <em>without</em> running it; the model runs on it at the next <see cref="GenerateNextToken"/> or
/// <see cref="CopyLogits"/> (GenAI computes logits lazily). So after a generation loop ends, the last generated token is
/// in the sequence but not in the KV cache: to continue with more input, call
/// <c>RewindTo(TokenCount - 1)</c> and then <c>AppendTokens([last, ..next])</c> (a plain <see cref="AppendTokens"/>
/// fails with a shape error on a non-shared KV cache, or silently leaves a hole on a shared one); but once
/// <see cref="CopyLogits"/> has been called after the last <see cref="GenerateNextToken"/>, the token has run and the
/// next input is appended directly. Track which case applies: mixing them up corrupts the cache. A caller that picks
/// tokens itself appends each choice with <see cref="AppendTokens"/> and never calls <see cref="GenerateNextToken"/>;
/// then every token has been run and later input can be appended directly.
/// </para>
/// <para>
/// Multimodal inputs (<see cref="SetInputs"/>) are applied once per generator: images in later turns are ignored by
/// GenAI 0.15, so a turn that adds an image needs a new generator that re-reads the whole conversation.
/// <see cref="RewindTo"/> on the multimodal pipeline only shortens the token sequence (the KV cache is not rewound).
/// </para>
/// <para>
/// After any error from <see cref="SetInputs"/>, <see cref="AppendTokens"/>, <see cref="GenerateNextToken"/> or
/// <see cref="RewindTo"/>, GenAI's state may be corrupt (garbage tokens and crashes have been seen), so the generator
/// becomes <see cref="IsFaulted"/>: every later member except <see cref="Dispose"/> throws
/// <see cref="InvalidOperationException"/> without touching native memory.
/// </para>
/// <para>
/// Not thread-safe: call an instance from one thread at a time (see <see cref="GenAiModel"/> for several generators),
/// including <see cref="SetRuntimeOption"/> with <see cref="TerminateSession"/> (see there).
/// <see cref="Dispose"/> may be called more than once and from a faulted generator.
/// </para>
/// </remarks>
internal sealed unsafe class GenAiGenerator : IDisposable
{
    /// <summary>The runtime option that cancels (<c>1</c>) or re-enables (<c>0</c>) the generator's model runs.</summary>
    public const string TerminateSession = "terminate_session";

    private readonly SafeGenAiGeneratorHandle _handle;
    private bool _disposed;
    private OnnxRuntimeGenAIException? _fault;

    // Set by SetRuntimeOption("terminate_session", "1"): GenAI then throws from every call, and from
    // OgaGenerator_IsDone, which has no try/catch, that would terminate the process.
    private bool _terminated;

    /// <summary>Creates a generator.</summary>
    /// <param name="model">The model; its native handle stays open while the generator exists.</param>
    /// <param name="parameters">The search options, copied now.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ObjectDisposedException">An argument is disposed.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI cannot create the generator (for example a graph lacks an input GenAI binds).</exception>
    public GenAiGenerator(GenAiModel model, GenAiGeneratorParams parameters)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(parameters);
        var modelHandle = model.Handle;
        GenAiResult.ThrowIfFailed(
            GenAiNative.CreateGenerator(modelHandle, parameters.Handle, out var native),
            $"Creating a GenAI generator for '{model.Directory}'");
        _handle = SafeGenAiGeneratorHandle.Adopt(native, modelHandle);
    }

    /// <summary>Gets whether an earlier call failed, so that the generator can no longer be used.</summary>
    public bool IsFaulted => _fault is not null;

    /// <summary>Gets the number of tokens in the sequence (prompt and generated).</summary>
    /// <exception cref="ObjectDisposedException">The generator is disposed.</exception>
    /// <exception cref="InvalidOperationException">The generator is faulted or terminated.</exception>
    public int TokenCount => checked((int)GenAiNative.GeneratorTokenCount(Usable));

    /// <summary>Gets whether generation has finished: an end-of-sequence token was generated or <c>max_length</c> was reached.</summary>
    /// <exception cref="ObjectDisposedException">The generator is disposed.</exception>
    /// <exception cref="InvalidOperationException">The generator is faulted or terminated.</exception>
    public bool IsDone => GenAiNative.GeneratorIsDone(Usable);

    private SafeGenAiGeneratorHandle Usable
    {
        get
        {
            ThrowIfDisposedOrFaulted();
            if (_terminated)
            {
                throw new InvalidOperationException(
                    "This GenAI generator's session was terminated (runtime option terminate_session = 1); set it back to 0 to use the generator again.");
            }

            return _handle;
        }
    }

    /// <summary>Hands named inputs (multimodal: <c>input_ids</c>, <c>pixel_values</c>, <c>num_image_tokens</c>) to the generator and runs the prompt.</summary>
    /// <param name="inputs">The inputs; the generator keeps its own references, so they may be disposed afterwards.</param>
    /// <exception cref="ArgumentNullException"><paramref name="inputs"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The generator or the inputs are disposed.</exception>
    /// <exception cref="InvalidOperationException">The generator is faulted or terminated.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI or ONNX Runtime reports an error; the generator is then faulted.</exception>
    public void SetInputs(GenAiNamedTensors inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var handle = Usable;
        Mutated(GenAiNative.GeneratorSetInputs(handle, inputs.Handle), "Running a GenAI prompt (SetInputs)");
    }

    /// <summary>Appends tokens to the sequence and runs the model on them (KV cache and logits follow).</summary>
    /// <param name="tokens">The token ids; at least one.</param>
    /// <exception cref="ArgumentException"><paramref name="tokens"/> is empty.</exception>
    /// <exception cref="ObjectDisposedException">The generator is disposed.</exception>
    /// <exception cref="InvalidOperationException">The generator is faulted or terminated.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI reports an error (for example the sequence would exceed <c>max_length</c>); the generator is then faulted.</exception>
    public void AppendTokens(ReadOnlySpan<int> tokens)
    {
        if (tokens.IsEmpty)
        {
            throw new ArgumentException("At least one token is needed.", nameof(tokens));
        }

        var handle = Usable;
        fixed (int* ids = tokens)
        {
            Mutated(GenAiNative.GeneratorAppendTokens(handle, ids, (nuint)tokens.Length), $"Appending {tokens.Length} tokens to a GenAI generator");
        }
    }

    /// <summary>Picks the next token from the current logits (running the model on the previous token first if needed) and appends it.</summary>
    /// <exception cref="ObjectDisposedException">The generator is disposed.</exception>
    /// <exception cref="InvalidOperationException">The generator is faulted or terminated, or has no tokens yet.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI reports an error (for example <c>max_length</c> is reached); the generator is then faulted.</exception>
    public void GenerateNextToken()
    {
        var handle = Usable;
        ThrowIfEmpty(handle);
        Mutated(GenAiNative.GeneratorGenerateNextToken(handle), "Generating the next GenAI token");
    }

    /// <summary>Gets the token <see cref="GenerateNextToken"/> appended last.</summary>
    /// <returns>The token id.</returns>
    /// <exception cref="ObjectDisposedException">The generator is disposed.</exception>
    /// <exception cref="InvalidOperationException">The generator is faulted or terminated, or GenAI returned other than one token (batch size is not 1).</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI reports an error.</exception>
    public int GetNextToken()
    {
        var handle = Usable;
        GenAiResult.ThrowIfFailed(GenAiNative.GeneratorGetNextTokens(handle, out var tokens, out var count), "Reading the next GenAI token");
        if (count != 1 || tokens is null)
        {
            throw new InvalidOperationException($"GenAI returned {count} next tokens; this wrapper supports batch size 1 only.");
        }

        return tokens[0];
    }

    /// <summary>Shortens the token sequence to <paramref name="length"/> tokens.</summary>
    /// <param name="length">The new length, at most <see cref="TokenCount"/>.</param>
    /// <remarks>On the multimodal pipeline only the sequence is shortened, not the KV cache: use it for <c>RewindTo(TokenCount - 1)</c> before appending the next turn, not to go further back.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or more than <see cref="TokenCount"/>.</exception>
    /// <exception cref="ObjectDisposedException">The generator is disposed.</exception>
    /// <exception cref="InvalidOperationException">The generator is faulted or terminated.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI reports an error (for example the model type cannot rewind); the generator is then faulted.</exception>
    public void RewindTo(int length)
    {
        var handle = Usable;
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, checked((int)GenAiNative.GeneratorTokenCount(handle)));
        Mutated(GenAiNative.GeneratorRewindTo(handle, (nuint)length), $"Rewinding a GenAI generator to {length} tokens");
    }

    /// <summary>Copies the logits of the last position (<c>OgaGenerator_GetLogits</c>, shape <c>[1, 1, vocab]</c>).</summary>
    /// <param name="destination">Receives <c>vocab</c> values; at least that long.</param>
    /// <returns>The number of values written (the vocabulary size).</returns>
    /// <remarks>After <see cref="GenerateNextToken"/> this runs the model on the generated token (GenAI computes logits lazily), so that token is then in the KV cache.</remarks>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the vocabulary.</exception>
    /// <exception cref="ObjectDisposedException">The generator is disposed.</exception>
    /// <exception cref="InvalidOperationException">The generator is faulted or terminated, or has no tokens yet.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI reports an error; the generator is then faulted (the call may have run the model).</exception>
    public int CopyLogits(Span<float> destination)
    {
        var handle = Usable;
        ThrowIfEmpty(handle);
        Mutated(GenAiNative.GeneratorGetLogits(handle, out var native), "Reading the GenAI logits");
        using var tensor = GenAiTensor.Adopt(native);
        var shape = tensor.GetShape();
        if (shape.Length != 3 || shape[0] != 1 || shape[1] != 1)
        {
            throw new InvalidOperationException($"GenAI returned logits of shape [{string.Join(", ", shape)}]; expected [1, 1, vocab] (batch size 1).");
        }

        if (destination.Length < shape[2])
        {
            throw new ArgumentException($"The destination holds {destination.Length} values, but the vocabulary has {shape[2]}.", nameof(destination));
        }

        return tensor.CopyTo(destination);
    }

    /// <summary>Copies the whole token sequence (prompt and generated).</summary>
    /// <returns>A new array of <see cref="TokenCount"/> ids.</returns>
    /// <exception cref="ObjectDisposedException">The generator is disposed.</exception>
    /// <exception cref="InvalidOperationException">The generator is faulted or terminated.</exception>
    public int[] GetSequence()
    {
        var handle = Usable;
        var count = checked((int)GenAiNative.GeneratorGetSequenceCount(handle, 0));
        if (count == 0)
        {
            return [];
        }

        // The pointer is valid until the next call on the generator.
        var data = GenAiNative.GeneratorGetSequenceData(handle, 0);
        return new ReadOnlySpan<int>(data, count).ToArray();
    }

    /// <summary>Sets a runtime option (<c>OgaGenerator_SetRuntimeOption</c>): <c>terminate_session</c> (<c>1</c> or <c>0</c>), <c>enable_profiling</c>, or an ONNX Runtime run-option entry.</summary>
    /// <param name="key">The option.</param>
    /// <param name="value">Its value.</param>
    /// <remarks>
    /// <c>terminate_session = 1</c> is GenAI's cancellation flag: GenAI refuses every later call until it is set back to
    /// <c>0</c>, and so does this wrapper (with <see cref="InvalidOperationException"/>), which matters because
    /// <c>OgaGenerator_IsDone</c> lets that refusal escape its C boundary and would end the process. GenAI also uses the
    /// flag to abort an ONNX Runtime run in progress when it is set from another thread, but such a call races with a
    /// concurrent <see cref="IsDone"/> on the owning thread, so this wrapper supports setting it only between calls.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The generator is disposed.</exception>
    /// <exception cref="InvalidOperationException">The generator is faulted (setting <see cref="TerminateSession"/> is allowed while terminated).</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI rejects the option.</exception>
    public void SetRuntimeOption(string key, string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(value);
        ThrowIfDisposedOrFaulted();
        GenAiResult.ThrowIfFailed(GenAiNative.GeneratorSetRuntimeOption(_handle, key, value), $"Setting the GenAI runtime option {key} = {value}");
        if (string.Equals(key, TerminateSession, StringComparison.Ordinal))
        {
            // GenAI accepts only "0" and "1" here (anything else was refused above).
            _terminated = string.Equals(value, "1", StringComparison.Ordinal);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _handle.Dispose();
    }

    private void ThrowIfDisposedOrFaulted()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_fault is not null)
        {
            throw new InvalidOperationException(
                $"This GenAI generator can no longer be used: an earlier call failed ({_fault.Message}), and GenAI may leave " +
                "a generator's state corrupt after an error. Dispose it and create a new one.",
                _fault);
        }
    }

    private static void ThrowIfEmpty(SafeGenAiGeneratorHandle handle)
    {
        // GenAI would compute logits from nothing (GetLogits) or throw (GenerateNextToken); either way nothing useful.
        if (GenAiNative.GeneratorTokenCount(handle) == 0)
        {
            throw new InvalidOperationException("The GenAI generator has no tokens yet; call SetInputs or AppendTokens first.");
        }
    }

    /// <summary>Checks the result of a call that changes the generator's state, faulting the generator on error.</summary>
    private void Mutated(IntPtr result, string operation)
    {
        if (result == IntPtr.Zero)
        {
            return;
        }

        try
        {
            GenAiResult.ThrowIfFailed(result, operation);
        }
        catch (OnnxRuntimeGenAIException ex)
        {
            _fault = ex;
            throw;
        }
    }
}
