// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;

namespace Multimodal;

/// <summary>An awaitable that always continues on the thread pool, ignoring any synchronization context.</summary>
/// <remarks>Used once per generated token so that CPU-bound decoding never runs on the caller's (UI or request) thread.</remarks>
internal readonly struct ThreadPoolYield : ICriticalNotifyCompletion
{
    public bool IsCompleted => false;

    public ThreadPoolYield GetAwaiter() => this;

    public void GetResult()
    {
    }

    public void OnCompleted(Action continuation) =>
        ThreadPool.QueueUserWorkItem(static c => c(), continuation, preferLocal: false);

    public void UnsafeOnCompleted(Action continuation) =>
        ThreadPool.UnsafeQueueUserWorkItem(static c => c(), continuation, preferLocal: false);
}
