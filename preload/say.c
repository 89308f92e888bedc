/* say.c: the library's words to the user, written without stdio (also from signal handlers). */
#include "say.h"
#include "jsonw.h"
#include "sys.h"
#include <string.h>

void rsw_say(const char *a, const char *b, const char *c)
{
    char line[1024];
    const char *parts[] = {a, b, c};
    size_t n = 0;
    for (size_t i = 0; i < 3; i++) {
        size_t l = parts[i] ? strlen(parts[i]) : 0;
        if (l > sizeof line - 1 - n)
            l = sizeof line - 1 - n;
        memcpy(line + n, parts[i] ? parts[i] : "", l);
        n += l;
    }
    line[n++] = '\n';
    rsw_sys_write(2, line, n);
}

const char *rsw_errno_name(int err, char *buf)
{
    const char *n = strerrorname_np(err);
    if (n)
        return n;
    buf[0] = 'E';
    buf[1 + rsw_fmt_u64(buf + 1, (unsigned)err)] = 0;
    return buf;
}
