// `peel [OPTIONS] INPUT...`: extract audio.
#include "cli/advice.h"
#include "cli/extract.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "peel/json.h"
#include "cli/progress.h"
#include "peel/batch.h"
#include "peel/formats.h"
#include "peel/plan.h"
#include "peel/time.h"

namespace peel::cli {

int exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUsage: return kExitUsage;
    case ErrorCode::kCancelled: return kExitInterrupted;
    default: return kExitFailed;
  }
}

namespace {

Result<int64_t> parse_bitrate(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* suffix : {"bps", "bit/s", "b"}) {
    const std::string s(suffix);
    if (text.size() > s.size() && text.ends_with(s)) text.resize(text.size() - s.size());
  }
  double scale = 1;
  if (!text.empty() && text.back() == 'k') scale = 1e3, text.pop_back();
  else if (!text.empty() && text.back() == 'm') scale = 1e6, text.pop_back();
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || !(v > 0) || v * scale > 10e6) {
    return Error{ErrorCode::kUsage,
                 fmt::format("'{}' is not a bitrate; write it like 192k or 320000", text)};
  }
  const double bps = v * scale;
  return static_cast<int64_t>(std::llround(bps < 1000 ? bps * 1000 : bps));  // "192" means 192k
}

Result<int> parse_channels(const std::string& text) {
  if (text == "mono") return 1;
  if (text == "stereo") return 2;
  if (text == "5.1") return 6;
  if (text == "7.1") return 8;
  char* end = nullptr;
  const long n = std::strtol(text.c_str(), &end, 10);
  if (end != nullptr && *end == '\0' && n >= 1 && n <= 8) return static_cast<int>(n);
  return Error{ErrorCode::kUsage,
               fmt::format("'{}' is not a channel setting; use mono, stereo, 5.1, 7.1 or 1-8",
                           text)};
}

Result<int> parse_rate(std::string text) {
  double scale = 1;
  if (!text.empty() && (text.back() == 'k' || text.back() == 'K')) scale = 1000, text.pop_back();
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  const double hz = v * scale;
  if (text.empty() || *end != '\0' || hz < 1000 || hz > 384000) {
    return Error{ErrorCode::kUsage,
                 fmt::format("'{}' is not a sample rate; write it like 44100, 48000 or 48k", text)};
  }
  return static_cast<int>(std::lround(hz));
}

// -ss, -to and -t are ffmpeg's spellings; CLI11 wants long options for them.
void rewrite_ffmpeg_aliases(std::vector<std::string>& args) {
  for (auto& a : args) {
    if (a == "-ss") a = "--from";
    else if (a == "-to") a = "--to";
    else if (a == "-t") a = "--duration";
  }
}

}  // namespace

void usage_error(const std::string& message, bool json) {
  if (json) {
    std::cout << nlohmann::json{{"outputs", nlohmann::json::array()},
                                {"errors", {error_json("", Error(ErrorCode::kUsage, message))}}}
                     .dump(2)
              << "\n";
  }
  std::cerr << "peel: " << message << "\n";
}

SegmentParallel segment_parallel_mode(const ExtractOptions& options) {
  return options.segment_parallel == "on"    ? SegmentParallel::kOn
         : options.segment_parallel == "off" ? SegmentParallel::kOff
                                             : SegmentParallel::kAuto;
}

