// run(): opens the source and the atomic output, runs copy or transcode, commits.
#include "peel/run.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include "engine/atomic_file.h"
#include "engine/names.h"
#include "engine/stages.h"

namespace peel {

namespace fs = std::filesystem;

double audio_seconds(const OutputResult& r) {
  if (r.samples > 0 && r.sample_rate > 0) {
    return static_cast<double>(r.samples) / r.sample_rate;
  }
  return to_seconds(r.end - r.start);
}

namespace {

// A template-named output stays inside its folder with links resolved too (plan() checked
// the words): a link below the folder may not lead the output out of it.
Result<void> check_inside(const OutputPlan& plan) {
  if (plan.folder.empty()) return {};
  std::error_code ec;
  const fs::path folder = fs::weakly_canonical(plan.folder, ec);
  fs::path parent = fs::path(plan.output).parent_path();
  if (parent.empty()) parent = ".";  // a bare name is in the working folder
  parent = fs::weakly_canonical(parent, ec);
  if (ec || !engine::stays_inside(folder.string(), (parent / "x").string())) {
    return Error(ErrorCode::kUsage,
                 fmt::format("{} would be written outside the output folder {} (a link inside "
                             "it leads to {}); name files inside the folder",
                             plan.output, plan.folder, parent.string()))
        .about("name_template");
  }
  return {};
}

}  // namespace

Result<std::string> check_output(const OutputPlan& plan, bool create_folders) {
  if (auto inside = check_inside(plan); !inside) return inside.error();
  return engine::check_target(plan.output, plan.input, plan.overwrite, create_folders);
}

Result<OutputResult> run(Engine& engine, const OutputPlan& plan, const RunOptions& options) {
  auto input = Input::open(engine, plan.input, options.cancel);
  if (!input) return input.error();
  return run(engine, plan, *input, options);
}

Result<OutputResult> run(Engine& engine, const OutputPlan& plan, Input& input,
                         const RunOptions& options) {
  std::vector<std::string> log;
  std::optional<av::LogCapture> capture(std::in_place, &log, engine.limits().max_log_lines);

  // AtomicFile::create() makes the checks check_output() makes, creating the temporary file
  // for real where check_output() only tries.
  if (auto inside = check_inside(plan); !inside) return inside.error();
  std::string new_folder;
  if (options.create_folders) {
    auto made = engine::make_target_folder(plan.output);
    if (!made) return made.error();
    new_folder = std::move(*made);
  }
  auto file =
      engine::AtomicFile::create(plan.output, plan.input, plan.overwrite, options.on_temp_file);
  if (!file) return file.error();

  // Normalization measures the whole track first (a pass of its own), then the run applies
  // the one gain curve that pass gives. After the output's checks: a refused output costs no
  // decoding.
  std::optional<engine::Normalization> normalization;
  if (plan.loudness && plan.mode == Mode::kTranscode) {
    auto n = engine::plan_normalization(input, plan.track.number, *plan.loudness, options.cancel);
    if (!n) return n.error();
    normalization.emplace(std::move(*n));
  }
  // Opened after the measurement, which reads the same Input: the run reads it from the start.
  auto source = engine::Source::open(input, plan.track.stream_index, options.cancel);
  if (!source) return source.error();

  OutputResult result;
  result.input = plan.input;
  result.output = plan.output;
  result.mode = plan.mode;
  result.format = plan.format;
  result.codec = plan.codec;
  result.track = plan.track.number;
  result.lang = plan.track.lang;
  result.new_folder = new_folder;

  engine::Job job{engine, plan, *source, options, file->temp_path(), result,
                  normalization ? &normalization->curve : nullptr};
  if (normalization) {
    const Loudness& m = normalization->measured;
    NormalizationResult n;
    n.target_lufs = plan.loudness->lufs;
    n.ceiling_dbtp = plan.loudness->true_peak;
    n.measured_lufs = m.integrated;
    n.measured_true_peak = m.true_peak;
    n.gain_db = 20 * std::log10(normalization->curve.gain());
    n.limited_seconds = normalization->curve.limited_seconds();
    result.normalization = n;
    if (!std::isfinite(m.integrated)) {
      result.warnings.push_back(fmt::format(
          "{}: the track is silent: there is no loudness to bring to {} LUFS, it was left as it is",
          plan.input, plan.loudness->lufs));
    }
  }
  auto done = plan.mode == Mode::kCopy ? engine::copy_stream(job) : engine::transcode_stream(job);
  if (!done) {
    Error e = done.error();
    if (e.code == ErrorCode::kCancelled) {
      e.message = fmt::format("cancelled while writing {}; nothing was left behind", plan.output);
    }
    return e;
  }

  // Reaching a range may mean reading through damage before it (Matroska is decoded from
  // its start): only what falls inside the range was lost from this output.
  const Micros range_from = std::min(plan.from, result.start);
  for (LostSpan s : source->lost()) {
    s.from = std::max(s.from, range_from);
    if (plan.to) s.to = std::min(s.to, *plan.to);
    if (s.to > s.from) result.lost.push_back(s);
  }
  if (!result.lost.empty()) {
    std::string spans;
    for (const auto& s : result.lost) {
      spans += (spans.empty() ? "" : ", ") +
               fmt::format("{}–{}", format_time(s.from), format_time(s.to));
    }
    if (plan.strict) {
      return Error{ErrorCode::kDamagedInput,
                   fmt::format("{} is damaged: audio is missing at {}; without the refusal "
                               "of damaged input, what can be read is kept",
                               plan.input, spans)}
          .about("strict", Hint::kNotStrict);
    }
    result.warnings.push_back(
        fmt::format("{} is damaged: audio lost at {} (the rest was kept)", plan.input, spans));
  }

  auto bytes = file->commit(options.sync);
  if (!bytes) return bytes.error();
  result.bytes = *bytes;
  capture.reset();  // counts the lines it did not keep
  result.log = std::move(log);
  return result;
}

}  // namespace peel
