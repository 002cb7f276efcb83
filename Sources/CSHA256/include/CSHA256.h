#ifndef CSHA256_H
#define CSHA256_H
#include <stddef.h>
#include <stdint.h>

/// 1 when the processor has the SHA extensions (x86 SHA-NI with SSSE3 and SSE4.1), else 0.
int nnr_sha256_hardware_available(void);

/// Compresses `blocks` 64-byte blocks at `data` into `state` (a, b, …, h) with the SHA
/// extensions. Call only when nnr_sha256_hardware_available() returns 1.
void nnr_sha256_hardware_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
