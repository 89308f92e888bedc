/* t_early.c: a program linked with t_early_lib, whose constructor calls a hooked function first. */
#include "t_util.h"

void early_constructor_connect(void);

/* Referenced so the linker keeps the library even with --as-needed. */
void (*volatile keep_early_lib)(void) = early_constructor_connect;

int main(void)
{
    tu_out("main\n");
    return 0;
}