void add_extract_options(CLI::App& app, ExtractOptions& f) {
  Request& req = f.request;
  std::string format_names;
  for (const auto& v : formats()) {
    if (v.selectable) format_names += (format_names.empty() ? "" : ", ") + v.name;
  }
  // Each value is named for what it is (CLI11 would say TEXT, INT or FLOAT).
  app.add_option("-o,--output", req.output, "output file; its extension picks the format")
      ->type_name("FILE");
  app.add_option("-d,--out-dir", req.out_dir,
                 "folder for outputs, named {stem}.{ext}; created if missing")
      ->type_name("DIR");
  app.add_option("--name", req.name_template,
                 "output name template: {stem} {ext} {track} {lang} {title} {dir}")
      ->type_name("TEMPLATE");
  app.add_option("-f,--format", req.format, "auto (default), " + format_names)->type_name("FORMAT");
  app.add_flag("--copy", f.copy, "require stream copy; fail with the reason if impossible");
  app.add_flag("--reencode", f.reencode, "always transcode");
  app.add_option("--from", f.from, "start time (also -ss): 90, 1:30, 01:02:03.250, 2m, 1h2m3.5s")
      ->type_name("TIME");
  app.add_option("--to", f.to, "end time (also -to)")->type_name("TIME");
  app.add_option("--duration", f.duration, "length (also -t)")->type_name("TIME");
  app.add_option("--track", req.track.number, "N-th audio track, 1-based")->type_name("N");
  app.add_option("--lang", req.track.lang, "audio track by language (ISO 639: en, eng, ja, jpn...)")
      ->type_name("CODE");
  app.add_option("--title", req.track.title, "audio track whose title contains TEXT")
      ->type_name("TEXT");
  app.add_flag("--all-tracks", req.track.all, "one output per audio track");
  app.add_option("-b,--bitrate", f.bitrate,
                 "bitrate, like 192k (refused where the encoder cannot honour it)")
      ->type_name("RATE");
  app.add_option("--quality", req.quality, "VBR quality: LAME 0 (best) to 9.999; Vorbis -1 to 10")
      ->type_name("Q");
  app.add_option("--sample-rate", f.sample_rate, "output sample rate in Hz")->type_name("HZ");
  app.add_option("--channels", f.channels, "mono, stereo, 5.1 or a count")->type_name("C");
  app.add_option("--sample-format", req.sample_format, "s16, s24, s32 or f32 (wav, flac, pcm)")
      ->type_name("S");
  app.add_option("--loudness", f.loudness,
                 "normalize the loudness (EBU R128) to LUFS (-16) or a preset: podcast (-16), "
                 "broadcast (-23), music (-14); a transcode")
      ->type_name("TARGET");
  app.add_option("--true-peak", f.true_peak,
                 "with --loudness: the ceiling the peaks stay under, in dBTP (default -1)")
      ->type_name("DBTP");
  app.add_flag("--no-metadata", f.no_metadata, "do not carry tags or chapters");
  app.add_flag("-y,--overwrite", req.overwrite, "replace an existing output (never an input)");
  app.add_flag("--strict", req.strict, "refuse damaged input instead of keeping what decodes");
  app.add_flag("--sync", f.sync, "flush each output to the disk before renaming it into place");
  app.add_flag("--json", f.json, "print the result as JSON");
  app.add_flag("--dry-run", f.dry_run,
               "check and print the plan and the equivalent ffmpeg command; write nothing");
  app.add_flag("-q,--quiet", f.quiet, "print nothing but errors");
  app.add_flag("-v,--verbose", f.verbose, "also print FFmpeg's warnings and the plan");
  app.add_flag("-R,--recursive", f.recursive, "take the videos in folders and their subfolders");
  app.add_option("-j,--jobs", f.jobs,
                 "files (or segments) worked on at once, 1 to 1024; default: one per core")
      ->type_name("N")
      ->check(CLI::Range(1, 1024).description(""));
  app.add_option("--segment-parallel", f.segment_parallel,
                 "encode a long transcode in segments on -j threads: auto (60 s or more), "
                 "on or off")
      ->type_name("auto|on|off")
      ->check(CLI::IsMember({"auto", "on", "off"}).description(""));
  app.add_flag("--skip-existing", f.skip_existing,
               "skip inputs whose outputs exist (resume an interrupted batch)");
}

