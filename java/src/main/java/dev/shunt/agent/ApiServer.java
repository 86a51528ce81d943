package dev.shunt.agent;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.DomainSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The agent's HTTP/JSON API on a Unix-domain socket (mode 0600: root only), served by one netty
 * epoll event loop. Requests are handled one at a time on that loop, which serialises every
 * control-plane change without locks; each response closes the connection.
 */
public final class ApiServer implements AutoCloseable {
    /** Handles one request; returns the status and a JSON body. Exceptions become 500. */
    @FunctionalInterface
    public interface Handler {
        Response handle(String method, String path, byte[] body) throws Exception;
    }

    public record Response(int status, String json) {
        public static Response ok(String json) {
            return new Response(200, json);
        }

        public static Response error(int status, String message) {
            return new Response(status, "{\"error\":" + quote(message) + "}");
        }
    }

    /** A request the agent turns down with a status of its own: 404 (no such object), 409 (conflict). */
    public static final class Refusal extends RuntimeException {
        private final int status;

        public Refusal(int status, String message) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    /** The largest request body the API takes (a bigger one is answered 413). */
    public static final int MAX_BODY = 1 << 20;

    private final Path socket;
    private final EventLoopGroup group;
    private final Channel channel;

    private ApiServer(Path socket, EventLoopGroup group, Channel channel) {
        this.socket = socket;
        this.group = group;
        this.channel = channel;
    }

    /** Binds {@code socket} (removing a stale file, refusing if another agent answers on it). */
    public static ApiServer start(Path socket, Handler handler) {
        prepare(socket);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        try {
            Channel channel = new ServerBootstrap()
                    .group(group)
                    .channel(EpollServerDomainSocketChannel.class)
                    .childHandler(new ChannelInitializer<DomainSocketChannel>() {
                        @Override
                        protected void initChannel(DomainSocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(MAX_BODY), new Dispatcher(handler));
                        }
                    })
                    .bind(new DomainSocketAddress(socket.toString()))
                    .sync()
                    .channel();
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
            return new ApiServer(socket, group, channel);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            group.shutdownGracefully();
            throw new IllegalStateException("interrupted while binding " + socket, e);
        } catch (IOException e) {
            group.shutdownGracefully();
            throw new UncheckedIOException("cannot set permissions of " + socket, e);
        }
    }

    public Path socket() {
        return socket;
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        try {
            Files.deleteIfExists(socket);
        } catch (IOException ignored) {
            // the socket file is recreated (stale files are removed) on the next start
        }
    }

    private static void prepare(Path socket) {
        try {
            Files.createDirectories(socket.toAbsolutePath().getParent());
            if (Files.exists(socket)) {
                try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    probe.connect(UnixDomainSocketAddress.of(socket));
                    throw new IllegalStateException("another agent is serving " + socket);
                } catch (IOException refused) {
                    Files.delete(socket); // stale: left by an agent that was killed
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + socket, e);
        }
    }

    static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : String.valueOf(text).toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    private static final class Dispatcher extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final Handler handler;

        Dispatcher(Handler handler) {
            this.handler = handler;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            byte[] body = new byte[request.content().readableBytes()];
            request.content().readBytes(body);
            Response response;
            try {
                response = handler.handle(request.method().name(), request.uri(), body);
            } catch (Refusal e) {
                response = Response.error(e.status(), e.getMessage());
            } catch (IllegalArgumentException e) {
                response = Response.error(400, e.getMessage());
            } catch (Exception e) {
                response = Response.error(500, e.getMessage() == null ? e.toString() : e.getMessage());
            }
            byte[] json = response.json().getBytes(StandardCharsets.UTF_8);
            DefaultFullHttpResponse out = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.valueOf(response.status()), Unpooled.wrappedBuffer(json));
            out.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
            out.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, json.length);
            ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
