package dev.shunt.port;

import dev.shunt.sys.Fd;

/** A port with a file descriptor that epoll reports readable when frames wait (a packet socket). */
public interface PollablePort extends Port {
    Fd ringFd();

    /** Frames queued for sending that the kernel has not taken yet (work still in flight). */
    int txWaiting();
}
