// Builds the plain-words plan from the Request, so what is said is exactly what will run.
#include "nl/explain.h"

#include <fmt/format.h>

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
