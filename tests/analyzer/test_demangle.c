/* test_demangle.c: Criterion unit tests for rsw_demangle (demangle.c): C++ and both Rust schemes
 * demangled, C names left alone. */
#include "demangle.h"
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void is(const char *sym, const char *want)
{
    char *got = rsw_demangle(sym);
    if (want)
        cr_expect(got && strcmp(got, want) == 0, "%s: expected %s, got %s", sym, want,
                  got ? got : "NULL");
    else
        cr_expect(got == NULL, "%s: expected no demangling, got %s", sym, got);
    free(got);
}

Test(demangle, cplusplus)
{
    is("_ZN7backend4Pool9open_connEi", "backend::Pool::open_conn(int)");
    is("_ZNSt6vectorIiSaIiEE9push_backERKi",
       "std::vector<int, std::allocator<int> >::push_back(int const&)");
    is("_ZN3foo3barE", "foo::bar"); /* a C++ name with no hash is not taken for Rust */
    is("_ZN7backend4Pool9open_connEi.cold", "backend::Pool::open_conn(int) [clone .cold]");
}

Test(demangle, rust)
{
    /* both made by rustc 1.95 from crate backend, `pub mod pool { pub fn open_conn }` */
    is("_ZN7backend4pool9open_conn17h755816aa0678b3c2E", "backend::pool::open_conn");
    is("_RNvNtCskb5b6E1w6uX_7backend4pool9open_conn", "backend::pool::open_conn");
}

Test(demangle, c_names)
{
    is("main", NULL);
    is("__libc_start_main", NULL);
    is("_start", NULL);
    is("_Zbogus", NULL);
    is("_RNvbogus", NULL);
    is("", NULL);
    is(NULL, NULL);
}
