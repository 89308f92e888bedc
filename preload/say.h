/* say.h: the library's words to the user: one "rstwatch:" line on stderr, and errno names. */
#ifndef RSW_SAY_H
#define RSW_SAY_H

/* One line on stderr from up to three parts (NULL: none), with a single write(2) so it never
 * interleaves with the program's own output. Async-signal-safe; cut at 1 KiB. */
void rsw_say(const char *a, const char *b, const char *c);
/* Symbolic name, e.g. "ECONNRESET"; "E<number>" when unknown (buffer of 16). Async-signal-safe. */
const char *rsw_errno_name(int err, char *buf);
#endif
