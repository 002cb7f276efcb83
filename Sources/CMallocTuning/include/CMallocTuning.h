#ifndef CMALLOCTUNING_H
#define CMALLOCTUNING_H

/// Raises glibc's mmap and trim thresholds to `bytes`, so that freed large buffers are reused from
/// the heap instead of being unmapped and zero-filled again on the next allocation. Returns 1 when
/// both settings were accepted, 0 otherwise (and on C libraries without mallopt).
int nnr_keep_large_buffers_in_heap(int bytes);

#endif
