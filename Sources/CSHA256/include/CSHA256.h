#ifndef CSHA256_H
#define CSHA256_H
#include <stddef.h>
#include <stdint.h>

/// The 64 round constants K of SHA-256.
const uint32_t *_Nonnull nnr_sha256_round_constants(void);

/// 1 when the processor has the SHA extensions (x86 SHA-NI with SSSE3 and SSE4.1), else 0.
int nnr_sha256_hardware_available(void);

/// Compresses `blocks` 64-byte blocks at `data` into `state` (the eight words a, b, …, h) with the SHA
/// extensions. Call only when nnr_sha256_hardware_available() returns 1.
void nnr_sha256_hardware_blocks(uint32_t *_Nonnull state, const uint8_t *_Nonnull data, size_t blocks);

#endif
