// WorkPool: a fixed set of threads taking tasks from one queue, shared by everything that
// runs at once: a batch's files and the segments of its long files (segment-parallel mode),
// so every core stays busy whatever the mix.
//
// A task may add tasks of its own (a group) and wait for them. While it waits it runs its
// group's tasks that no thread has taken yet, so waiting never deadlocks (even when every
// thread of the pool waits for a group) and a group's work never sits behind other work.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace peel {

class WorkPool {
 public:
  // `worker`: the index of the pool thread that runs the task, in [0, threads()); -1 when the
  // task runs on a thread that is waiting for the task's group.
  using Task = std::function<void(int worker)>;

  // Tasks to wait for together. Must outlive its tasks (wait() for it before it goes).
  class Group {
   public:
    Group() = default;
    Group(const Group&) = delete;
    Group& operator=(const Group&) = delete;

   private:
    friend class WorkPool;
    int pending_ = 0;  // added and not yet finished
  };

  // Starts `threads` threads (an Engine's pool: peel/engine.h). With 0 threads, wait() runs
  // everything on the waiting thread.
  explicit WorkPool(int threads);
  // Runs every task still queued, then stops the threads.
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  int threads() const { return static_cast<int>(threads_.size()); }

  // Queues `task` in `group`: at the back, or before everything queued when `first`.
  void add(Group& group, Task task, bool first = false);

  // Returns once every task of `group` has finished, running its queued ones meanwhile
  // (unless not to `help`: a thread that is not one of the pool's, waiting for all its work).
  void wait(Group& group, bool help = true);

 private:
  struct Item {
    Group* group;
    Task task;
  };
  void work(int worker);
  void finish(Group& group);

  std::mutex mutex_;
  std::condition_variable queued_;    // a task was added, or the pool is stopping
  std::condition_variable finished_;  // a task finished
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace peel
