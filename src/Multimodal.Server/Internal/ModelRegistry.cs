// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Threading.RateLimiting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Multimodal.Server.Internal;

/// <summary>One model registration: its id and how to get its chat client.</summary>
/// <param name="Id">The id clients send as <c>model</c>.</param>
/// <param name="Factory">Creates (or returns) the client.</param>
/// <param name="Owned">Whether the server disposes the client (created by a factory) or the caller does (an instance).</param>
internal sealed record ModelRegistration(string Id, Func<IServiceProvider, IChatClient> Factory, bool Owned);

/// <summary>The registrations collected by <see cref="MultimodalServerBuilder"/>; one per service collection.</summary>
internal sealed class ModelRegistrations
{
    public List<ModelRegistration> Items { get; } = [];
}

/// <summary>A model being served: its client, its slots and its waiting line.</summary>
internal sealed class ServedModel : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;
    private int _active;

    public ServedModel(string id, IChatClient client, bool owned, int maxConcurrent, int maxQueued)
    {
        Id = id;
        Client = client;
        Owned = owned;
        MaxConcurrentRequests = maxConcurrent;
        MaxQueuedRequests = maxQueued;
        Model = client as MultimodalModel ?? client.GetService(typeof(MultimodalModel)) as MultimodalModel;
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = maxConcurrent,
            QueueLimit = maxQueued,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    public string Id { get; }

    public IChatClient Client { get; }

    /// <summary>Gets the <see cref="MultimodalModel"/> behind the client, when there is one.</summary>
    public MultimodalModel? Model { get; }

    public bool Owned { get; }

    public int MaxConcurrentRequests { get; }

    public int MaxQueuedRequests { get; }

    /// <summary>Gets the time the model was registered (OpenAI's <c>created</c>).</summary>
    public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;

    /// <summary>Gets how many requests are generating.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>Gets how many requests wait for a slot.</summary>
    public int Queued => (int)(_limiter.GetStatistics()?.CurrentQueuedCount ?? 0);

    /// <summary>Gets whether every slot and every place in the line is taken: a hint that lets an overloaded server refuse
    /// a request before decoding its media (the limiter still decides when the request asks for a slot).</summary>
    public bool IsFull => _limiter.GetStatistics() is { } s && s.CurrentAvailablePermits == 0 && s.CurrentQueuedCount >= MaxQueuedRequests;

    /// <summary>Gets the number of frames sampled from a video that does not say, when the server can know it.</summary>
    public int? DefaultVideoFrames => Model?.Options.DefaultVideoFrames;

    /// <summary>Waits for a slot, in arrival order.</summary>
    /// <returns>The slot, to dispose when the request ends; <see langword="null"/> when the slots and the line are full.</returns>
    /// <exception cref="OperationCanceledException">The request was cancelled while it waited; it left the line.</exception>
    public async ValueTask<Slot?> AcquireAsync(CancellationToken cancellationToken)
    {
        var lease = await _limiter.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            return null;
        }

        Interlocked.Increment(ref _active);
        return new Slot(this, lease);
    }

    public void Dispose() => _limiter.Dispose();

    /// <summary>A held generation slot.</summary>
    internal sealed class Slot(ServedModel model, RateLimitLease lease) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref model._active);
                lease.Dispose();
            }
        }
    }
}

/// <summary>The served models by id (ordinal, case-sensitive, as OpenAI's are).</summary>
internal sealed class ModelRegistry : IAsyncDisposable
{
    /// <summary>The slots of a chat client that is not a <see cref="MultimodalModel"/> (a remote engine, a test double) when the options do not say.</summary>
    internal const int DefaultConcurrencyForOtherClients = 4;

    private readonly Dictionary<string, ServedModel> _byId = new(StringComparer.Ordinal);

    public ModelRegistry(IServiceProvider services, ModelRegistrations registrations, IOptions<MultimodalServerOptions> options, ILogger<ModelRegistry> logger)
    {
        var o = options.Value;
        var models = new List<ServedModel>();
        try
        {
            foreach (var registration in registrations.Items)
            {
                var client = registration.Factory(services) ?? throw new InvalidOperationException($"The factory of model '{registration.Id}' returned null.");
                var model = client as MultimodalModel ?? client.GetService(typeof(MultimodalModel)) as MultimodalModel;
                var concurrency = o.MaxConcurrentRequestsPerModel ?? model?.Options.MaxConcurrentRequests ?? DefaultConcurrencyForOtherClients;
                if (model is not null && concurrency > model.Options.MaxConcurrentRequests)
                {
                    ServerLog.ConcurrencyLowered(logger, registration.Id, model.Options.MaxConcurrentRequests, concurrency);
                    concurrency = model.Options.MaxConcurrentRequests;
                }

                var served = new ServedModel(registration.Id, client, registration.Owned, concurrency, o.MaxQueuedRequestsPerModel);
                models.Add(served);
                _byId.Add(registration.Id, served);
            }
        }
        catch
        {
            foreach (var m in models)
            {
                m.Dispose();
            }

            throw;
        }

        Models = models;
    }

    /// <summary>Gets the models, in registration order.</summary>
    public IReadOnlyList<ServedModel> Models { get; }

    public ServedModel? Find(string id) => _byId.GetValueOrDefault(id);

    public async ValueTask DisposeAsync()
    {
        foreach (var model in Models)
        {
            model.Dispose();
            if (model.Owned)
            {
                if (model.Client is IAsyncDisposable asyncDisposable)
                {
                    await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                }
                else
                {
                    model.Client.Dispose();
                }
            }
        }
    }
}
