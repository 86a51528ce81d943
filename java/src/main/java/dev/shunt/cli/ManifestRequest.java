package dev.shunt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.agent.ApiServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A manifest file's text sent to the agent ({@code shunt apply -f}, {@code shunt delete -f}). The
 * CLI does not read the manifests itself: the agent checks them, so what it takes does not depend
 * on which CLI sent it. Its answer's warnings and problems are printed one per line.
 */
final class ManifestRequest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ManifestRequest() {}

    /** The text of {@code file} ({@code -}: standard input), which must be UTF-8. */
    static String read(String file, InputStream stdin) {
        byte[] bytes;
        try {
            bytes = file.equals("-") ? stdin.readAllBytes() : Files.readAllBytes(Path.of(file));
        } catch (NoSuchFileException e) {
            throw new IllegalStateException("no file " + file);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file + ": " + e.getMessage());
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalStateException((file.equals("-") ? "standard input" : file) + " is not UTF-8 text");
        }
    }

    /**
     * Posts {@code text} to {@code /v1/state/VERB}, prints the warnings (to {@code err}) and, if
     * the agent refused it, its problems; returns the answer, or null if it was refused.
     */
    static JsonNode post(AgentClient client, String verb, String file, String text, PrintWriter err) {
        String body = JSON.createObjectNode().put("manifest", text).toString();
        int size = body.getBytes(StandardCharsets.UTF_8).length;
        if (size > ApiServer.MAX_BODY) {
            throw new IllegalStateException(file + " is too large for the agent: " + size + " bytes as a request, at most "
                    + ApiServer.MAX_BODY);
        }
        AgentClient.Reply reply = client.call("POST", "/v1/state/" + verb, body);
        JsonNode answer;
        try {
            answer = JSON.readTree(reply.body());
        } catch (IOException e) {
            throw new IllegalStateException("malformed answer from the agent: " + reply.body(), e);
        }
        if (answer == null || answer.isMissingNode()) {
            throw new IllegalStateException("the agent answered " + reply.status() + " without a body");
        }
        answer.path("warnings").forEach(w -> err.println("shunt: warning: " + w.asText()));
        if (reply.status() == 200) {
            return answer;
        }
        JsonNode problems = answer.path("problems");
        if (problems.isEmpty()) {
            err.println("shunt: error: " + answer.path("error").asText(reply.body()));
        } else {
            problems.forEach(p -> err.println("shunt: error: " + p.asText()));
            err.println("shunt: error: nothing " + (verb.equals("apply") ? "applied" : "deleted") + " (" + problems.size()
                    + (problems.size() == 1 ? " problem in " : " problems in ") + (file.equals("-") ? "standard input" : file) + ")");
        }
        return null;
    }
}
