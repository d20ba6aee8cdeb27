// CancelToken: a shared flag that stops probing, opening and running promptly.
#pragma once

#include <atomic>
#include <memory>

namespace peel {

// Shared cancel flag. Copies share state; cancel() is async-signal-safe.
class CancelToken {
 public:
  CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void cancel() const { flag_->store(true, std::memory_order_relaxed); }
  bool cancelled() const { return flag_->load(std::memory_order_relaxed); }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

}  // namespace peel
