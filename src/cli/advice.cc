// Advice in the CLI's syntax for the library's structured errors.
#include "cli/advice.h"

#include <fmt/format.h>

#include <map>

namespace peel::cli {

std::string flag_for(const std::string& field) {
  static const std::map<std::string, std::string> kFlags = {
      {"output", "-o"},          {"out_dir", "-d"},         {"from", "--from"},
      {"to", "--to"},            {"duration", "--duration"}, {"track", "--track"},
      {"lang", "--lang"},        {"title", "--title"},      {"format", "-f"},
      {"copy_policy", "--copy"}, {"bitrate", "--bitrate"},  {"quality", "--quality"},
      {"sample_rate", "--sample-rate"}, {"channels", "--channels"},
      {"sample_format", "--sample-format"}, {"loudness", "--loudness"},
      {"true_peak", "--true-peak"}, {"name_template", "--name"},
      {"strict", "--strict"},
      {"pixels_per_second", "--pixels-per-second"}, {"width", "--width"},
      {"height", "--height"}, {"bits", "--bits"},
  };
  const auto it = kFlags.find(field);
  return it != kFlags.end() ? it->second : "";
}

namespace {

std::string advice(const Error& e) {
  const std::string flag = flag_for(e.field);
  switch (e.hint) {
    case Hint::kOverwrite:
      return "add -y to replace it";
    case Hint::kReencode:
      return "drop --copy to re-encode";
    case Hint::kCopy:
      return "add --copy";
    case Hint::kNotStrict:
      return "drop --strict to keep what can be read";
    case Hint::kOutputFolder:
      return e.field == "out_dir" ? "add -d OUT" : "use -d DIR (and --name) instead";
    case Hint::kNameTemplate:
      return "use --name, e.g. --name '{stem}.{dir}.{ext}'";
    case Hint::kRecursive:
      return "add -R";
    case Hint::kOneOf:
      return fmt::format("{} or {}, not both", flag, flag_for(e.other_field));
    case Hint::kChange:
      if (flag.empty()) return "";
      return e.suggestion.empty() ? flag : fmt::format("try {} {}", flag, e.suggestion);
    case Hint::kNone: {
      if (flag.empty()) return "";
      std::string s = e.value.empty() ? flag : fmt::format("{} {}", flag, e.value);
      if (const std::string other = flag_for(e.other_field); !other.empty()) s += ", " + other;
      return s;
    }
  }
  return "";
}

}  // namespace

std::string say(const Error& e) {
  const std::string a = advice(e);
  return a.empty() ? e.message : fmt::format("{} ({})", e.message, a);
}

Error worded(Error e) {
  e.message = say(e);
  return e;
}

}  // namespace peel::cli
