// The two ways to produce an output, sharing one job description.
#pragma once

#include <string>

#include "engine/demux.h"
#include "engine/gain.h"
#include "peel/plan.h"
#include "peel/run.h"

namespace peel::engine {

struct Job {
  Engine& engine;  // its pool runs segments; its limits bound silence fill and output size
  const OutputPlan& plan;
  Source& source;
  const RunOptions& options;
  std::string temp_path;
  OutputResult& result;  // stages fill start, end, samples, sample_rate, channels
  const GainCurve* gain = nullptr;  // loudness normalization's, applied to decoded samples
};

// Stream copy: packets of the range, unchanged, into the target container.
Result<void> copy_stream(Job& job);

// Decode, trim to the exact samples, resample/mix, encode, mux.
Result<void> transcode_stream(Job& job);

// Reports progress every kProgressStep seconds of audio.
class ProgressReporter {
 public:
  ProgressReporter(const RunOptions& options, double total) : options_(options), total_(total) {}
  void update(double done) {
    if (!options_.on_progress || done < next_) return;
    next_ = done + 0.5;
    options_.on_progress(Progress{done, total_});
  }
  void set_total(double total) { total_ = total; }

 private:
  const RunOptions& options_;
  double total_;
  double next_ = 0;
};

}  // namespace peel::engine
