/* demangle.c: readable names for C++ and Rust symbols, by libiberty (binutils' and gdb's own). */
#include "demangle.h"
#include <libiberty/demangle.h>
#include <string.h>

char *rsw_demangle(const char *sym)
{
    /* Itanium C++ and legacy Rust names start "_Z", Rust v0 names "_R"; nothing else is tried
     * (a C name costs no call). DMGL_AUTO tries Rust first, then C++: a legacy Rust name is a
     * valid C++ name too, whose last part would be its hash. DMGL_RUST alone would refuse C++. */
    if (!sym || sym[0] != '_' || (sym[1] != 'Z' && sym[1] != 'R'))
        return NULL;
    return cplus_demangle(sym, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}