std::optional<int> parse_extract_options(CLI::App& app, std::vector<std::string> args,
                                         ExtractOptions& f) {
  rewrite_ffmpeg_aliases(args);
  Request& req = f.request;
  // Looked up before parsing: CLI11 consumes `args` as it goes, so after a parse error the
  // flag may be gone, and a --json caller would get no JSON.
  const bool wants_json = std::find(args.begin(), args.end(), "--json") != args.end();
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help();
    return kExitOk;
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << "\n";
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    usage_error(e.what() + std::string("; see ") + app.get_name() + " --help", wants_json);
    return kExitUsage;
  }

  auto fail_usage = [&](const Error& e) {
    usage_error(say(e), f.json);
    return kExitUsage;
  };
  if (f.copy && f.reencode) return fail_usage({ErrorCode::kUsage, "--copy and --reencode conflict"});
  req.copy_policy = f.copy ? CopyPolicy::kCopy : f.reencode ? CopyPolicy::kReencode
                                                            : CopyPolicy::kAuto;
  req.keep_metadata = !f.no_metadata;
  if (req.track.number && *req.track.number < 1) {
    return fail_usage({ErrorCode::kUsage, "--track counts from 1"});
  }
  for (auto [text, slot] : {std::pair{&f.from, &req.from}, std::pair{&f.to, &req.to},
                            std::pair{&f.duration, &req.duration}}) {
    if (text->empty()) continue;
    auto t = parse_time(*text);
    if (!t) return fail_usage(t.error());
    *slot = *t;
  }
  if (!f.bitrate.empty()) {
    auto b = parse_bitrate(f.bitrate);
    if (!b) return fail_usage(b.error());
    req.bitrate = *b;
  }
  if (!f.channels.empty()) {
    auto c = parse_channels(f.channels);
    if (!c) return fail_usage(c.error());
    req.channels = *c;
  }
  if (!f.sample_rate.empty()) {
    auto r = parse_rate(f.sample_rate);
    if (!r) return fail_usage(r.error());
    req.sample_rate = *r;
  }
  if (!f.loudness.empty()) {
    auto t = parse_loudness(f.loudness);
    if (!t) return fail_usage(t.error());
    req.loudness = *t;
  }
  if (f.true_peak) {
    if (!req.loudness) {
      return fail_usage(Error(ErrorCode::kUsage, "--true-peak goes with --loudness TARGET")
                            .about("true_peak"));
    }
    // "1" means -1: a ceiling is below full scale.
    req.loudness->true_peak = *f.true_peak > 0 ? -*f.true_peak : *f.true_peak;
  }
  return std::nullopt;
}

namespace {

// -o names a file: a folder there (or a name ending in '/') cannot be one, and its missing
// extension would only make the planner ask for one.
std::optional<Error> check_output_file(const Request& req) {
  if (req.output.empty()) return std::nullopt;
  std::error_code ec;
  if (std::filesystem::is_directory(req.output, ec)) {
    return Error{ErrorCode::kOutputExists,
                 fmt::format("the output {} is a folder; name a file in it (-o {}), or "
                             "use -d {} to write into it",
                             req.output, (std::filesystem::path(req.output) / "NAME.mp3").string(),
                             req.output)};
  }
  if (req.output.back() == '/') {
    return Error{ErrorCode::kUsage,
                 fmt::format("-o names a file, and {} is a folder name; use -d {} for a folder "
                             "(it is created if missing)",
                             req.output, req.output)};
  }
  return std::nullopt;
}

// One input named on the command line: the plain single-file behaviour and JSON object.
int run_single(Engine& engine, const ExtractOptions& f, const CancelToken& cancel) {
  const Request& req = f.request;
  const bool tty = ::isatty(STDOUT_FILENO) != 0 && ::isatty(STDERR_FILENO) != 0;
  const bool show_progress = tty && !f.json && !f.quiet && !f.dry_run;
  // Outputs named for you (beside the input, below -d, by --name) get their folder made, as in a
  // batch; the folder of an -o path must exist.
  const bool create_folders = req.output.empty();
  nlohmann::json outputs = nlohmann::json::array();
  nlohmann::json errors = nlohmann::json::array();
  bool damaged = false;
  bool interrupted = false;
  int worst = kExitOk;

  auto report_error = [&](const std::string& input, const Error& e) {
    errors.push_back(error_json(input, e, say));
    if (!f.json || f.verbose) std::cerr << "peel: " << say(e) << "\n";
    if (e.code == ErrorCode::kCancelled) interrupted = true;
    worst = std::max(worst, exit_code_for(e.code) == kExitUsage ? kExitUsage : kExitFailed);
  };

  // A folder without -R is refused with the batch's words (which say to add -R).
  const Discovery found = discover(req.inputs, f.recursive, req.out_dir);
  for (const auto& [path, error] : found.errors) report_error(path, error);
  if (auto e = check_output_file(req); e && !found.files.empty()) {
    report_error(found.files.front().path, *e);
  } else {
    for (const auto& in : found.files) {
      const std::string& input = in.path;
      if (cancel.cancelled()) break;
      auto opened = Input::open(engine, input, cancel);
      if (!opened) {
        report_error(input, opened.error());
        continue;
      }
      auto plans = plan(req, opened->info());
      if (!plans) {
        report_error(input, plans.error());
        continue;
      }
      for (const auto& p : *plans) {
        if (f.dry_run) {
          // Refuses what the run would refuse, as the run itself checks it.
          auto checked = check_output(p, create_folders);
          if (!checked) {
            report_error(input, checked.error());
            continue;
          }
          if (f.json) {
            outputs.push_back(to_json(p, *checked));
          } else {
            std::cout << explain(p)
                      << (checked->empty()
                              ? ""
                              : fmt::format("  would create the folder {}\n", *checked))
                      << "  ffmpeg: " << ffmpeg_command(p) << "\n";
          }
          continue;
        }
        if (f.verbose && !f.json) std::cerr << explain(p);
        ProgressBar bar(fmt::format("{} track {}", p.input, p.track.number));
        RunOptions options;
        options.cancel = cancel;
        options.sync = f.sync;
        options.jobs = f.jobs;
        options.segment_parallel = segment_parallel_mode(f);
        options.on_temp_file = track_temp_file;
        options.create_folders = create_folders;
        if (show_progress) options.on_progress = [&bar](const Progress& pr) { bar.update(pr); };
        auto result = run(engine, p, *opened, options);
        bar.clear();
        if (!result) {
          report_error(input, result.error());
          if (interrupted) break;
          continue;
        }
        damaged = damaged || !result->lost.empty();
        if (!result->new_folder.empty() && !f.quiet && !f.json) {
          std::cerr << "peel: created the folder " << result->new_folder << "\n";
        }
        if (f.json) {
          outputs.push_back(to_json(*result));
        } else if (!f.quiet) {
          std::cout << describe_result(*result) << "\n";
        }
        if (f.verbose) {
          for (const auto& line : result->log) std::cerr << "ffmpeg: " << line << "\n";
        }
        for (const auto& w : result->warnings) {
          if (!f.quiet || !f.json) std::cerr << "peel: warning: " << w << "\n";
        }
      }
      if (interrupted) break;
    }
  }
  if (cancel.cancelled()) interrupted = true;
  if (f.json) {
    std::cout << nlohmann::json{{"outputs", outputs}, {"errors", errors}}.dump(2) << "\n";
  }
  if (interrupted) return kExitInterrupted;
  if (worst != kExitOk) return worst;
  return damaged ? kExitDamaged : kExitOk;
}

bool is_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

}  // namespace

