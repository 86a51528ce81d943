/*
 * JDK 25 looks for hsdis's decode_instructions_virtual; Debian's libhsdis0-fcml (the only hsdis
 * packaged here) exports only the older decode_instructions. This shim, loaded as
 * hsdis-amd64.so, forwards the one to the other, so -XX:+PrintAssembly and JMH's perfasm print
 * instructions instead of raw bytes. For code in the code cache the JDK passes buffer == start_va,
 * so the old entry point's addresses are the real ones. Built and used by perfasm.sh.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

typedef void *(*decode_fn)(void *start, void *end, void *event_callback, void *event_stream,
                           void *printf_callback, void *printf_stream, const char *options);

void *decode_instructions_virtual(uintptr_t start_va, uintptr_t end_va, unsigned char *buffer,
                                  uintptr_t length, void *event_callback, void *event_stream,
                                  void *printf_callback, void *printf_stream, const char *options,
                                  int newline) {
    static decode_fn decode;
    (void) buffer;
    (void) length;
    (void) newline;
    if (decode == NULL) {
        void *lib = dlopen("libhsdis.so.0", RTLD_NOW);
        if (lib == NULL) {
            return NULL;
        }
        decode = (decode_fn) dlsym(lib, "decode_instructions");
        if (decode == NULL) {
            return NULL;
        }
    }
    return decode((void *) start_va, (void *) end_va, event_callback, event_stream, printf_callback,
                  printf_stream, options);
}
