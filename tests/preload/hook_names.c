/* hook_names.c: prints the name of every hook in preload/hooks.def, one a line (for
 * check_layers.py: the exported symbols and the core's calls are checked against it). */
#include "real.h"
#include <stdio.h>

int main(void)
{
#define RSW_IO(R, name, P, A, fd, dir, flags, len) puts(#name);
#define RSW_HOOK(R, name, P) puts(#name);
#include "hooks.def"
    return 0;
}