std::string describe_result(const OutputResult& r) {
  return fmt::format("{} -> {}  ({} {}, track {}{}, {}–{}, {} Hz, {} ch, {:.1f} MB)", r.input,
                     r.output, r.mode == Mode::kCopy ? "copied" : "transcoded to", r.codec,
                     r.track, r.lang.empty() ? "" : " [" + r.lang + "]", format_time(r.start),
                     format_time(r.end), r.sample_rate, r.channels,
                     static_cast<double>(r.bytes) / 1e6);
}

int extract_command(Engine& engine, std::vector<std::string> args, const CancelToken& cancel) {
  ExtractOptions opts;
  CLI::App app{"peel: pull the audio out of video files, exact and lossless where it can be.\n"
               "Subcommands: peel probe [--json] INPUT..., peel formats [--json], "
               "peel watch DIR -d OUT, peel ask \"SENTENCE\" [INPUT...]",
               "peel"};
  app.add_option("INPUT", opts.request.inputs,
                 "video or audio files; several, folders (with -R) or quoted patterns make a batch")
      ->type_name("")
      ->required();
  app.set_version_flag("--version", "peel " PEEL_VERSION, "print the version and exit");
  add_extract_options(app, opts);
  if (auto rc = parse_extract_options(app, std::move(args), opts)) return *rc;
  // One plain file is the single-file command; several inputs, a pattern or a folder taken
  // with -R make a batch.
  const auto& inputs = opts.request.inputs;
  std::error_code ec;
  const bool batch = inputs.size() > 1 || is_glob(inputs[0]) || opts.skip_existing ||
                     (opts.recursive && std::filesystem::is_directory(inputs[0], ec));
  return batch ? run_batch_command(engine, opts, cancel) : run_single(engine, opts, cancel);
}

}  // namespace peel::cli
