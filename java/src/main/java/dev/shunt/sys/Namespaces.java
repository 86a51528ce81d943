package dev.shunt.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The calls behind network namespaces: unshare(2), setns(2), and the mount(2) calls that pin a
 * namespace to a file the way {@code ip netns add} does. Namespace membership is per thread, so
 * these act on the calling thread only.
 */
public final class Namespaces {
    public static final int CLONE_NEWNET = 0x40000000;

    public static final long MS_BIND = 4096;
    public static final long MS_REC = 16384;
    public static final long MS_SHARED = 1 << 20;
    public static final int MNT_DETACH = 2;

    private Namespaces() {}

    /** unshare(CLONE_NEWNET): the calling thread moves into a new, empty network namespace. */
    public static void unshareNetwork() {
        MemorySegment state = LibC.callState();
        int r;
        try {
            r = (int) LibC.UNSHARE.invokeExact(state, CLONE_NEWNET);
        } catch (Throwable t) {
            throw LibC.downcallFailed("unshare", t);
        }
        if (r < 0) {
            throw new SysException("unshare(CLONE_NEWNET)", LibC.errno(state));
        }
    }

    /** setns(fd, CLONE_NEWNET): the calling thread joins the network namespace {@code nsFd} refers to. */
    public static void enterNetwork(Fd nsFd) {
        MemorySegment state = LibC.callState();
        int r;
        try {
            r = (int) LibC.SETNS.invokeExact(state, nsFd.value(), CLONE_NEWNET);
        } catch (Throwable t) {
            throw LibC.downcallFailed("setns", t);
        }
        if (r < 0) {
            throw new SysException("setns(" + nsFd + ", CLONE_NEWNET)", LibC.errno(state));
        }
    }

    /** mount --bind SOURCE TARGET. */
    public static void bindMount(String source, String target) {
        mount(source, target, "none", MS_BIND, "mount --bind " + source + " " + target);
    }

    /** mount --make-rshared TARGET. */
    public static void makeSharedRecursive(String target) {
        mount("none", target, null, MS_SHARED | MS_REC, "mount --make-rshared " + target);
    }

    /** mount --rbind TARGET TARGET: turns a plain directory into a mount point. */
    public static void bindMountOntoItself(String target) {
        mount(target, target, "none", MS_BIND | MS_REC, "mount --rbind " + target + " " + target);
    }

    /** umount -l TARGET. */
    public static void detachUnmount(String target) {
        MemorySegment state = LibC.callState();
        int r;
        try (Arena arena = Arena.ofConfined()) {
            r = (int) LibC.UMOUNT2.invokeExact(state, arena.allocateFrom(target), MNT_DETACH);
        } catch (Throwable t) {
            throw LibC.downcallFailed("umount2", t);
        }
        if (r < 0) {
            throw new SysException("umount -l " + target, LibC.errno(state));
        }
    }

    private static void mount(String source, String target, String type, long flags, String what) {
        MemorySegment state = LibC.callState();
        int r;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fsType = type == null ? MemorySegment.NULL : arena.allocateFrom(type);
            r = (int) LibC.MOUNT.invokeExact(state, arena.allocateFrom(source), arena.allocateFrom(target), fsType,
                    flags, MemorySegment.NULL);
        } catch (Throwable t) {
            throw LibC.downcallFailed("mount", t);
        }
        if (r < 0) {
            throw new SysException(what, LibC.errno(state));
        }
    }
}
