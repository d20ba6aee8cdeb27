// `peel ask "SENTENCE" [INPUT...]`: a request in plain words becomes a peel command, shown
// with its ffmpeg twin, confirmed on a terminal, then run through extract_command itself.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/advice.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/json.h"
#include "peel/formats.h"
#include "peel/nl.h"
#include "peel/plan.h"
#include "peel/run.h"

namespace peel::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Seconds as the shortest exact decimal: 90, 1.5, 0.000001.
std::string seconds(Micros t) {
  std::string s = fmt::format("{:.6f}", to_seconds(t));
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// One run of the extract command: its inputs and the Request they share.
struct Job {
  Request request;
  std::vector<std::string> argv;  // without the program name
  std::string ffmpeg;
};

// The extract command's flags for a Request: what runs is what is printed.
std::vector<std::string> peel_args(const Request& r) {
  std::vector<std::string> a = r.inputs;
  if (!r.output.empty()) a.insert(a.end(), {"-o", r.output});
  if (!r.out_dir.empty()) a.insert(a.end(), {"-d", r.out_dir});
  if (r.format != "auto") a.insert(a.end(), {"-f", r.format});
  if (r.copy_policy == CopyPolicy::kCopy) a.emplace_back("--copy");
  if (r.copy_policy == CopyPolicy::kReencode) a.emplace_back("--reencode");
  if (r.from) a.insert(a.end(), {"--from", seconds(*r.from)});
  if (r.to) a.insert(a.end(), {"--to", seconds(*r.to)});
  if (r.duration) a.insert(a.end(), {"--duration", seconds(*r.duration)});
  if (r.track.number) a.insert(a.end(), {"--track", std::to_string(*r.track.number)});
  if (r.track.lang) a.insert(a.end(), {"--lang", *r.track.lang});
  if (r.track.title) a.insert(a.end(), {"--title", *r.track.title});
  if (r.track.all) a.emplace_back("--all-tracks");
  if (r.bitrate) {
    a.insert(a.end(), {"-b", *r.bitrate % 1000 == 0 ? fmt::format("{}k", *r.bitrate / 1000)
                                                    : std::to_string(*r.bitrate)});
  }
  if (r.quality) a.insert(a.end(), {"--quality", fmt::format("{}", *r.quality)});
  if (r.sample_rate) a.insert(a.end(), {"--sample-rate", std::to_string(*r.sample_rate)});
  if (r.channels) a.insert(a.end(), {"--channels", std::to_string(*r.channels)});
  if (r.sample_format) a.insert(a.end(), {"--sample-format", *r.sample_format});
  return a;
}

// An ffmpeg command for a file that cannot be probed (yet): the same choices, with the
// format's default encoder, from the Request alone.
std::string ffmpeg_from_request(const Request& r, const std::string& input,
                                std::optional<Micros> from_end) {
  std::string format = r.format;
  std::string codec = r.copy_policy == CopyPolicy::kReencode ? "" : "copy";
  std::string ext = "mka";
  for (const auto& f : formats()) {
    if (f.name == format) {
      ext = f.extension;
      codec = r.copy_policy == CopyPolicy::kCopy ? "copy" : f.codec;
    }
  }
  if (r.sample_format && (format == "wav" || format == "pcm")) {
    codec = fmt::format("pcm_{}le", *r.sample_format);
  }
  if (codec == "mp3") codec = "libmp3lame";
  if (codec == "opus") codec = "libopus";
  if (codec == "vorbis") codec = "libvorbis";
  std::vector<std::string> a = {"ffmpeg", "-hide_banner", "-n"};
  if (from_end) a.insert(a.end(), {"-sseof", "-" + seconds(*from_end)});
  a.insert(a.end(), {"-i", input});
  if (r.from) a.insert(a.end(), {"-ss", seconds(*r.from)});
  if (r.to) a.insert(a.end(), {"-to", seconds(*r.to)});
  if (r.duration) a.insert(a.end(), {"-t", seconds(*r.duration)});
  if (r.track.all) {
    a.insert(a.end(), {"-map", "0:a"});
  } else if (r.track.number) {
    a.insert(a.end(), {"-map", fmt::format("0:a:{}", *r.track.number - 1)});
  } else if (r.track.lang) {
    a.insert(a.end(), {"-map", fmt::format("0:a:m:language:{}", *r.track.lang)});
  } else {
    a.insert(a.end(), {"-map", "0:a:0"});
  }
  a.insert(a.end(), {"-vn", "-sn", "-dn", "-c:a", codec.empty() ? "copy" : codec});
  if (r.bitrate) a.insert(a.end(), {"-b:a", std::to_string(*r.bitrate)});
  if (r.quality) a.insert(a.end(), {"-q:a", fmt::format("{}", *r.quality)});
  if (r.sample_rate) a.insert(a.end(), {"-ar", std::to_string(*r.sample_rate)});
  if (r.channels) a.insert(a.end(), {"-ac", std::to_string(*r.channels)});
  if (format == "pcm")
    a.insert(a.end(), {"-f", r.sample_format ? *r.sample_format + "le" : "s16le"});
  std::string out = r.output;
  if (out.empty()) {
    const fs::path in(input);
    const fs::path dir = r.out_dir.empty() ? in.parent_path() : fs::path(r.out_dir);
    out = (dir / (in.stem().string() + "." + ext)).string();
  }
  a.push_back(out);
  return shell_command(a);
}

// Folders become their media files, sorted so the plan is the same on every run.
Result<std::vector<std::string>> expand_inputs(const nl::Understanding& u) {
  std::vector<std::string> out;
  auto list = [&](const std::string& folder, const std::string& ext) -> Result<void> {
    std::error_code ec;
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(folder, ec)) {
      const std::string name = e.path().filename().string();
      if (!e.is_regular_file() || name.starts_with(".") || !nl::is_media_file_name(name)) continue;
      std::string got = e.path().extension().string();
      std::transform(got.begin(), got.end(), got.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (!ext.empty() && got != "." + ext) continue;
      found.push_back(e.path().string());
    }
    if (ec) {
      return Error{ErrorCode::kInputNotFound,
                   fmt::format("cannot list the folder {}: {}", folder, ec.message())};
    }
    if (found.empty()) {
      return Error{
          ErrorCode::kInputNotFound,
          fmt::format("{} holds no {}files", folder, ext.empty() ? "media " : "." + ext + " ")};
    }
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
    return {};
  };
  for (const auto& in : u.request.inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      if (auto r = list(in, ""); !r) return r.error();
    } else {
      out.push_back(in);
    }
  }
  for (const auto& f : u.folders) {
    if (auto r = list(f.folder.empty() ? "." : f.folder, f.extension); !r) return r.error();
  }
  return out;
}

