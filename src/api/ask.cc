// An understood sentence resolved against its files (peel/ask.h).
#include "peel/ask.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "peel/media_info.h"
#include "peel/run.h"

namespace peel::nl {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The media files of a folder with extension `ext` ("": any), sorted so the plan is the same
// on every run; hidden files are left out.
Result<std::vector<std::string>> list_folder(const std::string& folder, const std::string& ext) {
  std::error_code ec;
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.starts_with(".") || !is_media_file_name(name)) continue;
    if (!ext.empty() && lower(e.path().extension().string()) != "." + ext) continue;
    found.push_back(e.path().string());
  }
  if (ec) {
    return Error(ErrorCode::kInputNotFound,
                 fmt::format("cannot list the folder {}: {}", folder, ec.message()))
        .about("inputs");
  }
  if (found.empty()) {
    return Error(ErrorCode::kInputNotFound,
                 fmt::format("{} holds no {}files", folder,
                             ext.empty() ? "media " : "." + ext + " "))
        .about("inputs");
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string joined(const std::vector<std::string>& parts, std::string_view glue) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : std::string(glue)) + p;
  return s;
}

// The ffmpeg twin of one input: its plans' commands, or the request's for a file not read.
std::string ffmpeg_for(const Understanding& u, const ResolvedInput& r) {
  if (r.plans.empty()) return ffmpeg_command(r.request.request, r.input, u.from_end);
  std::vector<std::string> commands;
  for (const auto& p : r.plans) commands.push_back(ffmpeg_command(p));
  return joined(commands, " && ");
}

// The plan in plain words: from plan() for each input it could read, else from the sentence.
std::string explanation(const Understanding& u, const std::vector<ResolvedInput>& resolved) {
  const std::string_view space = u.language == Language::kChinese ? "" : " ";
  std::string s;
  bool from_sentence = false;
  Understanding once = u;  // the sentence's notes are said once, not once per input
  for (const auto& r : resolved) {
    if (r.plans.empty()) {
      from_sentence = true;
      continue;
    }
    const std::string e = explain(once, r.plans, r.request.notes);
    once.notes.clear();
    s += (s.empty() ? "" : std::string(space)) + e;
  }
  if (from_sentence || resolved.empty()) {
    s += (s.empty() ? "" : std::string(space)) + u.explanation;
  }
  return s;
}

}  // namespace

Result<std::vector<std::string>> expand_inputs(const Understanding& u) {
  std::vector<std::string> out;
  for (const auto& in : u.request.inputs) {
    std::error_code ec;
    if (!fs::is_directory(in, ec)) {
      out.push_back(in);
      continue;
    }
    auto listed = list_folder(in, "");
    if (!listed) return listed.error();
    out.insert(out.end(), listed->begin(), listed->end());
  }
  for (const auto& f : u.folders) {
    auto listed = list_folder(f.folder.empty() ? "." : f.folder, f.extension);
    if (!listed) return listed.error();
    out.insert(out.end(), listed->begin(), listed->end());
  }
  return out;
}

bool Resolution::refused() const {
  return std::any_of(resolved.begin(), resolved.end(),
                     [](const ResolvedInput& r) { return r.refused.has_value(); });
}

bool Resolution::unreadable() const {
  return std::any_of(resolved.begin(), resolved.end(),
                     [](const ResolvedInput& r) { return r.unreadable.has_value(); });
}

Resolution resolve(Engine& engine, const Understanding& u, const std::vector<std::string>& inputs,
                   const CancelToken& cancel) {
  Resolution out;
  out.inputs = inputs;
  out.notes = u.notes;
  // A plan shown is a plan the run accepts: each input is probed and planned exactly as the
  // extract will, before anything is said.
  for (const auto& in : inputs) {
    ResolvedInput r;
    r.input = in;
    auto info = probe(engine, in, cancel);
    if (!info) {
      r.request = for_input(u, in, 0);
      r.unreadable = info.error();
    } else {
      r.request = for_input(u, in, info->duration);
      auto plans = plan(r.request.request, *info);
      if (plans) {
        r.plans = std::move(*plans);
        // What the run checks before writing (an output already there, a folder it cannot
        // write in) is refused here too, with the run's error; missing folders are fine: the
        // run creates them.
        for (const auto& p : r.plans) {
          if (auto checked = check_output(p, true); !checked && !r.refused) {
            r.refused = checked.error();
          }
        }
      } else {
        r.refused = plans.error();
      }
    }
    if (r.refused) r.refusal = explain_refusal(u, *r.refused);
    out.notes.insert(out.notes.end(), r.request.notes.begin(), r.request.notes.end());
    out.resolved.push_back(std::move(r));
  }
  out.explanation = explanation(u, out.resolved);
  if (out.refused()) return out;

  if (!u.from_end) {
    Job j;
    j.request = u.request;
    j.request.inputs = inputs;
    std::vector<std::string> commands;
    for (const auto& r : out.resolved) commands.push_back(ffmpeg_for(u, r));
    j.ffmpeg_command = joined(commands, " && ");
    out.jobs.push_back(std::move(j));
    return out;
  }
  for (const auto& r : out.resolved) {
    out.jobs.push_back({r.request.request, ffmpeg_for(u, r)});
  }
  return out;
}

}  // namespace peel::nl
