// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>Options of one or more runs (<c>OrtRunOptions</c>); its terminate flag stops the runs using it.</summary>
/// <remarks>
/// <see cref="Terminate"/> may be called from any thread while a run is in progress: ONNX Runtime checks the flag
/// between operators and fails the run. The flag stays set (so later runs with these options fail at once) until
/// <see cref="ResetTerminate"/>. Runs given a <see cref="CancellationToken"/> use this flag for cancellation.
/// </remarks>
internal sealed unsafe class OrtRunOptions : IDisposable
{
    /// <summary>Initializes new run options (<c>CreateRunOptions</c>).</summary>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot create them.</exception>
    public OrtRunOptions()
    {
        nint raw;
        OrtStatus.ThrowIfFailed(OrtApi.CreateRunOptions(&raw), "create run options");
        Handle = SafeOrtRunOptionsHandle.Adopt(raw);
    }

    /// <summary>Gets the native handle.</summary>
    internal SafeOrtRunOptionsHandle Handle { get; }

    /// <summary>Sets the terminate flag (<c>RunOptionsSetTerminate</c>): runs using these options stop at the next operator boundary.</summary>
    /// <exception cref="ObjectDisposedException">The options are disposed.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime rejects the call.</exception>
    public void Terminate()
    {
        using var lease = new HandleLease(Handle);
        OrtStatus.ThrowIfFailed(OrtApi.RunOptionsSetTerminate(lease.Pointer), "set the terminate flag of run options");
    }

    /// <summary>Clears the terminate flag (<c>RunOptionsUnsetTerminate</c>), so that the options can run again.</summary>
    /// <exception cref="ObjectDisposedException">The options are disposed.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime rejects the call.</exception>
    public void ResetTerminate()
    {
        using var lease = new HandleLease(Handle);
        OrtStatus.ThrowIfFailed(OrtApi.RunOptionsUnsetTerminate(lease.Pointer), "clear the terminate flag of run options");
    }

    /// <summary>Releases the options.</summary>
    public void Dispose() => Handle.Dispose();
}

/// <summary>The run options of one run and its cancellation: the caller's options or private ones, whose terminate flag a <see cref="CancellationToken"/> sets.</summary>
/// <remarks>
/// Use as <c>using var scope = RunScope.Enter(…)</c>. <see cref="Dispose"/> first unregisters the token (waiting for a
/// callback in progress), then resets the flag it set on the caller's options, then releases private options, so the
/// callback can never touch released options.
/// </remarks>
internal struct RunScope : IDisposable
{
    private OrtRunOptions? _owned;
    private OrtRunOptions? _options;
    private CancellationTokenRegistration _registration;
    private StrongBox<bool>? _fired;
    private bool _leased;

    /// <summary>Gets the <c>OrtRunOptions*</c> to pass (zero when no options are needed).</summary>
    public nint Pointer { get; private set; }

    /// <summary>Gets the token the run observes.</summary>
    public CancellationToken CancellationToken { get; private set; }

    /// <summary>Prepares the run options of one run.</summary>
    /// <param name="runOptions">The caller's options, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the run by setting the terminate flag.</param>
    /// <returns>The scope; dispose it after the run.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> is already cancelled.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="runOptions"/> is disposed.</exception>
    public static RunScope Enter(OrtRunOptions? runOptions, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var scope = new RunScope { CancellationToken = cancellationToken };
        try
        {
            if (runOptions is null && cancellationToken.CanBeCanceled)
            {
                scope._owned = new OrtRunOptions();
                runOptions = scope._owned;
            }

            if (runOptions is not null)
            {
                var added = false;
                runOptions.Handle.DangerousAddRef(ref added);
                scope._leased = true;
                scope._options = runOptions;
                scope.Pointer = runOptions.Handle.DangerousGetHandle();
            }

            if (cancellationToken.CanBeCanceled)
            {
                var fired = new StrongBox<bool>();
                var options = runOptions!;
                scope._fired = fired;
                scope._registration = cancellationToken.Register(() =>
                {
                    fired.Value = true;
                    options.Terminate();
                });
            }

            return scope;
        }
        catch
        {
            scope.Dispose();
            throw;
        }
    }

    /// <summary>Turns a failed run's status into the exception to throw: <see cref="OperationCanceledException"/> when this scope's token stopped it, otherwise <see cref="OnnxRuntimeException"/>.</summary>
    /// <param name="status">The non-null status; released here.</param>
    /// <param name="doing">What the run was, completing "ONNX Runtime could not …".</param>
    /// <returns>The exception.</returns>
    public readonly Exception Failure(nint status, string doing)
    {
        var error = OrtStatus.ToException(status, doing);
        return CancellationToken.IsCancellationRequested
            ? new OperationCanceledException($"The ONNX Runtime run was cancelled ({error.Message}).", error, CancellationToken)
            : error;
    }

    /// <summary>Unregisters the token, clears a terminate flag it set on the caller's options, and releases private options.</summary>
    public void Dispose()
    {
        _registration.Dispose();
        _registration = default;
        if (_fired?.Value == true && _owned is null && _options is not null)
        {
            // The token set the flag on the caller's options: clear it so that they can run again.
            _options.ResetTerminate();
        }

        if (_leased)
        {
            _options!.Handle.DangerousRelease();
            _leased = false;
        }

        _owned?.Dispose();
        _owned = null;
        _options = null;
    }
}
