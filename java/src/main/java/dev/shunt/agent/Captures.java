package dev.shunt.agent;

import dev.shunt.datapath.PacketCapture;
import dev.shunt.datapath.Pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code shunt capture}: one capture at a time on one fast-path port. The poll thread copies frames
 * into the capture's buffer ({@link PacketCapture}); a timer on the agent's scheduler notices when
 * the count is reached or the time is up, takes the capture off the pipeline and writes the pcap
 * file. Finished captures are remembered (the last {@value #REMEMBERED}) for their status.
 */
final class Captures {
    private static final int REMEMBERED = 16;
    private static final long TICK_MILLIS = 20;

    /** What the API shows about a capture; {@code state} is "capturing", "written" or "failed". */
    record Status(long id, String port, int count, int captured, String file, String state, String error) {}

    private record Active(long id, String port, Path file, PacketCapture capture, long deadlineNanos) {}

    private final Pipeline pipeline;
    private final ScheduledExecutorService scheduler;
    private final Map<Long, Status> finished = new LinkedHashMap<>();
    private Active active;
    private long lastId;

    Captures(Pipeline pipeline, ScheduledExecutorService scheduler) {
        this.pipeline = pipeline;
        this.scheduler = scheduler;
    }

    synchronized Status start(String portName, int portId, int count, int snaplen, Path file, int timeoutSeconds) {
        if (active != null) {
            throw new ApiServer.Refusal(409, "a capture is running already (on " + active.port() + ", id " + active.id() + ")");
        }
        if (!file.isAbsolute()) {
            throw new IllegalArgumentException("the capture file must be an absolute path, not " + file);
        }
        if (file.getParent() == null || !Files.isDirectory(file.getParent())) {
            throw new IllegalArgumentException("no directory " + file.getParent() + " for the capture file");
        }
        if (Files.isDirectory(file)) {
            throw new IllegalArgumentException(file + " is a directory");
        }
        if (timeoutSeconds < 1 || timeoutSeconds > 86400) {
            throw new IllegalArgumentException("capture timeout " + timeoutSeconds + " s is outside 1-86400");
        }
        PacketCapture capture = new PacketCapture(portId, count, snaplen);
        active = new Active(++lastId, portName, file, capture, System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds));
        pipeline.setCapture(capture);
        scheduler.schedule(this::tick, TICK_MILLIS, TimeUnit.MILLISECONDS);
        return status(active, "capturing", null);
    }

    synchronized Status status(long id) {
        if (active != null && active.id() == id) {
            return status(active, "capturing", null);
        }
        Status done = finished.get(id);
        if (done == null) {
            throw new ApiServer.Refusal(404, "no capture " + id);
        }
        return done;
    }

    /** Ends the capture on {@code portId}, if any, with what it has (its port is going away). */
    synchronized void portGone(int portId) {
        if (active != null && active.capture().portId() == portId) {
            finish();
        }
    }

    /** Ends a running capture with what it has (agent stop). */
    synchronized void stop() {
        if (active != null) {
            finish();
        }
    }

    private synchronized void tick() {
        if (active == null) {
            return;
        }
        if (active.capture().isComplete() || System.nanoTime() - active.deadlineNanos() >= 0) {
            finish();
        } else if (!scheduler.isShutdown()) {
            scheduler.schedule(this::tick, TICK_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private void finish() {
        Active done = active;
        active = null;
        pipeline.setCapture(null);
        Status status;
        try {
            // The poll thread may add a frame or two after this point (it reads the capture once per
            // batch); the file and the status hold exactly the frames published before the write.
            int written = done.capture().writeTo(done.file());
            status = status(done, written, "written", null);
        } catch (IOException | RuntimeException e) {
            status = status(done, done.capture().captured(), "failed", "cannot write " + done.file() + ": " + e.getMessage());
        }
        finished.put(done.id(), status);
        if (finished.size() > REMEMBERED) {
            finished.remove(finished.keySet().iterator().next());
        }
    }

    private static Status status(Active a, String state, String error) {
        return status(a, a.capture().captured(), state, error);
    }

    private static Status status(Active a, int captured, String state, String error) {
        return new Status(a.id(), a.port(), a.capture().count(), Math.min(captured, a.capture().count()), a.file().toString(),
                state, error);
    }
}
