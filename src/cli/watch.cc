// `peel watch DIR -d OUT`: extract every video that appears in a folder, until Ctrl-C.
#include "peel/watch.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/advice.h"
#include "cli/commands.h"
#include "cli/extract.h"
#include "peel/json.h"
#include "peel/time.h"

namespace peel::cli {

namespace {

void print_outcome(const FileOutcome& o, const ExtractOptions& f) {
  if (f.json) {
    std::cout << file_json(o, false, say).dump() << "\n" << std::flush;
    return;
  }
  if (o.error) std::cerr << "peel: " << o.error->message << "\n";
  if (o.skip_reason == SkipReason::kNotVideo && !f.quiet) {
    std::cerr << "peel: skipped " << o.input << ": not a video\n";
  }
  if (o.skip_reason == SkipReason::kExists && f.verbose) {
    std::cerr << "peel: skipped " << o.input << ": its output exists\n";
  }
  for (const auto& r : o.outputs) {
    if (!f.quiet) std::cout << describe_result(r) << "\n" << std::flush;
    for (const auto& w : r.warnings) std::cerr << "peel: warning: " << w << "\n";
  }
}

}  // namespace

int watch_command(Engine& engine, std::vector<std::string> args, const CancelToken& cancel) {
  ExtractOptions f;
  std::string dir;
  double settle = 1.0;
  bool once = false;
  CLI::App app{
      "peel watch: extract the audio of every video that appears in DIR or its "
      "subfolders into OUT (mirroring the subfolders), until Ctrl-C.\n"
      "Takes the options of peel; inputs whose outputs exist are skipped.",
      "peel watch"};
  app.add_option("DIR", dir, "the folder to watch")->type_name("")->required();
  add_extract_options(app, f);
  // One folder in, one folder out: a single output file or a plan makes no sense here. The
  // options stay known, so that using them gets a sentence saying what to do instead.
  app.get_option("--output")->description("not taken: outputs go below -d OUT");
  app.get_option("--dry-run")
      ->description("not taken: see the plans with peel -R DIR -d OUT --dry-run");
  app.add_option("--settle", settle,
                 "seconds a new file must stay unchanged, and closed, before it is taken "
                 "(default 1)")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.0, 86400.0).description(""));
  app.add_flag("--once", once, "extract the videos already there, then exit");
  if (auto rc = parse_extract_options(app, std::move(args), f)) return *rc;

  const Request& req = f.request;
  if (!req.output.empty()) {
    usage_error(fmt::format("peel watch writes every output below a folder, so -o {} cannot be "
                            "one; use -d OUT (it is created if missing)",
                            req.output),
                f.json);
    return kExitUsage;
  }
  if (f.dry_run) {
    usage_error(fmt::format("peel watch has no --dry-run; to see what it would do with the videos "
                            "there now, run peel -R {} -d OUT --dry-run",
                            dir),
                f.json);
    return kExitUsage;
  }
  if (req.out_dir.empty()) {
    usage_error("peel watch needs an output folder: add -d OUT", f.json);
    return kExitUsage;
  }

  WatchOptions options;
  options.jobs = f.jobs;
  options.settle = std::chrono::milliseconds(std::llround(settle * 1000));
  options.once = once;
  options.segment_parallel = segment_parallel_mode(f);
  options.cancel = cancel;
  options.on_temp_file = track_temp_file;
  options.on_event = [&](const BatchEvent& e) {
    if (e.kind == BatchEvent::Kind::kFinished) print_outcome(*e.outcome, f);
  };
  options.on_error = [&](const std::string& path, const Error& e) {
    if (f.json)
      std::cout << failed_file_json(path, e, say).dump() << "\n" << std::flush;
    else
      std::cerr << "peel: " << say(e) << "\n";
  };
  // Said once the folder is being watched: a folder that cannot be is refused first.
  options.on_watching = [&] {
    std::error_code ec;
    const bool created = std::filesystem::create_directories(req.out_dir, ec);
    if (f.json || f.quiet) return;
    if (created) std::cerr << "peel: created the folder " << req.out_dir << "\n";
    if (!once) {
      std::cerr << fmt::format(
          "peel: watching {} for videos, extracting into {} (Ctrl-C to stop)\n", dir, req.out_dir);
    }
  };

  auto summary = watch(engine, dir, req, options);
  if (!summary) {
    const Error& e = summary.error();
    if (e.code == ErrorCode::kUsage) {
      usage_error(say(e), f.json);
    } else {
      options.on_error(dir, e);
    }
    return exit_code_for(e.code);
  }

  if (f.json) {
    nlohmann::json failures = nlohmann::json::array();
    for (const auto& o : summary->failures) {
      if (o.error) failures.push_back(error_json(o.input, *o.error, say));
    }
    std::cout << summary_json(*summary, failures).dump()
              << "\n";
  } else if (!f.quiet || summary->failed > 0) {
    std::cerr << summary_line(*summary) << "\n";
  }
  if (summary->cancelled) return kExitInterrupted;
  if (summary->failed > 0) return kExitFailed;
  return summary->damaged ? kExitDamaged : kExitOk;
}

}  // namespace peel::cli
