// A one-line terminal progress bar: percent, speed as a multiple of real time, ETA.
#pragma once

#include <chrono>
#include <string>

#include "peel/run.h"

namespace peel::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  void update(const Progress& p);
  void clear();  // erase the line before printing anything else

 private:
  std::string label_;
  std::chrono::steady_clock::time_point start_;
  bool drawn_ = false;
};

}  // namespace peel::cli
