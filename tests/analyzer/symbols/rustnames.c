/* rustnames.c: a refused connect reached through two functions named as rustc names
 * backend::pool::open_conn, once in the legacy scheme and once in v0 (both names made by rustc
 * 1.95 from `pub mod pool { pub fn open_conn(..) }` in crate backend); tests/analyzer/symbols.py.
 */
#include "refuse.h"

__attribute__((noinline)) int
legacy_open_conn(int port) __asm__("_ZN7backend4pool9open_conn17h755816aa0678b3c2E");
__attribute__((noinline)) int
v0_open_conn(int port) __asm__("_RNvNtCskb5b6E1w6uX_7backend4pool9open_conn");

int legacy_open_conn(int port)
{
    return REFUSE(port); /* CONNECT */
}

int v0_open_conn(int port)
{
    int err = legacy_open_conn(port); /* CALL_LEGACY */
    return err;
}

int main(int argc, char **argv)
{
    int err = v0_open_conn(argc > 1 ? atoi(argv[1]) : 1); /* CALL_V0 */
    return REFUSE_REPORT("connect", err);
}
