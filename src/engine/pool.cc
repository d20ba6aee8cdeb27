// WorkPool: one mutex-guarded queue; tasks run outside the lock.
#include "peel/pool.h"

#include <algorithm>

namespace peel {

WorkPool::WorkPool(int threads) {
  const int n = std::max(threads, 0);
  threads_.reserve(static_cast<size_t>(std::max(n, 0)));
  for (int i = 0; i < n; ++i) threads_.emplace_back([this, i] { work(i); });
}

WorkPool::~WorkPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  for (auto& t : threads_) t.join();
  // No threads (or none left): run what is still queued here.
  while (!queue_.empty()) {
    Item item = std::move(queue_.front());
    queue_.pop_front();
    item.task(-1);
    finish(*item.group);
  }
}

void WorkPool::add(Group& group, Task task, bool first) {
  {
    std::lock_guard lock(mutex_);
    ++group.pending_;
    if (first) {
      queue_.push_front(Item{&group, std::move(task)});
    } else {
      queue_.push_back(Item{&group, std::move(task)});
    }
  }
  queued_.notify_one();
}

void WorkPool::finish(Group& group) {
  {
    std::lock_guard lock(mutex_);
    --group.pending_;
  }
  finished_.notify_all();
}

void WorkPool::work(int worker) {
  std::unique_lock lock(mutex_);
  while (true) {
    queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to run
    Item item = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    item.task(worker);
    finish(*item.group);
    lock.lock();
  }
}

void WorkPool::wait(Group& group, bool help) {
  std::unique_lock lock(mutex_);
  while (group.pending_ > 0) {
    auto mine = std::find_if(queue_.begin(), queue_.end(), [&](const Item& i) {
      return help || threads_.empty() ? i.group == &group : false;
    });
    if (mine == queue_.end()) {
      finished_.wait(lock);
      continue;
    }
    Task task = std::move(mine->task);
    queue_.erase(mine);
    lock.unlock();
    task(-1);
    finish(group);
    lock.lock();
  }
}

}  // namespace peel
