// The JSON line of one file of a batch (or of `peel watch`).
#include <cmath>

#include "peel/json.h"

namespace peel {

namespace {

const char* status_name(FileOutcome::Status s) {
  switch (s) {
    case FileOutcome::Status::kDone: return "done";
    case FileOutcome::Status::kSkipped: return "skipped";
    case FileOutcome::Status::kFailed: return "failed";
    case FileOutcome::Status::kCancelled: return "cancelled";
  }
  return "failed";
}

}  // namespace

nlohmann::json file_json(const FileOutcome& o, bool plans, const Wording& words) {
  nlohmann::json outputs = nlohmann::json::array();
  if (plans) {
    for (size_t i = 0; i < o.plans.size(); ++i) {
      outputs.push_back(to_json(o.plans[i], i < o.new_folders.size() ? o.new_folders[i] : ""));
    }
  } else {
    for (const auto& r : o.outputs) outputs.push_back(to_json(r));
  }
  nlohmann::json errors = nlohmann::json::array();
  if (o.error) errors.push_back(error_json(o.input, *o.error, words));
  nlohmann::json j = {{"input", o.input},
                      {"status", status_name(o.status)},
                      {"outputs", outputs},
                      {"errors", errors}};
  if (o.skip_reason) {
    j["reason"] = *o.skip_reason == SkipReason::kExists ? "output exists" : "not a video";
  }
  return j;
}

nlohmann::json failed_file_json(const std::string& path, const Error& e, const Wording& words) {
  return {{"input", path},
          {"status", "failed"},
          {"outputs", nlohmann::json::array()},
          {"errors", {error_json(path, e, words)}}};
}

nlohmann::json summary_json(const BatchTotals& t, const nlohmann::json& failures) {
  // A sum of many durations carries floating-point noise in its last digits: seconds are given
  // to the microsecond (as on the timeline), the speed to a tenth. Divided by n rather than
  // multiplied by 1/n, so that each is the double nearest its decimal.
  auto rounded = [](double v, double n) { return std::round(v * n) / n; };
  const double speed = t.wall_seconds > 0 ? t.audio_seconds / t.wall_seconds : 0;
  return {{"summary",
           {{"done", t.done},
            {"skipped", t.skipped},
            {"failed", t.failed},
            {"interrupted", t.cancelled},
            {"stopped", t.stopped},
            {"not_started", t.not_started},
            {"failures", failures},
            {"audio_seconds", rounded(t.audio_seconds, 1e6)},
            {"wall_seconds", rounded(t.wall_seconds, 1e3)},
            {"speed", rounded(speed, 10)}}}};
}

}  // namespace peel
