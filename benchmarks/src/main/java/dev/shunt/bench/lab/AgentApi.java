package dev.shunt.bench.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The Shunt agent's HTTP/JSON API over its Unix socket, as the CLI uses it (one request per
 * connection, the agent closes after answering). The benchmarks talk to the agent only through
 * this API, like any other client; the CLI's own client is package-private to {@code cli}.
 */
public final class AgentApi {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path socket;

    public AgentApi(Path socket) {
        this.socket = socket;
    }

    /** Sends one request and returns the JSON answer; a non-200 answer throws with the agent's message. */
    public JsonNode call(String method, String path, Object body) {
        byte[] payload;
        try {
            payload = body == null ? new byte[0] : JSON.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot encode " + body, e);
        }
        String head = method + " " + path + " HTTP/1.1\r\nHost: shunt\r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + payload.length + "\r\n\r\n";
        String text;
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer out = ByteBuffer.allocate(head.length() + payload.length);
            out.put(head.getBytes(StandardCharsets.US_ASCII)).put(payload).flip();
            while (out.hasRemaining()) {
                channel.write(out);
            }
            ByteArrayOutputStream response = new ByteArrayOutputStream();
            ByteBuffer in = ByteBuffer.allocate(16384);
            while (channel.read(in) >= 0) {
                response.write(in.array(), 0, in.position());
                in.clear();
            }
            text = response.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot talk to the agent at " + socket + ": " + e.getMessage(), e);
        }
        int lineEnd = text.indexOf("\r\n");
        int headerEnd = text.indexOf("\r\n\r\n");
        if (lineEnd < 0 || headerEnd < 0) {
            throw new IllegalStateException("malformed answer from the agent: " + text);
        }
        int status = Integer.parseInt(text.substring(0, lineEnd).split(" ", 3)[1]);
        String answer = text.substring(headerEnd + 4);
        if (status != 200) {
            throw new IllegalStateException(method + " " + path + ": agent answered " + status + ": " + answer);
        }
        try {
            return JSON.readTree(answer);
        } catch (IOException e) {
            throw new IllegalStateException("malformed JSON from the agent: " + answer, e);
        }
    }
}
