// pool.cpp: a refused connect reached through backend::Pool::open_conn(int) (tests/analyzer/symbols.py).
#include "refuse.h"

namespace backend {
struct Pool {
    __attribute__((noinline)) int open_conn(int port);
};

int Pool::open_conn(int port)
{
    return REFUSE(port); // CONNECT
}
} // namespace backend

int main(int argc, char **argv)
{
    backend::Pool pool;
    int err = pool.open_conn(argc > 1 ? atoi(argv[1]) : 1); // CALL
    return REFUSE_REPORT("connect", err);
}
