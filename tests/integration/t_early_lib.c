/* t_early_lib.c: a shared library whose constructor makes a refused connect, possibly before the
 * preload's constructor ran. */
#define _GNU_SOURCE
#include "t_util.h"

__attribute__((constructor)) void early_constructor_connect(void)
{
    tu_connect_refused("constructor");
}