// One input as the run will meet it: probed, its request resolved ("the last N"), planned.
struct Resolved {
  std::string input;
  nl::InputRequest request;
  std::vector<OutputPlan> plans;
  std::optional<Error> unreadable;  // probe() failed: the file is not there (yet)
  std::optional<Error> refused;     // plan() refused: the run would refuse the same way
};

// A plan shown is a plan the run accepts: each input is probed and planned exactly as the
// extract command will, before anything is printed.
std::vector<Resolved> resolve(Engine& engine, const nl::Understanding& u,
                              const std::vector<std::string>& inputs) {
  std::vector<Resolved> out;
  for (const auto& in : inputs) {
    Resolved r;
    r.input = in;
    auto info = probe(engine, in);
    if (!info) {
      r.request = nl::for_input(u, in, 0);
      r.unreadable = info.error();
    } else {
      r.request = nl::for_input(u, in, info->duration);
      auto plans = plan(r.request.request, *info);
      if (plans) {
        r.plans = std::move(*plans);
        // What the run checks before writing (an output already there, a folder it cannot
        // write in) is refused here too, with the run's error; folders are created, as the
        // extract command creates them.
        for (const auto& p : r.plans) {
          if (auto checked = check_output(p, true); !checked && !r.refused) {
            r.refused = checked.error();
          }
        }
      } else {
        r.refused = plans.error();
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

// Splits the request into runs: one for all inputs, or one per input when "the last N"
// needs each file's own duration.
std::vector<Job> jobs_for(const nl::Understanding& u, const std::vector<Resolved>& resolved) {
  std::vector<Job> jobs;
  auto ffmpeg = [&](const Resolved& r) {
    if (r.plans.empty()) return ffmpeg_from_request(r.request.request, r.input, u.from_end);
    std::string s;
    for (const auto& p : r.plans) s += (s.empty() ? "" : " && ") + ffmpeg_command(p);
    return s;
  };
  if (!u.from_end) {
    Job j;
    j.request = u.request;
    j.request.inputs.clear();
    for (const auto& r : resolved) {
      j.request.inputs.push_back(r.input);
      j.ffmpeg += (j.ffmpeg.empty() ? "" : " && ") + ffmpeg(r);
    }
    j.argv = peel_args(j.request);
    jobs.push_back(std::move(j));
    return jobs;
  }
  for (const auto& r : resolved) {
    Job j;
    j.request = r.request.request;
    j.ffmpeg = ffmpeg(r);
    j.argv = peel_args(j.request);
    jobs.push_back(std::move(j));
  }
  return jobs;
}

// The plan in plain words: from plan() for each input it could read, else from the sentence.
std::string explanation(const nl::Understanding& u, const std::vector<Resolved>& resolved) {
  std::string s;
  bool from_sentence = false;
  nl::Understanding once = u;  // the sentence's notes are said once, not once per input
  for (const auto& r : resolved) {
    if (r.plans.empty()) {
      from_sentence = true;
      continue;
    }
    const std::string e = nl::explain(once, r.plans, r.request.notes);
    once.notes.clear();
    s += (s.empty() || u.language == nl::Language::kChinese ? "" : " ") + e;
  }
  if (from_sentence || resolved.empty()) {
    s += (s.empty() || u.language == nl::Language::kChinese ? "" : " ") + u.explanation;
  }
  return s;
}

json optional_json(const auto& v) { return v ? json(*v) : json(nullptr); }
json optional_seconds(const std::optional<Micros>& v) {
  return v ? json(to_seconds(*v)) : json(nullptr);
}

json to_json(const nl::Understanding& u, const std::vector<std::string>& inputs,
             const std::vector<Job>& jobs, const std::vector<Resolved>& resolved) {
  const Request& r = jobs.size() == 1 ? jobs.front().request : u.request;
  json j;
  j["inputs"] = inputs;
  j["format"] = r.format != "auto" || u.format_stated ? json(r.format) : json(nullptr);
  j["copy_policy"] = r.copy_policy == CopyPolicy::kCopy       ? "copy"
                     : r.copy_policy == CopyPolicy::kReencode ? "reencode"
                                                              : "auto";
  j["from"] = optional_seconds(r.from);
  j["to"] = optional_seconds(r.to);
  j["duration"] = optional_seconds(r.duration);
  j["from_end"] = optional_seconds(u.from_end);
  j["track"] = optional_json(r.track.number);
  j["lang"] = optional_json(r.track.lang);
  j["title"] = optional_json(r.track.title);
  j["all_tracks"] = r.track.all;
  j["bitrate"] = optional_json(r.bitrate);
  j["quality"] = optional_json(r.quality);
  j["sample_rate"] = optional_json(r.sample_rate);
  j["channels"] = optional_json(r.channels);
  j["sample_format"] = optional_json(r.sample_format);
  j["output"] = r.output.empty() ? json(nullptr) : json(r.output);
  j["out_dir"] = r.out_dir.empty() ? json(nullptr) : json(r.out_dir);
  j["explanation"] = explanation(u, resolved);
  std::vector<std::string> notes = u.notes;
  for (const auto& res : resolved) {
    notes.insert(notes.end(), res.request.notes.begin(), res.request.notes.end());
  }
  j["notes"] = notes;
  std::string peel_command, ffmpeg;
  for (const auto& job : jobs) {
    std::vector<std::string> argv = {"peel"};
    argv.insert(argv.end(), job.argv.begin(), job.argv.end());
    peel_command += (peel_command.empty() ? "" : " && ") + shell_command(argv);
    ffmpeg += (ffmpeg.empty() ? "" : " && ") + job.ffmpeg;
  }
  j["peel_command"] = jobs.empty() ? json(nullptr) : json(peel_command);
  j["ffmpeg_command"] = jobs.empty() || ffmpeg.empty() ? json(nullptr) : json(ffmpeg);
  return j;
}

bool interactive() { return ::isatty(STDIN_FILENO) != 0 && ::isatty(STDERR_FILENO) != 0; }

// On a terminal, a reply to a question: existing paths become inputs, anything else is the
// request said again.
bool read_reply(std::string& sentence, std::vector<std::string>& inputs) {
  std::cerr << "> " << std::flush;
  std::string line;
  if (!std::getline(std::cin, line) || line.find_first_not_of(' ') == std::string::npos) {
    return false;
  }
  std::error_code ec;
  if (fs::exists(line, ec)) {
    inputs.push_back(line);
  } else {
    sentence = line;
  }
  return true;
}

// understand(), with the readings of unquoted names that exist here: "my vidéo ñ.mp4" is one
// file when a file has that name.
nl::Understanding understand_here(const std::string& sentence,
                                  const std::vector<std::string>& inputs) {
  nl::Understanding u = nl::understand(sentence, inputs);
  std::vector<std::string> known;
  for (const auto& c : u.file_candidates) {
    std::error_code ec;
    if (fs::exists(c, ec)) known.push_back(c);
  }
  return known.empty() ? u : nl::understand(sentence, inputs, known);
}

}  // namespace

int ask_command(Engine& engine, std::vector<std::string> args, const CancelToken& cancel) {
  std::string sentence;
  std::vector<std::string> inputs;
  bool yes = false, dry_run = false, as_json = false;
  CLI::App app{
      "peel ask: say what you want in plain English or Chinese; peel shows the exact "
      "plan, the peel and ffmpeg commands, and runs it.\n"
      "  peel ask \"extract the audio from interview.mkv as mp3\"\n"
      "  peel ask \"从我的mkv视频中提取2分钟到5分钟之间的音轨\" video.mkv\n"
      "Without a terminal to confirm on, it runs only with --yes (else it prints the plan and "
      "exits with 1).",
      "peel ask"};
  app.add_option("sentence", sentence, "the request, in quotes")->required();
  app.add_option("inputs", inputs, "files the sentence refers to (\"this file\")");
  app.add_flag("-y,--yes", yes, "run without asking for confirmation (needed without a terminal)");
  app.add_flag("--dry-run", dry_run, "print what was understood and the commands; run nothing");
  app.add_flag("--json", as_json, "print what was understood as one JSON object");
  if (auto rc = parse_command_line(app, std::move(args))) return *rc;

  nl::Understanding u = understand_here(sentence, inputs);
  while (u.outcome != nl::Outcome::kPlan) {
    if (as_json || !interactive()) {
      if (as_json) {
        json j = to_json(u, u.request.inputs, {}, {});
        j["question"] = u.question;
        std::cout << j.dump(2) << "\n";
      }
      std::cerr << "peel ask: " << u.question << "\n";
      return kExitUsage;
    }
    std::cerr << u.question << "\n";
    if (!read_reply(sentence, inputs)) return kExitUsage;
    u = understand_here(sentence, inputs);
  }

  auto expanded = expand_inputs(u);
  if (!expanded) {
    if (as_json) {
      json j = to_json(u, u.request.inputs, {}, {});
      j["errors"] = json::array({error_json("", expanded.error())});
      std::cout << j.dump(2) << "\n";
    }
    std::cerr << "peel ask: " << say(expanded.error()) << "\n";
    return exit_code_for(expanded.error().code);
  }
  const std::vector<Resolved> resolved = resolve(engine, u, *expanded);

  // A refusal of plan() is what the run would answer: the same message and exit status, and
  // the words of the sentence that led to it. Nothing is offered to run.
  int refused = kExitOk;
  json errors = json::array();
  std::vector<std::string> refusals;
  for (const auto& r : resolved) {
    const auto& e = r.refused ? r.refused : r.unreadable;
    if (!e) continue;
    errors.push_back(error_json(r.input, *e));
    if (r.refused) {
      refused = std::max(refused, exit_code_for(e->code));
      std::cerr << "peel ask: " << e->message << "\n";
      if (const std::string why = nl::explain_refusal(u, *e); !why.empty()) {
        std::cerr << "peel ask: " << why << "\n";
        refusals.push_back(why);
      }
    }
  }
  if (refused != kExitOk) {
    if (as_json) {
      json j = to_json(u, *expanded, {}, resolved);
      j["errors"] = errors;
      if (!refusals.empty()) j["refusal"] = fmt::format("{}", fmt::join(refusals, " "));
      std::cout << j.dump(2) << "\n";
    }
    // A dry run refuses exactly what the run would refuse, with its exit status.
    return refused;
  }

  const std::vector<Job> jobs = jobs_for(u, resolved);
  // Without --dry-run and with --json, stdout is the extract command's own JSON.
  std::ostream& text = as_json ? std::cerr : std::cout;
  if (dry_run && as_json) {
    json j = to_json(u, *expanded, jobs, resolved);
    if (!errors.empty()) j["errors"] = errors;
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  text << explanation(u, resolved) << "\n";
  for (const auto& job : jobs) {
    std::vector<std::string> argv = {"peel"};
    argv.insert(argv.end(), job.argv.begin(), job.argv.end());
    if (as_json) argv.emplace_back("--json");
    text << "  peel:   " << shell_command(argv) << "\n";
    text << "  ffmpeg: " << job.ffmpeg << "\n";
  }
  // An input that cannot be read is planned from the sentence alone for --dry-run (it may be
  // a file still to come); a run would fail on it, so none is started.
  int unreadable = kExitOk;
  for (const auto& r : resolved) {
    if (!r.unreadable) continue;
    std::cerr << "peel ask: " << r.unreadable->message << "\n";
    unreadable = std::max(unreadable, exit_code_for(r.unreadable->code));
  }
  if (dry_run) return kExitOk;
  if (unreadable != kExitOk) return unreadable;
  if (!yes) {
    if (!interactive()) {
      std::cerr << "peel ask: nothing was run: there is no terminal to confirm on; add --yes "
                   "to run it\n";
      return kExitUsage;
    }
    std::cerr << "Run it? [y/N] " << std::flush;
    std::string reply;
    if (!std::getline(std::cin, reply) || (reply != "y" && reply != "Y" && reply != "yes")) {
      std::cerr << "peel ask: nothing was run\n";
      return kExitUsage;
    }
  }
  int worst = kExitOk;
  for (const auto& job : jobs) {
    if (cancel.cancelled()) return kExitInterrupted;
    std::vector<std::string> argv = job.argv;
    if (as_json) argv.emplace_back("--json");
    worst = std::max(worst, extract_command(engine, std::move(argv), cancel));
  }
  return worst;
}

}  // namespace peel::cli
