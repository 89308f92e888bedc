/* test_jsonw.c: the log-line builder: valid JSON always, exact escaping, safe truncation. */
#include "jsonw.h"
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

static json_t *parse(const char *buf, size_t len)
{
    json_error_t err;
    cr_assert(len > 0 && buf[len - 1] == '\n', "a line ends with a newline");
    json_t *v = json_loadb(buf, len - 1, 0, &err);
    cr_assert_not_null(v, "not JSON: %.*s (%s)", (int)len, buf, err.text);
    return v;
}

Test(jsonw, scalars_and_containers)
{
    char buf[512];
    struct rsw_json j;
    rsw_json_begin(&j, buf, sizeof buf);
    rsw_json_u64(&j, "u", 9223372036854775807ull);
    rsw_json_i64(&j, "i", -42);
    rsw_json_hex(&j, "h", 0xdeadbeef);
    rsw_json_bool(&j, "t", 1);
    rsw_json_null(&j, "n");
    rsw_json_open_arr(&j, "a");
    rsw_json_str(&j, NULL, "x");
    rsw_json_open_obj(&j, NULL);
    rsw_json_i64(&j, "k", 0);
    rsw_json_close(&j);
    rsw_json_close(&j);
    size_t len = rsw_json_end(&j);
    cr_assert_str_eq(
        (buf[len] = 0, buf),
        "{\"u\":9223372036854775807,\"i\":-42,\"h\":\"0xdeadbeef\",\"t\":true,\"n\":null,"
        "\"a\":[\"x\",{\"k\":0}]}\n");
    json_decref(parse(buf, len));
}

Test(jsonw, escapes_odd_bytes)
{
    char buf[512];
    struct rsw_json j;
    /* quote, backslash, newline, tab, DEL, control byte, valid UTF-8 (é, 😀), invalid bytes */
    const char odd[] = "a\"b\\c\nd\te\x7f\x01 \xc3\xa9 \xf0\x9f\x98\x80 \xff\xc3(\xed\xa0\x80";
    rsw_json_begin(&j, buf, sizeof buf);
    rsw_json_strn(&j, "s", odd, sizeof odd - 1);
    size_t len = rsw_json_end(&j);
    buf[len] = 0;
    cr_assert_str_eq(buf, "{\"s\":\"a\\\"b\\\\c\\nd\\te\\u007f\\u0001 \xc3\xa9 \xf0\x9f\x98\x80 "
                          "\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\"}\n");
    json_t *v = parse(buf, len);
    cr_assert_str_eq(json_string_value(json_object_get(v, "s")),
                     "a\"b\\c\nd\te\x7f\x01 \xc3\xa9 \xf0\x9f\x98\x80 \xef\xbf\xbd\xef\xbf\xbd("
                     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(v);
}

Test(jsonw, embedded_nul_is_kept)
{
    char buf[128];
    struct rsw_json j;
    rsw_json_begin(&j, buf, sizeof buf);
    rsw_json_strn(&j, "p", "a\0b", 3);
    size_t len = rsw_json_end(&j);
    buf[len] = 0;
    cr_assert_str_eq(buf, "{\"p\":\"a\\u0000b\"}\n");
}

/* Whatever the buffer size, the line is valid JSON: strings are cut, members dropped whole. */
Test(jsonw, every_buffer_size_gives_valid_json)
{
    for (size_t cap = 16; cap < 400; cap++) {
        char buf[400];
        struct rsw_json j;
        rsw_json_begin(&j, buf, cap);
        rsw_json_str(&j, "ev", "error");
        rsw_json_u64(&j, "ts", 1795316974457243163ull);
        rsw_json_open_arr(&j, "argv");
        for (int i = 0; i < 10; i++)
            rsw_json_str(&j, NULL, "/a/long/path with \"quotes\" and \xc3\xa9");
        rsw_json_close(&j);
        rsw_json_open_obj(&j, "tcp");
        rsw_json_str(&j, "state", "CLOSE");
        rsw_json_close(&j);
        size_t len = rsw_json_end(&j);
        cr_assert_leq(len, cap, "cap %zu: wrote %zu", cap, len);
        json_decref(parse(buf, len));
    }
}

Test(jsonw, rollback_drops_a_partial_element)
{
    char buf[256];
    struct rsw_json j;
    rsw_json_begin(&j, buf, sizeof buf);
    rsw_json_open_arr(&j, "bt");
    rsw_json_str(&j, NULL, "kept");
    struct rsw_json_mark m = rsw_json_mark(&j);
    rsw_json_open_obj(&j, NULL);
    rsw_json_str(&j, "dropped", "x");
    rsw_json_close(&j);
    rsw_json_rollback(&j, m);
    rsw_json_close(&j);
    size_t len = rsw_json_end(&j);
    buf[len] = 0;
    cr_assert_str_eq(buf, "{\"bt\":[\"kept\"]}\n");
}

Test(jsonw, number_formatting)
{
    char out[32];
    cr_assert_eq(rsw_fmt_u64(out, 0), 1);
    cr_assert_eq(out[0], '0');
    out[rsw_fmt_hex(out, 0x7f00ab)] = 0;
    cr_assert_str_eq(out, "0x7f00ab");
    out[rsw_fmt_u64(out, 18446744073709551615ull)] = 0;
    cr_assert_str_eq(out, "18446744073709551615");
}
