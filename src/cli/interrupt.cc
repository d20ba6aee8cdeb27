// Ctrl-C: the first cancels (runs stop promptly and remove their partial outputs); a second
// exits at once, removing the temporary outputs still open.
//
// The handler may only call async-signal-safe functions, so the open temporary files live in a
// fixed table of slots holding heap copies of their paths, claimed and released atomically.
#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstring>
#include <string>

#include "cli/commands.h"
#include "cli/extract.h"

namespace peel::cli {

namespace {

constexpr size_t kSlots = 256;  // more than any -j runs at once
std::array<std::atomic<char*>, kSlots> g_temp_files{};
const CancelToken* g_cancel = nullptr;

void on_interrupt(int) {
  if (g_cancel->cancelled()) {
    for (auto& slot : g_temp_files) {
      if (char* path = slot.load()) ::unlink(path);
    }
    ::_exit(kExitInterrupted);
  }
  g_cancel->cancel();
}

}  // namespace

void track_temp_file(const std::string& path, bool exists) {
  if (exists) {
    char* copy = strdup(path.c_str());
    for (auto& slot : g_temp_files) {
      char* expected = nullptr;
      if (slot.compare_exchange_strong(expected, copy)) return;
    }
    free(copy);  // table full: that file is still removed by the first Ctrl-C's cancel
    return;
  }
  for (auto& slot : g_temp_files) {
    char* held = slot.load();
    if (held != nullptr && path == held && slot.compare_exchange_strong(held, nullptr)) {
      free(held);
      return;
    }
  }
}

void install_interrupt_handler(const CancelToken& cancel) {
  g_cancel = &cancel;
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace peel::cli
