// The libh2o (2.2, evloop flavour) API, included the one way realproxy and realpod do it.
#pragma once

#ifndef H2O_USE_LIBUV
#define H2O_USE_LIBUV 0  // the Debian libh2o-evloop build: h2o's own epoll loop, not libuv
#endif

#include <h2o.h>
#include <h2o/http1.h>
#include <h2o/http2.h>
#include <h2o/multithread.h>
#include <h2o/socketpool.h>
