// Fixture recipes.
#include "support/fixtures.h"

#include "support/support.h"

namespace peel::test {

namespace {

const std::string kStep =
    "aevalsrc=exprs='0.5*sin(2*PI*440*t)*gte(t,2)|0.5*sin(2*PI*660*t)*gte(t,2)':s=48000:d=6";
const std::string kVideo = "testsrc=size=160x120:rate=25:duration=6";

std::vector<std::string> av(const std::vector<std::string>& audio_codec) {
  std::vector<std::string> a = {"-f",   "lavfi",   "-i",      kVideo,     "-f",   "lavfi",
                                "-i",   kStep,     "-map",    "0:v",      "-map", "1:a",
                                "-c:v", "libx264", "-preset", "ultrafast"};
  a.insert(a.end(), audio_codec.begin(), audio_codec.end());
  return a;
}

}  // namespace

std::string mp4_h264_aac() { return fixture("step.mp4", av({"-c:a", "aac", "-b:a", "128k"})); }
std::string mkv_h264_pcm16() { return fixture("step-pcm16.mkv", av({"-c:a", "pcm_s16le"})); }
std::string mkv_flac24() {
  return fixture("step-flac24.mkv", av({"-c:a", "flac", "-sample_fmt", "s32"}));
}
std::string mkv_opus() { return fixture("step-opus.mkv", av({"-c:a", "libopus", "-b:a", "96k"})); }
std::string webm_vp9_opus() {
  return fixture("step.webm",
                 {"-f", "lavfi", "-i", kVideo, "-f", "lavfi", "-i", kStep, "-c:v", "libvpx-vp9",
                  "-deadline", "realtime", "-cpu-used", "8", "-b:v", "100k", "-c:a", "libopus"});
}
std::string ts_h264_aac() { return fixture("step.ts", av({"-c:a", "aac", "-b:a", "128k"})); }
std::string avi_mp3() {
  return fixture("step-mp3.avi", av({"-c:a", "libmp3lame", "-b:a", "192k"}));
}
std::string mov_pcm24() { return fixture("step-pcm24.mov", av({"-c:a", "pcm_s24be"})); }
std::string mkv_two_tracks() {
  return fixture("two-tracks.mkv", {"-f",
                                    "lavfi",
                                    "-i",
                                    kVideo,
                                    "-f",
                                    "lavfi",
                                    "-i",
                                    kStep,
                                    "-f",
                                    "lavfi",
                                    "-i",
                                    "sine=frequency=1000:sample_rate=44100:duration=6",
                                    "-map",
                                    "0:v",
                                    "-map",
                                    "1:a",
                                    "-map",
                                    "2:a",
                                    "-c:v",
                                    "libx264",
                                    "-preset",
                                    "ultrafast",
                                    "-c:a",
                                    "aac",
                                    "-metadata:s:a:0",
                                    "language=eng",
                                    "-metadata:s:a:0",
                                    "title=Main",
                                    "-metadata:s:a:1",
                                    "language=jpn",
                                    "-metadata:s:a:1",
                                    "title=Commentary",
                                    "-disposition:a:0",
                                    "0",
                                    "-disposition:a:1",
                                    "default"});
}
std::string mp4_51() {
  return fixture("surround.mp4",
                 {"-f", "lavfi", "-i", kVideo, "-f", "lavfi", "-i",
                  "aevalsrc=exprs='0.1*sin(2*PI*200*t)|0.1*sin(2*PI*300*t)|0.1*sin(2*PI*400*t)|"
                  "0.1*sin(2*PI*50*t)|0.1*sin(2*PI*500*t)|0.1*sin(2*PI*600*t)':s=48000:d=6:"
                  "channel_layout=5.1",
                  "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"});
}
std::string flv_aac() { return fixture("step.flv", av({"-c:a", "aac", "-b:a", "128k"})); }
std::string mp4_video_only() {
  return fixture("video-only.mp4",
                 {"-f", "lavfi", "-i", kVideo, "-c:v", "libx264", "-preset", "ultrafast"});
}
std::string mp4_tagged() {
  const std::string meta =
      text_fixture("tags.ffmeta",
                   ";FFMETADATA1\n"
                   "title=Peel Test\nartist=The Artist\nalbum=The Album\n"
                   "date=2024\ncomment=A comment\n"
                   "[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=2000\ntitle=One\n"
                   "[CHAPTER]\nTIMEBASE=1/1000\nSTART=2000\nEND=4000\ntitle=Two\n"
                   "[CHAPTER]\nTIMEBASE=1/1000\nSTART=4000\nEND=6000\ntitle=Three\n");
  return fixture("tagged.mp4", {"-f",
                                "lavfi",
                                "-i",
                                kVideo,
                                "-f",
                                "lavfi",
                                "-i",
                                kStep,
                                "-i",
                                meta,
                                "-map",
                                "0:v",
                                "-map",
                                "1:a",
                                "-map_metadata",
                                "2",
                                "-map_chapters",
                                "2",
                                "-c:v",
                                "libx264",
                                "-preset",
                                "ultrafast",
                                "-c:a",
                                "aac"});
}
std::string mp4_delayed_audio() {
  return fixture("delayed.mp4",
                 {"-f",    "lavfi",   "-i",      kVideo,      "-itsoffset", "0.5",  "-f",
                  "lavfi", "-i",      kStep,     "-map",      "0:v",        "-map", "1:a",
                  "-c:v",  "libx264", "-preset", "ultrafast", "-c:a",       "aac"});
}

std::string mkv_delayed_video() {
  return fixture("late-video.mkv",
                 {"-itsoffset", "0.5",     "-f",      "lavfi",     "-i",   kVideo,     "-f",
                  "lavfi",      "-i",      kStep,     "-map",      "0:v",  "-map",     "1:a",
                  "-c:v",       "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le"});
}
std::string mkv_vfr_pcm16() {
  // Frames 50 onward are pushed 0.3 s later: a real gap in the video timeline.
  return fixture("vfr.mkv", {"-f",        "lavfi",
                             "-i",        kVideo,
                             "-f",        "lavfi",
                             "-i",        kStep,
                             "-map",      "0:v",
                             "-map",      "1:a",
                             "-vf",       "setpts='N/(25*TB)+gte(N,50)*0.3/TB'",
                             "-fps_mode", "vfr",
                             "-c:v",      "libx264",
                             "-preset",   "ultrafast",
                             "-c:a",      "pcm_s16le"});
}
std::string mp3_lame() {
  return fixture("step.mp3", {"-f", "lavfi", "-i", kStep, "-c:a", "libmp3lame", "-b:a", "160k"});
}
std::string mov_aac() { return fixture("step.mov", av({"-c:a", "aac", "-b:a", "128k"})); }
std::string wmv_wma() {
  return fixture("step.wmv", {"-f", "lavfi", "-i", kVideo, "-f", "lavfi", "-i", kStep, "-c:v",
                              "wmv2", "-c:a", "wmav2", "-b:a", "128k"});
}
std::string mkv_five_minutes() {
  return fixture("5min.mkv",
                 {"-f", "lavfi", "-i", "color=black:size=32x32:rate=1:duration=300", "-f", "lavfi",
                  "-i", "sine=frequency=440:sample_rate=48000:duration=300", "-ac", "2", "-c:v",
                  "libx264", "-preset", "ultrafast", "-c:a", "aac"});
}

}  // namespace peel::test
