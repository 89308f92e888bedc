/* jsonw.c: the async-signal-safe JSON object builder behind every log line. */
#include "jsonw.h"
#include <string.h>

size_t rsw_fmt_u64(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

size_t rsw_fmt_hex(char *out, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = digits[v & 15];
        v >>= 4;
    } while (v);
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < n; i++)
        out[2 + i] = tmp[n - 1 - i];
    return n + 2;
}

static int put(struct rsw_json *j, const char *s, size_t n)
{
    if (j->full || j->len + n > j->cap) {
        j->full = 1;
        return -1;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    return 0;
}

static int putc1(struct rsw_json *j, char c)
{
    return put(j, &c, 1);
}

static int key(struct rsw_json *j, const char *k);

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    unsigned cp = c & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Writes "..." escaped; cuts the string (still quoted) when the buffer is full.
 * -1 when not even the two quotes fit. */
static int put_string(struct rsw_json *j, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (j->full || j->len + 2 > j->cap) {
        j->full = 1;
        return -1;
    }
    j->buf[j->len++] = '"';
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        char esc[8];
        size_t run = i; /* a run of printable ASCII needing no escape: copied at once */
        while (run < n && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            size_t take = run - i;
            if (j->len + take + 1 > j->cap) { /* keep one byte for the closing quote */
                take = j->cap - j->len - 1;
                j->full = 1;
            }
            memcpy(j->buf + j->len, p + i, take);
            j->len += take;
            i += take;
            if (j->full)
                break;
            continue;
        }
        size_t elen = 0, adv = 1;
        const char *src = esc;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c, elen = 2;
        } else if (c == '\n') {
            esc[0] = '\\', esc[1] = 'n', elen = 2;
        } else if (c == '\t') {
            esc[0] = '\\', esc[1] = 't', elen = 2;
        } else if (c == '\r') {
            esc[0] = '\\', esc[1] = 'r', elen = 2;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4], esc[5] = hex[c & 15], elen = 6;
        } else if (c < 0x80) {
            esc[0] = (char)c, elen = 1;
        } else {
            size_t l = utf8_seq(p + i, n - i);
            if (l) {
                src = (const char *)p + i, elen = l, adv = l;
            } else {
                memcpy(esc, "\\ufffd", 6), elen = 6; /* not UTF-8: replacement char */
            }
        }
        /* keep one byte for the closing quote */
        if (j->len + elen + 1 > j->cap) {
            j->full = 1;
            break;
        }
        memcpy(j->buf + j->len, src, elen);
        j->len += elen;
        i += adv;
    }
    j->buf[j->len++] = '"'; /* room kept by the checks above */
    return 0;
}

/* A member is written whole or not at all (strings may be cut, but stay valid). */
#define MEMBER(j, k, value_ok)                                                                     \
    do {                                                                                           \
        struct rsw_json_mark m_ = rsw_json_mark(j);                                                \
        if (key(j, k) < 0 || !(value_ok)) {                                                        \
            rsw_json_rollback(j, m_);                                                              \
            j->full = 1;                                                                           \
        }                                                                                          \
    } while (0)

static int key(struct rsw_json *j, const char *k)
{
    if (j->full)
        return -1;
    size_t kl = k ? strlen(k) : 0;
    size_t need = (j->first[j->depth] ? 0 : 1) + (k ? kl + 3 : 0) + 1;
    if (j->len + need > j->cap) {
        j->full = 1;
        return -1;
    }
    if (!j->first[j->depth])
        j->buf[j->len++] = ',';
    j->first[j->depth] = 0;
    if (k) {
        j->buf[j->len++] = '"';
        memcpy(j->buf + j->len, k, kl);
        j->len += kl;
        j->buf[j->len++] = '"';
        j->buf[j->len++] = ':';
    }
    return 0;
}

void rsw_json_begin(struct rsw_json *j, char *buf, size_t bufsize)
{
    memset(j, 0, sizeof(*j));
    j->buf = buf;
    j->cap = bufsize > RSW_JSON_RESERVE ? bufsize - RSW_JSON_RESERVE : 0;
    j->depth = 0;
    j->first[0] = 1;
    j->closers[0] = '}';
    if (j->cap > 0)
        buf[j->len++] = '{';
    else
        j->full = 1;
}

void rsw_json_strn(struct rsw_json *j, const char *k, const char *s, size_t n)
{
    MEMBER(j, k, put_string(j, s, n) == 0);
}

void rsw_json_str(struct rsw_json *j, const char *k, const char *s)
{
    if (!s)
        rsw_json_null(j, k);
    else
        rsw_json_strn(j, k, s, strlen(s));
}

void rsw_json_u64(struct rsw_json *j, const char *k, uint64_t v)
{
    char tmp[24];
    size_t n = rsw_fmt_u64(tmp, v);
    MEMBER(j, k, put(j, tmp, n) == 0);
}

void rsw_json_i64(struct rsw_json *j, const char *k, int64_t v)
{
    char tmp[24];
    size_t n;
    if (v < 0) {
        tmp[0] = '-';
        n = 1 + rsw_fmt_u64(tmp + 1, (uint64_t)0 - (uint64_t)v);
    } else {
        n = rsw_fmt_u64(tmp, (uint64_t)v);
    }
    MEMBER(j, k, put(j, tmp, n) == 0);
}

void rsw_json_hex(struct rsw_json *j, const char *k, uint64_t v)
{
    char tmp[24];
    size_t n = rsw_fmt_hex(tmp + 1, v);
    tmp[0] = '"';
    tmp[n + 1] = '"';
    MEMBER(j, k, put(j, tmp, n + 2) == 0);
}

void rsw_json_bool(struct rsw_json *j, const char *k, int v)
{
    MEMBER(j, k, put(j, v ? "true" : "false", v ? 4 : 5) == 0);
}

void rsw_json_null(struct rsw_json *j, const char *k)
{
    MEMBER(j, k, put(j, "null", 4) == 0);
}

static void open_container(struct rsw_json *j, const char *k, char open, char close)
{
    int ok = 0;
    if (j->depth + 1 < RSW_JSON_MAX_DEPTH)
        MEMBER(j, k, (ok = putc1(j, open) == 0));
    if (!ok) { /* the matching close() must not close the parent */
        j->full = 1;
        j->dead_opens++;
        return;
    }
    j->depth++;
    j->first[j->depth] = 1;
    j->closers[j->depth] = close;
}

void rsw_json_open_obj(struct rsw_json *j, const char *k)
{
    open_container(j, k, '{', '}');
}

void rsw_json_open_arr(struct rsw_json *j, const char *k)
{
    open_container(j, k, '[', ']');
}

void rsw_json_close(struct rsw_json *j)
{
    if (j->dead_opens > 0) {
        j->dead_opens--;
        return;
    }
    if (j->depth == 0)
        return;
    /* closers always fit: RESERVE keeps one byte per open level */
    j->buf[j->len++] = j->closers[j->depth];
    j->depth--;
}

struct rsw_json_mark rsw_json_mark(const struct rsw_json *j)
{
    struct rsw_json_mark m = {j->len, j->depth, j->first[j->depth]};
    return m;
}

void rsw_json_rollback(struct rsw_json *j, struct rsw_json_mark m)
{
    j->len = m.len;
    j->depth = m.depth;
    j->first[m.depth] = m.first;
    j->full = 0;
}

size_t rsw_json_end(struct rsw_json *j)
{
    if (j->cap == 0 && j->len == 0)
        return 0;
    while (j->depth > 0)
        rsw_json_close(j);
    j->buf[j->len++] = '}';
    j->buf[j->len++] = '\n';
    return j->len;
}
