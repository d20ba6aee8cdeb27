// probe(): MediaInfo from an opened input.
#include "engine/probe.h"

#include <sys/stat.h>

#include <algorithm>
#include <optional>

#include "engine/demux.h"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/intreadwrite.h>
}

namespace peel {

namespace {

std::string tag(const AVDictionary* dict, const char* key) {
  const AVDictionaryEntry* e = av_dict_get(dict, key, nullptr, 0);
  return e != nullptr ? e->value : "";
}

Micros to_micros(int64_t ts, AVRational tb) {
  return ts == AV_NOPTS_VALUE ? 0 : av_rescale_q(ts, tb, av::micros_tb());
}

// Samples of encoder delay the stream states. MP4 states it in its edit list, which FFmpeg
// applies by giving the first index entry (and packet) a timestamp before zero.
int64_t delay_of(const AVStream& s, bool mov) {
  const AVCodecParameters& par = *s.codecpar;
  int64_t delay = par.initial_padding;
  if (par.codec_id == AV_CODEC_ID_OPUS && par.extradata_size >= 12) {
    delay = std::max<int64_t>(delay, AV_RL16(par.extradata + 10));
  }
  if (mov && par.sample_rate > 0 && avformat_index_get_entries_count(&s) > 0) {
    const AVIndexEntry* first = avformat_index_get_entry(const_cast<AVStream*>(&s), 0);
    if (first != nullptr && first->timestamp < 0) {
      delay = std::max(
          delay, av_rescale_q(-first->timestamp, s.time_base, AVRational{1, par.sample_rate}));
    }
  }
  return delay;
}

// Where the file's first heard sample or frame is: its streams' starts, each audio stream's
// after its priming (µs).
Micros heard_start(const AVFormatContext& ctx, bool mov) {
  std::optional<Micros> start;
  for (unsigned i = 0; i < ctx.nb_streams; ++i) {
    const AVStream& s = *ctx.streams[i];
    if (s.start_time == AV_NOPTS_VALUE) continue;
    if (s.codecpar->codec_type != AVMEDIA_TYPE_AUDIO &&
        s.codecpar->codec_type != AVMEDIA_TYPE_VIDEO) {
      continue;
    }
    Micros t = to_micros(s.start_time, s.time_base);
    // (A start at or after zero is already the first heard sample: MP4's edit list, mp3's
    // LAME header.)
    if (t < 0 && s.codecpar->codec_type == AVMEDIA_TYPE_AUDIO && s.codecpar->sample_rate > 0) {
      t += delay_of(s, mov) * kMicrosPerSecond / s.codecpar->sample_rate;
    }
    start = start ? std::min(*start, t) : t;
  }
  return start.value_or(ctx.start_time);
}

}  // namespace

namespace engine {

MediaInfo describe(const AVFormatContext& ctx, const std::string& path) {
  const bool mov = std::string_view(ctx.iformat->name).starts_with("mov,");
  // A fragmented MP4's 'moov' lists only some samples, or none, and FFmpeg reads the rest as
  // it goes: the durations it knows on opening are not the track's.
  const bool whole_index = mov && !av::mp4_layout(path).fragmented;
  MediaInfo info;
  info.path = path;
  info.container = ctx.iformat->name;
  info.container_long = ctx.iformat->long_name != nullptr ? ctx.iformat->long_name : "";
  // The timeline's zero: the first sample anyone hears. Codec priming is not heard: Opus in
  // Matroska starts 6.5 ms before zero with 6.5 ms of pre-skip, an MP4's AAC a frame before
  // zero with an edit list that skips it. Anything else before zero is real (an MPEG-TS whose
  // timestamps wrapped starts seconds before zero).
  info.start = ctx.start_time == AV_NOPTS_VALUE ? 0 : heard_start(ctx, mov);
  info.duration = ctx.duration == AV_NOPTS_VALUE ? 0 : ctx.duration;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) info.size = st.st_size;
  for (const AVDictionaryEntry* e = nullptr;
       (e = av_dict_get(ctx.metadata, "", e, AV_DICT_IGNORE_SUFFIX)) != nullptr;) {
    info.tags[e->key] = e->value;
  }
  info.chapters = static_cast<int>(ctx.nb_chapters);

  for (unsigned i = 0; i < ctx.nb_streams; ++i) {
    const AVStream* s = ctx.streams[i];
    const AVCodecParameters* par = s->codecpar;
    if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
      AudioTrack t;
      t.number = static_cast<int>(info.audio.size()) + 1;
      t.stream_index = static_cast<int>(i);
      t.codec = avcodec_get_name(par->codec_id);
      if (const char* p = avcodec_profile_name(par->codec_id, par->profile)) t.profile = p;
      t.sample_rate = par->sample_rate;
      t.channels = par->ch_layout.nb_channels;
      char layout[128] = {0};
      if (av_channel_layout_describe(&par->ch_layout, layout, sizeof(layout)) > 0) {
        t.channel_layout = layout;
      }
      t.bitrate = par->bit_rate;
      t.bits_per_sample =
          par->bits_per_raw_sample > 0 ? par->bits_per_raw_sample : par->bits_per_coded_sample;
      t.lang = tag(s->metadata, "language");
      if (t.lang == "und") t.lang.clear();
      t.title = tag(s->metadata, "title");
      if (t.title.empty()) t.title = tag(s->metadata, "handler_name");
      if (t.title == "SoundHandler" || t.title == "Core Media Audio") t.title.clear();
      t.is_default = (s->disposition & AV_DISPOSITION_DEFAULT) != 0;
      t.start = s->start_time == AV_NOPTS_VALUE
                    ? info.start
                    : std::max(info.start, to_micros(s->start_time, s->time_base));
      // Where the container gives no track duration (Matroska), the track lasts to the end
      // of the file, from wherever it starts.
      t.duration = s->duration != AV_NOPTS_VALUE
                       ? to_micros(s->duration, s->time_base)
                       : std::max<Micros>(0, info.duration - (t.start - info.start));
      if (whole_index && s->duration > 0 && par->sample_rate > 0) {
        t.samples = av_rescale_q(s->duration, s->time_base, AVRational{1, par->sample_rate});
      }
      t.delay = delay_of(*s, mov);
      info.audio.push_back(std::move(t));
    } else if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
      VideoStream v;
      v.stream_index = static_cast<int>(i);
      v.codec = avcodec_get_name(par->codec_id);
      v.width = par->width;
      v.height = par->height;
      if (s->avg_frame_rate.den != 0) v.fps = av_q2d(s->avg_frame_rate);
      v.attached_pic = (s->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0;
      info.video.push_back(std::move(v));
    }
  }
  return info;
}

}  // namespace engine

Result<MediaInfo> probe(Engine& engine, const std::string& path, const CancelToken& cancel) {
  auto file = engine::open_file(path, engine.limits(), cancel);
  if (!file) return file.error();
  return std::move((*file)->info);
}

Result<Input> Input::open(Engine& engine, const std::string& path, const CancelToken& cancel) {
  auto file = engine::open_file(path, engine.limits(), cancel);
  if (!file) return file.error();
  return Input(std::move(*file));
}

Input::Input(std::unique_ptr<engine::OpenFile> file) : file_(std::move(file)) {}
Input::Input(Input&&) noexcept = default;
Input& Input::operator=(Input&&) noexcept = default;
Input::~Input() = default;

const MediaInfo& Input::info() const { return file_->info; }

}  // namespace peel
