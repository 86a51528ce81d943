package dev.shunt.state.etcd;

import io.etcd.jetcd.Client;
import io.grpc.ManagedChannel;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Optional;

/**
 * Makes the client's gRPC channel reconnect now instead of at the end of gRPC's own backoff, which
 * grows to 120 s: after an etcd outage of a minute the client would otherwise stay away for another
 * minute or two. jetcd 0.8.5 keeps the channel private (ClientImpl.connectionManager.getChannel()),
 * so it is reached by reflection; if a jetcd upgrade moves it, {@link #available()} turns false
 * (EtcdStoreTest checks it) and the store falls back to gRPC's backoff.
 */
final class ChannelReconnect {
    private final Optional<ManagedChannel> channel;

    private ChannelReconnect(Optional<ManagedChannel> channel) {
        this.channel = channel;
    }

    static ChannelReconnect of(Client client) {
        try {
            Field field = client.getClass().getDeclaredField("connectionManager");
            field.setAccessible(true);
            Object manager = field.get(client);
            Method getChannel = manager.getClass().getDeclaredMethod("getChannel");
            getChannel.setAccessible(true);
            return new ChannelReconnect(Optional.of((ManagedChannel) getChannel.invoke(manager)));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return new ChannelReconnect(Optional.empty());
        }
    }

    boolean available() {
        return channel.isPresent();
    }

    /** Equivalent to gRPC's {@code ManagedChannel.resetConnectBackoff()}: connects now if the channel is waiting out a backoff. */
    void now() {
        channel.ifPresent(ManagedChannel::resetConnectBackoff);
    }
}
