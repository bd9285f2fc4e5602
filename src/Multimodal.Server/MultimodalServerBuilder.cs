// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Multimodal.Server.Internal;

namespace Multimodal.Server;

/// <summary>Adds the models a server serves and adjusts its options; returned by <c>services.AddMultimodalServer()</c>.</summary>
/// <remarks>
/// Each model has an id, which clients send as <c>model</c> and <c>GET /v1/models</c> lists; ids are compared
/// ordinally and must be unique. A <see cref="MultimodalModel"/> is served under its <see cref="MultimodalModel.ModelId"/>
/// (the folder name unless set), any other <see cref="IChatClient"/> (a remote engine, a test double) under the id given.
/// Ownership: clients passed as instances stay the caller's to dispose; clients created by a factory are disposed with
/// the server's service provider.
/// </remarks>
public sealed class MultimodalServerBuilder
{
    private readonly ModelRegistrations _registrations;

    internal MultimodalServerBuilder(IServiceCollection services, ModelRegistrations registrations)
    {
        Services = services;
        _registrations = registrations;
    }

    /// <summary>Gets the service collection the server is registered in (to add logging, for example).</summary>
    public IServiceCollection Services { get; }

    /// <summary>Adjusts the server's options.</summary>
    /// <param name="configure">Sets options.</param>
    /// <returns>This builder.</returns>
    public MultimodalServerBuilder Configure(Action<MultimodalServerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(configure);
        return this;
    }

    /// <summary>Serves a model under its <see cref="MultimodalModel.ModelId"/>.</summary>
    /// <param name="model">The model; the caller keeps ownership. It loads on its first request unless it is loaded already.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">A model with the same id is already served.</exception>
    public MultimodalServerBuilder AddModel(MultimodalModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Add(model.ModelId, _ => model, owned: false);
    }

    /// <summary>Serves a chat client under an id.</summary>
    /// <param name="id">The id clients send as <c>model</c>.</param>
    /// <param name="client">The client; the caller keeps ownership.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or already served.</exception>
    public MultimodalServerBuilder AddModel(string id, IChatClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return Add(id, _ => client, owned: false);
    }

    /// <summary>Serves a chat client created from the services when the server starts.</summary>
    /// <param name="id">The id clients send as <c>model</c>.</param>
    /// <param name="factory">Creates the client; the server disposes it when its service provider is disposed.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or already served.</exception>
    public MultimodalServerBuilder AddModel(string id, Func<IServiceProvider, IChatClient> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return Add(id, factory, owned: true);
    }

    private MultimodalServerBuilder Add(string id, Func<IServiceProvider, IChatClient> factory, bool owned)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (_registrations.Items.Any(r => string.Equals(r.Id, id, StringComparison.Ordinal)))
        {
            throw new ArgumentException($"A model with the id '{id}' is already served; ids must be unique.", nameof(id));
        }

        _registrations.Items.Add(new ModelRegistration(id, factory, owned));
        return this;
    }
}
