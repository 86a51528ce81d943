package dev.shunt.cni;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Attachments that make nothing and record what CniPlugin asked of them, for tests without a kernel. */
class RecordingAttachments implements Attachments {
    final List<String> calls = new ArrayList<>();
    String unavailable;
    List<Removed> toRemove = List.of();

    @Override
    public Made add(Request request) {
        calls.add("add " + request.key() + " " + request.podName() + " " + request.labels());
        return new Made(request.podName(), "shp00000001", "02:00:00:00:00:01", "02:00:00:00:00:02", "10.244.1.2/32", "169.254.1.1", 1450);
    }

    @Override
    public void delete(AttachmentKey key, String podName) {
        calls.add("delete " + key + " " + podName);
    }

    @Override
    public Made check(AttachmentKey key, Path netns) {
        calls.add("check " + key + " " + netns);
        throw new CniError(CniError.ATTACHMENT_BROKEN, "attachment not as added", "no attachment " + key);
    }

    @Override
    public List<Removed> collect(String network, Set<AttachmentKey> valid) {
        calls.add("collect " + network + " " + valid.stream().map(AttachmentKey::toString).sorted().toList());
        return toRemove;
    }

    @Override
    public Optional<String> unavailable() {
        calls.add("status");
        return Optional.ofNullable(unavailable);
    }
}
