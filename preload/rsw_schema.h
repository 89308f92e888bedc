/* rsw_schema.h: the log format shared by the preload (writer) and the analyzer (reader). */
#ifndef RSW_SCHEMA_H
#define RSW_SCHEMA_H

/* Bump when a field changes meaning; readers skip lines with a newer "v". */
#define RSW_SCHEMA_VERSION 1
#define RSW_VERSION_STRING "0.1.0"

/* Event kinds ("ev"). README.md, section "Log format", documents every field. */
#define RSW_EV_START "start"         /* one per process image (exec) or forked child */
#define RSW_EV_CONNECT "connect"     /* connect() returned (ok, EINPROGRESS or failure) */
#define RSW_EV_CONNECTED "connected" /* a pending non-blocking connect completed */
#define RSW_EV_ACCEPT "accept"       /* accept()/accept4() returned a new connection */
#define RSW_EV_ADOPT "adopt"         /* a socket/pipe first seen in use (inherited, socketpair, pipe) */
#define RSW_EV_EOF "eof"             /* first read that returned 0: the peer sent FIN */
#define RSW_EV_SHUTDOWN "shutdown"   /* shutdown() on a watched fd */
#define RSW_EV_CLOSE "close"         /* close() of a watched fd, with byte totals */
#define RSW_EV_ERROR "error"         /* a call failed with a connection-killing errno */
#define RSW_EV_SIGNAL "signal"       /* SIGPIPE delivered to the process */
#define RSW_EV_INJECT "inject"       /* a fault was injected (RSTWATCH_INJECT) */
#define RSW_EV_IO "io"               /* a successful read/write (RSTWATCH_EVENTS=all only) */

#endif
