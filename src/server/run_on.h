// Running blocking work off the connections' threads: on a pool of its own, the coroutine
// resuming on its own executor (its connection's strand) when the work is done.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>

#include "server/http.h"

namespace peel::server {

// Runs `work` on `pool`, then resumes the caller on its executor. Work that throws is a bug
// in the caller: the exception is dropped, and the caller answers from what the work had set.
inline Awaitable<void> run_on(boost::asio::thread_pool& pool, std::function<void()>& work) {
  namespace asio = boost::asio;
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [&pool, &work](auto handler) {
        asio::post(pool, [handler = std::move(handler), &work]() mutable {
          try {
            work();
          } catch (...) {
          }
          auto executor = asio::get_associated_executor(handler);
          asio::dispatch(executor, std::move(handler));
        });
      },
      asio::use_awaitable);
}

}  // namespace peel::server
