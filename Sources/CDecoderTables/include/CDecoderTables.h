#ifndef CDECODERTABLES_H
#define CDECODERTABLES_H
#include <stddef.h>

/// The arithmetic decoder's constant tables (rLPS rows, fast and slow estimator updates) as the
/// Swift code builds them (`DecoderTables.fill`, Sources/NNRCoding/ArithmeticDecoder.swift),
/// precomputed into the binary's read-only data: no start-up work and no fresh pages. Little-endian
/// 64-bit words, 64-byte aligned. Generated; see decoder_tables.c.
const void *_Nonnull nnr_decoder_tables(void);

/// The size of the tables in bytes (the Swift side uses them only if it equals its own layout).
size_t nnr_decoder_tables_size(void);

#endif
