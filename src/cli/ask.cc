// `peel ask "SENTENCE" [INPUT...]`: a request in plain words becomes a peel command, shown
// with its ffmpeg twin, confirmed on a terminal, then run through extract_command itself.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/advice.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "peel/json.h"
#include "peel/ask.h"
#include "peel/nl.h"
#include "peel/plan.h"
#include "peel/run.h"

namespace peel::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

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
        std::cout << to_json(u, nl::Resolution{.inputs = u.request.inputs}, say).dump(2) << "\n";
      }
      std::cerr << "peel ask: " << u.question << "\n";
      return kExitUsage;
    }
    std::cerr << u.question << "\n";
    if (!read_reply(sentence, inputs)) return kExitUsage;
    u = understand_here(sentence, inputs);
  }

  auto expanded = nl::expand_inputs(u);
  if (!expanded) {
    if (as_json) {
      json j = to_json(u, nl::Resolution{.inputs = u.request.inputs}, say);
      j["errors"] = json::array({error_json("", expanded.error(), say)});
      std::cout << j.dump(2) << "\n";
    }
    std::cerr << "peel ask: " << say(expanded.error()) << "\n";
    return exit_code_for(expanded.error().code);
  }
  const nl::Resolution res = nl::resolve(engine, u, *expanded, cancel);

  // A refusal of plan() is what the run would answer: the same message and exit status, and
  // the words of the sentence that led to it. Nothing is offered to run. A dry run refuses
  // exactly what the run would refuse, with its exit status.
  if (res.refused()) {
    int refused = kExitOk;
    for (const auto& r : res.resolved) {
      if (!r.refused) continue;
      refused = std::max(refused, exit_code_for(r.refused->code));
      std::cerr << "peel ask: " << say(*r.refused) << "\n";
      if (!r.refusal.empty()) std::cerr << "peel ask: " << r.refusal << "\n";
    }
    if (as_json) std::cout << to_json(u, res, say).dump(2) << "\n";
    return refused;
  }

  // Without --dry-run and with --json, stdout is the extract command's own JSON.
  std::ostream& text = as_json ? std::cerr : std::cout;
  if (dry_run && as_json) {
    std::cout << to_json(u, res, say).dump(2) << "\n";
    return kExitOk;
  }
  text << res.explanation << "\n";
  for (const auto& job : res.jobs) {
    std::vector<std::string> argv = {"peel"};
    const auto args = peel_arguments(job.request);
    argv.insert(argv.end(), args.begin(), args.end());
    if (as_json) argv.emplace_back("--json");
    text << "  peel:   " << shell_command(argv) << "\n";
    text << "  ffmpeg: " << job.ffmpeg_command << "\n";
  }
  // An input that cannot be read is planned from the sentence alone for --dry-run (it may be
  // a file still to come); a run would fail on it, so none is started.
  int unreadable = kExitOk;
  for (const auto& r : res.resolved) {
    if (!r.unreadable) continue;
    std::cerr << "peel ask: " << say(*r.unreadable) << "\n";
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
  for (const auto& job : res.jobs) {
    if (cancel.cancelled()) return kExitInterrupted;
    std::vector<std::string> argv = peel_arguments(job.request);
    if (as_json) argv.emplace_back("--json");
    worst = std::max(worst, extract_command(engine, std::move(argv), cancel));
  }
  return worst;
}

}  // namespace peel::cli
