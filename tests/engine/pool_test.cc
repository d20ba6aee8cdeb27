// WorkPool: every task runs once, on a pool thread or a waiting one; `first` jumps the queue;
// groups nest without deadlock even when every pool thread is waiting for its own group.
#include "peel/pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <vector>

namespace peel {
namespace {

TEST(WorkPool, RunsEveryTaskOnceOnItsThreads) {
  WorkPool pool(3);
  EXPECT_EQ(pool.threads(), 3);
  std::vector<std::atomic<int>> runs(200);
  std::atomic<bool> bad_worker{false};
  WorkPool::Group group;
  for (auto& r : runs) {
    pool.add(group, [&r, &bad_worker](int worker) {
      if (worker < 0 || worker >= 3) bad_worker = true;
      ++r;
    });
  }
  pool.wait(group, /*help=*/false);
  for (const auto& r : runs) EXPECT_EQ(r.load(), 1);
  EXPECT_FALSE(bad_worker);
}

TEST(WorkPool, FirstJumpsTheQueue) {
  WorkPool pool(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::mutex m;
  std::vector<char> order;
  WorkPool::Group group;
  pool.add(group, [released](int) { released.wait(); });  // holds the only thread
  auto record = [&](char c) {
    return [&, c](int) {
      std::lock_guard lock(m);
      order.push_back(c);
    };
  };
  pool.add(group, record('a'));
  pool.add(group, record('b'));
  pool.add(group, record('C'), /*first=*/true);
  release.set_value();
  pool.wait(group, /*help=*/false);
  EXPECT_EQ(order, (std::vector<char>{'C', 'a', 'b'}));
}

// Every pool thread runs a task that forks a group and waits for it: the waiting threads run
// their own groups' tasks, so all finish.
TEST(WorkPool, NestedGroupsNeverDeadlock) {
  WorkPool pool(2);
  std::atomic<int> leaves{0};
  WorkPool::Group outer;
  for (int i = 0; i < 6; ++i) {
    pool.add(outer, [&](int) {
      WorkPool::Group inner;
      for (int k = 0; k < 5; ++k) {
        pool.add(inner, [&](int) { ++leaves; }, /*first=*/true);
      }
      pool.wait(inner);
    });
  }
  pool.wait(outer, /*help=*/false);
  EXPECT_EQ(leaves.load(), 30);
}

// The pool's only thread forks and waits: nobody else can run the group, so it does.
TEST(WorkPool, TheOnlyThreadRunsTheGroupItWaitsFor) {
  WorkPool pool(1);
  std::atomic<int> helped{0};
  WorkPool::Group outer;
  pool.add(outer, [&](int worker) {
    EXPECT_EQ(worker, 0);
    WorkPool::Group inner;
    for (int k = 0; k < 5; ++k) {
      pool.add(inner, [&](int w) { helped += w == -1 ? 1 : 0; }, /*first=*/true);
    }
    pool.wait(inner);
  });
  pool.wait(outer, /*help=*/false);
  EXPECT_EQ(helped.load(), 5);
}

TEST(WorkPool, AWaitingThreadRunsItsGroupWithoutPoolThreads) {
  WorkPool pool(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  WorkPool::Group busy;
  pool.add(busy, [released](int) { released.wait(); });  // the pool's thread is busy
  WorkPool::Group mine;
  int ran = 0;
  for (int k = 0; k < 3; ++k) pool.add(mine, [&ran](int worker) { ran += worker == -1 ? 1 : 100; });
  pool.wait(mine);  // returns although the pool's thread never gets to these
  EXPECT_EQ(ran, 3);
  release.set_value();
  pool.wait(busy, /*help=*/false);
}

TEST(WorkPool, TheEndRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  {
    WorkPool pool(2);
    WorkPool::Group group;
    for (int k = 0; k < 50; ++k) pool.add(group, [&ran](int) { ++ran; });
    pool.wait(group, /*help=*/false);
  }
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace peel
