// Terminal progress bar on stderr.
#include "cli/progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

namespace peel::cli {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(const Progress& p) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double fraction = p.total > 0 ? std::clamp(p.done / p.total, 0.0, 1.0) : 0.0;
  const double speed = elapsed > 0 ? p.done / elapsed : 0;
  const double eta = speed > 0 ? (p.total - p.done) / speed : 0;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(fraction * kWidth);
  const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '-');
  std::fputs(fmt::format("\r{} [{}] {:3.0f}%  {:.0f}x  ETA {:.0f}s ", label_, bar, fraction * 100,
                         speed, std::max(0.0, eta))
                 .c_str(),
             stderr);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::clear() {
  if (!drawn_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace peel::cli
