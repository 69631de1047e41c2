// Forced into every C file of `make firmware BOARD=unix32` (tools/firmware.py):
// mbedtls then takes its memory from MicroPython's heap, as it does on the
// Pico W, instead of libc's malloc as the stock unix port has it, so the
// heap a TLS session needs shows in the agent's heap figures.
#include <stddef.h>
void *m_tracked_calloc(size_t nmemb, size_t size);
void m_tracked_free(void *ptr);
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_STD_CALLOC m_tracked_calloc
#define MBEDTLS_PLATFORM_STD_FREE m_tracked_free
#define MICROPY_TRACKED_ALLOC (1)  // the stock unix port has it only with ffi
