/**
 * Owns every Panama downcall: libc syscalls, errno capture, fd ownership, raw struct layouts.
 * Nothing outside this package touches {@code Linker} or raw addresses; callers get typed methods
 * and {@link dev.shunt.sys.SysException}. Uses the JDK only, never another Shunt package.
 */
package dev.shunt.sys;
