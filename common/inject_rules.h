/* inject_rules.h: RSTWATCH_INJECT rules as parsed, and the pure decisions taken on them (no
 * system calls): shared by the injector (inject.c), its unit tests and the parser's fuzzer. */
#ifndef RSW_INJECT_RULES_H
#define RSW_INJECT_RULES_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RSW_INJ_MAX_RULES 16
#define RSW_INJ_SPEC_MAX 4096         /* longest spec + 1 */
#define RSW_INJ_DELAY_MAX_S 86400     /* longest delay= */
#define RSW_INJ_PROB_ONE (1ull << 53) /* prob=1 */

enum rsw_inj_outcome {
    RSW_INJ_REFUSE = 1,
    RSW_INJ_RESET,
    RSW_INJ_EPIPE,
    RSW_INJ_TIMEOUT,
    RSW_INJ_UNREACHABLE,
};

/* The calls a rule may fail (on=), as bits. */
enum rsw_inj_call {
    RSW_INJ_CONNECT = 1 << 0,
    RSW_INJ_ACCEPT = 1 << 1,
    RSW_INJ_READ = 1 << 2,
    RSW_INJ_WRITE = 1 << 3,
};

/* The keys a rule gave, as bits (to tell "absent" from a value). */
enum rsw_inj_key {
    RSW_INJ_K_ON,
    RSW_INJ_K_PEER,
    RSW_INJ_K_PORT,
    RSW_INJ_K_AFTER,
    RSW_INJ_K_NTH,
    RSW_INJ_K_CONN,
    RSW_INJ_K_PROB,
    RSW_INJ_K_SEED,
    RSW_INJ_K_COUNT,
    RSW_INJ_K_DELAY,
    RSW_INJ_NKEYS
};
#define RSW_INJ_HAS(r, k) (((r)->keys >> (k)) & 1u)

/* peer=: an IP address (IPv4-mapped IPv6 is stored as IPv4) with an optional port, or a UNIX
 * path ("@name" for an abstract name). */
struct rsw_inj_addr {
    int family;     /* AF_INET, AF_INET6, AF_UNIX; 0 = any */
    uint16_t port;  /* 0 = any */
    uint8_t ip[16]; /* AF_INET: the first 4 bytes */
    char path[108]; /* AF_UNIX, NUL-terminated */
};

struct rsw_inj_rule {
    const char *text; /* the rule as written, NUL-terminated (inside rsw_inj_rules.text) */
    int outcome;      /* enum rsw_inj_outcome */
    unsigned on;      /* enum rsw_inj_call bits: the calls it may fail */
    unsigned keys;    /* 1 << enum rsw_inj_key for every key given */
    struct rsw_inj_addr peer;
    uint16_t port;      /* port=, 0 = any */
    uint64_t after;     /* bytes moved before it may fire */
    uint64_t nth, conn; /* 0 = any */
    uint64_t count;     /* most firings, 0 = no limit */
    uint64_t prob;      /* chance per matching call, scaled to RSW_INJ_PROB_ONE */
    uint64_t seed;
    uint64_t delay_ns;
    /* counters, updated atomically (several threads) */
    uint64_t calls; /* matching calls seen */
    uint64_t conns; /* matching connections seen */
    uint64_t fired;
};

struct rsw_inj_rules {
    int n;
    struct rsw_inj_rule rule[RSW_INJ_MAX_RULES];
    char text[RSW_INJ_SPEC_MAX]; /* the spec, each rule cut out with a NUL */
};

/* Parses len bytes of spec into *out (no allocation). 0 on success (an empty or blank spec
 * gives no rules), else -1 with one line "rstwatch: RSTWATCH_INJECT: ..." in err naming the bad
 * token and its position (1-based byte offset in spec). */
int rsw_inj_parse(const char *spec, size_t len, struct rsw_inj_rules *out, char *err,
                  size_t errlen);

/* What a rule's address selectors look at: one connection, numbered once when it opens. */
struct rsw_inj_conn {
    unsigned side;       /* RSW_INJ_CONNECT or RSW_INJ_ACCEPT; 0 = unknown (inherited) */
    int family;          /* AF_INET, AF_INET6 or AF_UNIX */
    uint8_t peer_ip[16]; /* IPv4 in the first 4 bytes (mapped addresses unmapped) */
    uint16_t peer_port, local_port;
    char peer_path[108], local_path[108]; /* AF_UNIX ("@name": abstract), "" = unnamed */
};

/* Fills c from the addresses of both ends (either may be NULL: unknown). */
void rsw_inj_conn_from(struct rsw_inj_conn *c, unsigned side, const struct sockaddr *peer,
                       socklen_t peerlen, const struct sockaddr *local, socklen_t locallen);
/* Numbers a newly opened connection for every rule whose peer=/port= (and on=, for its side)
 * match it, and returns the rules that apply to it: bit i = rule i+1 (conn=N honoured). */
uint32_t rsw_inj_conn_rules(struct rsw_inj_rules *rs, const struct rsw_inj_conn *c);
/* One call of kind `call` (an enum rsw_inj_call bit) on a connection to which the rules in
 * `mask` apply: counts it for every rule it matches, in order, until one fires. Returns that
 * rule's index, or -1. */
int rsw_inj_select(struct rsw_inj_rules *rs, uint32_t mask, unsigned call, uint64_t bytes_in,
                   uint64_t bytes_out);
/* The prob= draw for the k-th matching call (from 1): deterministic in (seed, k). */
int rsw_inj_chance(uint64_t seed, uint64_t k, uint64_t prob);

/* Names for the log: "reset", ...; the errno the program will see for a call kind. */
const char *rsw_inj_outcome_name(int outcome);
/* 0 if spec is a valid RSTWATCH_INJECT text, else -1 with a one-line "rstwatch: ..." message
 * naming the bad token and its position. Used by `rstwatch run --inject` too. Allocates
 * nothing, prints nothing; safe on any bytes (NULL: valid, no rules). */
int rsw_inject_validate(const char *spec, char *err, size_t errlen);
/* The same for len bytes that need not be NUL-terminated (for fuzzers: a NUL is a bad byte). */
int rsw_inject_validate_n(const char *spec, size_t len, char *err, size_t errlen);
#endif
