// mallopt is declared in <malloc.h>, which the Swift Glibc module does not include. A direct call
// (rather than dlsym) also works in a fully static executable, where dlsym finds nothing.
#include "CMallocTuning.h"

#if defined(__GLIBC__)
#include <malloc.h>

int nnr_keep_large_buffers_in_heap(int bytes) {
    int mmap = mallopt(M_MMAP_THRESHOLD, bytes);
    int trim = mallopt(M_TRIM_THRESHOLD, bytes);
    return mmap == 1 && trim == 1;
}
#else
int nnr_keep_large_buffers_in_heap(int bytes) {
    (void)bytes;
    return 0;
}
#endif
