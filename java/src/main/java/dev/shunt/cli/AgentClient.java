package dev.shunt.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A minimal HTTP/1.1 client for the agent's API over its Unix socket (the JDK's own
 * UNIX-domain SocketChannel: no extra dependency, no TCP port). One request per connection; the
 * agent closes the connection after its response.
 */
final class AgentClient {
    record Reply(int status, String body) {}

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    private final Path socket;

    AgentClient(Path socket) {
        this.socket = socket;
    }

    /** Calls the agent and returns its JSON answer; an error answer becomes an exception with the agent's message. */
    com.fasterxml.jackson.databind.JsonNode json(String method, String path, String jsonBody) {
        Reply reply = call(method, path, jsonBody);
        com.fasterxml.jackson.databind.JsonNode json;
        try {
            json = JSON.readTree(reply.body());
        } catch (IOException e) {
            throw new IllegalStateException("malformed answer from the agent: " + reply.body(), e);
        }
        if (reply.status() != 200) {
            throw new IllegalStateException(json != null && json.has("error") ? json.get("error").asText() : reply.body());
        }
        return json;
    }

    Reply call(String method, String path, String jsonBody) {
        if (!Files.exists(socket)) {
            throw new IllegalStateException("no agent socket at " + socket + " (is 'shunt agent' running? use --socket)");
        }
        byte[] body = jsonBody == null ? new byte[0] : jsonBody.getBytes(StandardCharsets.UTF_8);
        String head = method + " " + path + " HTTP/1.1\r\nHost: shunt\r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n";
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer out = ByteBuffer.allocate(head.length() + body.length);
            out.put(head.getBytes(StandardCharsets.US_ASCII)).put(body).flip();
            while (out.hasRemaining()) {
                channel.write(out);
            }
            ByteArrayOutputStream response = new ByteArrayOutputStream();
            ByteBuffer in = ByteBuffer.allocate(16384);
            while (channel.read(in) >= 0) {
                in.flip();
                response.write(in.array(), 0, in.limit());
                in.clear();
            }
            return parse(response.toString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot talk to the agent at " + socket + ": " + e.getMessage(), e);
        }
    }

    private static Reply parse(String text) {
        int lineEnd = text.indexOf("\r\n");
        int headerEnd = text.indexOf("\r\n\r\n");
        if (lineEnd < 0 || headerEnd < 0) {
            throw new IllegalStateException("malformed answer from the agent: " + text);
        }
        String[] status = text.substring(0, lineEnd).split(" ", 3);
        return new Reply(Integer.parseInt(status[1]), text.substring(headerEnd + 4));
    }
}
