/* demangle.h: readable names for C++ (Itanium ABI) and Rust (legacy and v0) symbols. */
#ifndef RSW_DEMANGLE_H
#define RSW_DEMANGLE_H

/* The demangled name of sym, malloc'd ("_ZN7backend4Pool9open_connEi" →
 * "backend::Pool::open_conn(int)", "_ZN7backend4pool9open_conn17h…E" and
 * "_RNvNtCs…_7backend4pool9open_conn" → "backend::pool::open_conn"), or NULL when sym is not a
 * mangled name libiberty can read (a C name). A Rust name loses its hash and crate disambiguator,
 * as rustc-demangle's short form. */
char *rsw_demangle(const char *sym);

#endif
