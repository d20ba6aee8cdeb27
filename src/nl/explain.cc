// Plain words for a plan: from the Request alone (the parser), or from what plan() decided for
// a file (peel ask), so what is said is exactly what will run.
#include "nl/explain.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace peel::nl {

namespace {

std::string kbits(int64_t bps) {
  return bps % 1000 == 0 ? fmt::format("{} kbit/s", bps / 1000)
                         : fmt::format("{:.1f} kbit/s", static_cast<double>(bps) / 1000);
}

std::string depth(const std::string& f, bool zh) {
  if (f == "f32") return zh ? "32 位浮点" : "32-bit float";
  return zh ? fmt::format("{} 位", f.substr(1)) : fmt::format("{}-bit", f.substr(1));
}

std::string sources(const Understanding& u, bool zh) {
  std::vector<std::string> parts;
  const auto& in = u.request.inputs;
  for (size_t i = 0; i < in.size() && i < 3; ++i) parts.push_back(in[i]);
  if (in.size() > 3) {
    parts.push_back(zh ? fmt::format("等共 {} 个文件", in.size())
                       : fmt::format("{} more files", in.size() - 3));
  }
  for (const auto& f : u.folders) {
    const std::string where = f.folder.empty() ? "." : f.folder;
    if (zh) {
      parts.push_back(f.extension.empty() ? fmt::format("{} 中的所有文件", where)
                                          : fmt::format("{} 中的所有 {} 文件", where, f.extension));
    } else {
      parts.push_back(f.extension.empty() ? fmt::format("every file in {}", where)
                                          : fmt::format("the .{} files in {}", f.extension, where));
    }
  }
  if (parts.empty()) return zh ? "（未指定的文件）" : "(no file given yet)";
  return fmt::format("{}", fmt::join(parts, zh ? "、" : ", "));
}

std::string track(const TrackSelector& t, bool zh) {
  if (t.all) return zh ? "所有音轨（每条一个文件）" : "every audio track (one file each)";
  std::vector<std::string> parts;
  if (t.number)
    parts.push_back(zh ? fmt::format("第 {} 条音轨", *t.number)
                       : fmt::format("audio track {}", *t.number));
  if (t.lang)
    parts.push_back(zh ? fmt::format("语言为 {} 的音轨", *t.lang)
                       : fmt::format("the audio track in language {}", *t.lang));
  if (t.title)
    parts.push_back(zh ? fmt::format("标题含“{}”的音轨", *t.title)
                       : fmt::format("the audio track titled \"{}\"", *t.title));
  if (parts.empty()) return zh ? "音频（默认音轨）" : "the audio (the default track)";
  return fmt::format("{}", fmt::join(parts, zh ? "、" : ", "));
}

std::string range(const Understanding& u, bool zh) {
  const Request& r = u.request;
  if (u.from_end) {
    return zh ? fmt::format("最后 {}", format_time(*u.from_end))
              : fmt::format("the last {}", format_time(*u.from_end));
  }
  const std::string from = format_time(r.from.value_or(0));
  if (r.to)
    return zh ? fmt::format("{} 到 {}", from, format_time(*r.to))
              : fmt::format("from {} to {}", from, format_time(*r.to));
  if (r.duration) {
    return zh ? fmt::format("从 {} 起 {}", from, format_time(*r.duration))
              : fmt::format("{} starting at {}", format_time(*r.duration), from);
  }
  if (r.from)
    return zh ? fmt::format("从 {} 到结尾", from) : fmt::format("from {} to the end", from);
  return zh ? "整个文件" : "the whole file";
}

std::string conversion(const Understanding& u, bool zh) {
  const Request& r = u.request;
  std::string s;
  const bool same = r.format == "auto";
  switch (r.copy_policy) {
    case CopyPolicy::kCopy:
      s = same ? (zh ? "原样复制，不重新编码，放进与编码相配的容器"
                     : "copied as it is, without re-encoding, into the container that suits its "
                       "codec")
               : (zh ? fmt::format("不重新编码，直接复制为 {}", r.format)
                     : fmt::format("copied without re-encoding into {}", r.format));
      break;
    case CopyPolicy::kReencode:
      s = same ? (zh ? "重新编码为原来的格式" : "re-encoded in its original format")
               : (zh ? fmt::format("重新编码为 {}", r.format)
                     : fmt::format("re-encoded as {}", r.format));
      break;
    case CopyPolicy::kAuto:
      s = same ? (zh ? "保持原始格式（无需改动时直接复制，不损失音质）"
                     : "kept in its original format (copied when nothing needs changing, so no "
                       "quality is lost)")
               : (zh ? fmt::format("保存为 {}", r.format) : fmt::format("saved as {}", r.format));
      break;
  }
  std::vector<std::string> settings;
  if (r.bitrate) settings.push_back(kbits(*r.bitrate));
  if (r.quality)
    settings.push_back(zh ? fmt::format("VBR 质量 {}", *r.quality)
                          : fmt::format("VBR quality {}", *r.quality));
  if (r.sample_rate) settings.push_back(fmt::format("{} Hz", *r.sample_rate));
  if (r.channels) {
    settings.push_back(*r.channels == 1   ? (zh ? "单声道" : "mono")
                       : *r.channels == 2 ? (zh ? "立体声" : "stereo")
                                          : (zh ? fmt::format("{} 声道", *r.channels)
                                                : fmt::format("{} channels", *r.channels)));
  }
  if (r.sample_format) settings.push_back(depth(*r.sample_format, zh));
  if (r.loudness) {
    settings.push_back(zh ? fmt::format("响度标准化到 {} LUFS", r.loudness->lufs)
                          : fmt::format("loudness normalized to {} LUFS", r.loudness->lufs));
  }
  if (!settings.empty()) {
    s += zh ? fmt::format("（{}）", fmt::join(settings, "，"))
            : fmt::format(" ({})", fmt::join(settings, ", "));
  }
  if (!r.output.empty())
    s += zh ? fmt::format("，输出到 {}", r.output) : fmt::format(", to {}", r.output);
  if (!r.out_dir.empty()) {
    s += zh ? fmt::format("，放在 {} 中", r.out_dir) : fmt::format(", in the folder {}", r.out_dir);
  }
  return s;
}

}  // namespace

