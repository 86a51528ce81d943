/**
 * Owns every Panama downcall: libc syscalls, errno capture, fd ownership, raw struct layouts.
 * Nothing outside this package touches {@code Linker} or dereferences raw addresses; callers get
 * typed methods and {@link dev.shunt.sys.SysException}. The one exception by design:
 * {@link dev.shunt.sys.NativeMemory} reads and writes at addresses its caller computed, for the
 * connection table, which owns and validates its memory, and for the pipeline's established path,
 * which checks each frame against its buffer (the fast path's JIT budget needs it). Uses the JDK
 * only, never another Shunt package.
 */
package dev.shunt.sys;