std::string explain(const Understanding& u) {
  const bool zh = u.language == Language::kChinese;
  std::string s = zh ? fmt::format("从 {} 提取{}，{}，{}。", sources(u, zh),
                                   track(u.request.track, zh), range(u, zh), conversion(u, zh))
                     : fmt::format("Extract {} from {}, {}, {}.", track(u.request.track, zh),
                                   sources(u, zh), range(u, zh), conversion(u, zh));
  for (const auto& n : u.notes)
    s += zh ? fmt::format("注意：{}。", n) : fmt::format(" Note: {}.", n);
  return s;
}

}  // namespace peel::nl

namespace peel::nl {

namespace {

std::string channels_words(int n, bool zh) {
  if (n == 1) return zh ? "单声道" : "mono";
  if (n == 2) return zh ? "立体声" : "stereo";
  return zh ? fmt::format("{} 声道", n) : fmt::format("{} channels", n);
}

// The source track: its number, codec and shape, language and title where it has them.
std::string source_track(const AudioTrack& t, bool zh) {
  std::vector<std::string> parts = {t.codec};
  if (t.sample_rate > 0) parts.push_back(fmt::format("{} Hz", t.sample_rate));
  if (t.channels > 0) parts.push_back(channels_words(t.channels, zh));
  if (!t.lang.empty()) parts.push_back(t.lang);
  if (!t.title.empty())
    parts.push_back(zh ? fmt::format("“{}”", t.title) : fmt::format("\"{}\"", t.title));
  return zh ? fmt::format("第 {} 条音轨（{}）", t.number, fmt::join(parts, "，"))
            : fmt::format("audio track {} ({})", t.number, fmt::join(parts, ", "));
}

std::string plan_range(const OutputPlan& p, bool zh) {
  if (p.from == 0 && !p.to) return zh ? "整个文件" : "the whole file";
  if (!p.to) {
    return zh ? fmt::format("从 {} 到结尾", format_time(p.from))
              : fmt::format("from {} to the end", format_time(p.from));
  }
  return zh ? fmt::format("{} 到 {}", format_time(p.from), format_time(*p.to))
            : fmt::format("from {} to {}", format_time(p.from), format_time(*p.to));
}

// What the output holds when it is encoded: codec, rate, channels, bitrate or quality, depth.
std::string encoding(const OutputPlan& p, bool zh) {
  std::vector<std::string> parts = {p.codec, fmt::format("{} Hz", p.sample_rate),
                                    channels_words(p.channels, zh)};
  if (p.bitrate) parts.push_back(kbits(*p.bitrate));
  if (p.quality) {
    parts.push_back(zh ? fmt::format("VBR 质量 {}", *p.quality)
                       : fmt::format("VBR quality {}", *p.quality));
  }
  if (!p.sample_format.empty()) parts.push_back(depth(p.sample_format, zh));
  if (p.loudness) {
    parts.push_back(zh ? fmt::format("响度标准化到 {} LUFS", p.loudness->lufs)
                       : fmt::format("loudness normalized to {} LUFS", p.loudness->lufs));
  }
  return fmt::format("{}", fmt::join(parts, zh ? "，" : ", "));
}

// Why a plan re-encodes, in Chinese, from what differs between the plan and its source (the
// English comes from the plan's own reason).
std::string why_zh(const Understanding& u, const OutputPlan& p) {
  if (u.request.copy_policy == CopyPolicy::kReencode) return "按要求重新编码";
  std::vector<std::string> needs;
  if (p.from > 0 || p.to) needs.emplace_back("精确到采样点的剪切");
  if (p.sample_rate != p.track.sample_rate) needs.emplace_back("重采样");
  if (p.channels != p.track.channels) needs.emplace_back("改变声道数");
  if (u.request.bitrate) needs.emplace_back("指定的比特率");
  if (u.request.quality) needs.emplace_back("指定的 VBR 质量");
  if (u.request.sample_format) needs.emplace_back("指定的位深");
  if (u.request.loudness) needs.emplace_back("响度标准化");
  if (needs.empty())
    return fmt::format(".{} 装不下 {} 音频，需要重新编码", p.format, p.track.codec);
  return fmt::format("{}需要解码后重新编码", fmt::join(needs, "、"));
}

std::string said(const Understanding& u, std::string_view key) {
  const auto it = u.said.find(std::string(key));
  return it == u.said.end() ? std::string() : it->second;
}

}  // namespace

InputRequest for_input(const Understanding& u, const std::string& input, Micros duration) {
  InputRequest r;
  r.request = u.request;
  r.request.inputs = {input};
  if (!u.from_end || duration <= 0) return r;
  if (*u.from_end >= duration) {
    // Nothing before the start to leave out: all of the file, and a word that it is shorter.
    r.request.from.reset();
    const bool zh = u.language == Language::kChinese;
    r.notes.push_back(zh ? fmt::format("{} 只有 {} 长，比要求的最后 {} 短，所以取整个文件", input,
                                       format_time(duration), format_time(*u.from_end))
                         : fmt::format("{} is only {} long, shorter than the last {} asked for, "
                                       "so all of it is taken",
                                       input, format_time(duration), format_time(*u.from_end)));
  } else {
    r.request.from = duration - *u.from_end;
  }
  return r;
}

std::string explain(const Understanding& u, const std::vector<OutputPlan>& plans,
                    const std::vector<std::string>& notes) {
  const bool zh = u.language == Language::kChinese;
  std::string s;
  for (const auto& p : plans) {
    const std::string track = source_track(p.track, zh);
    const std::string range = plan_range(p, zh);
    if (zh) {
      s += p.mode == Mode::kCopy
               ? fmt::format("从 {} 提取{}，{}，原样复制到 {}，不重新编码，不损失音质。", p.input,
                             track, range, p.output)
               : fmt::format("从 {} 提取{}，{}，重新编码为 {}（{}）：{}。", p.input, track, range,
                             p.output, encoding(p, zh), why_zh(u, p));
    } else {
      s += (s.empty() ? "" : " ") +
           (p.mode == Mode::kCopy
                ? fmt::format("Extract {} from {}, {}, copied as it is into {}. Why: {}.", track,
                              p.input, range, p.output, p.reason)
                : fmt::format("Extract {} from {}, {}, re-encoded into {} as {}. Why: {}.", track,
                              p.input, range, p.output, encoding(p, zh), p.reason));
    }
  }
  for (const auto* list : {&u.notes, &notes}) {
    for (const auto& n : *list)
      s += zh ? fmt::format("注意：{}。", n) : fmt::format(" Note: {}.", n);
  }
  return s;
}

std::string explain_refusal(const Understanding& u, const Error& e) {
  const bool zh = u.language == Language::kChinese;
  auto q = [&](const std::string& w) { return zh ? "“" + w + "”" : "\"" + w + "\""; };
  std::vector<std::string> words;
  auto add = [&](std::string_view key) {
    const std::string w = said(u, key);
    if (!w.empty() && std::find(words.begin(), words.end(), w) == words.end()) words.push_back(w);
  };
  switch (e.code) {
    case ErrorCode::kCannotCopy: {
      const std::string copy = said(u, "copy_policy");
      const std::string format = said(u, "format");
      if (copy.empty()) break;
      if (!format.empty() && format != copy) {
        return zh ? fmt::format(
                        "{}要求保持音频原样，而{}装不下这样的音频：两者只能选一个。要无损，"
                        "请说 flac（无损转换）。",
                        q(copy), q(format))
                  : fmt::format(
                        "{} asks for the audio as it is, and {} for a format that cannot "
                        "hold it as it is: say which one matters (flac converts it "
                        "without loss).",
                        q(copy), q(format));
      }
      add("copy_policy");
      add("bitrate");
      add("sample_rate");
      add("channels");
      add("sample_format");
      break;
    }
    case ErrorCode::kBadRange:
      add("from");
      add("to");
      add("duration");
      add("from_end");
      break;
    case ErrorCode::kTrackNotFound:
      add("track");
      add("lang");
      add("title");
      break;
    case ErrorCode::kBadOutputOption:
      add("format");
      add("bitrate");
      add("quality");
      add("sample_rate");
      add("channels");
      add("sample_format");
      add("loudness");
      add("purpose");
      break;
    default:
      break;
  }
  if (words.empty()) return "";
  std::vector<std::string> shown;
  for (const auto& w : words) shown.push_back(q(w));
  return zh ? fmt::format("这是{}所要求的；请改一下再试。", fmt::join(shown, "和"))
            : fmt::format("That is what {} asked for; say it another way and try again.",
                          fmt::join(shown, " and "));
}

}  // namespace peel::nl
