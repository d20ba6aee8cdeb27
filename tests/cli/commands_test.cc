// peel probe, peel formats, --dry-run and its ffmpeg command, -ss/-to/-t aliases.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/fixtures.h"
#include "support/support.h"

namespace peel::test {
namespace {

TEST(Probe, JsonAgreesWithFfprobe) {
  auto r = peel({"probe", "--json", mkv_two_tracks()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto file = json_of(r)["files"][0];
  const auto oracle = ffprobe(mkv_two_tracks());
  EXPECT_EQ(file["container"], oracle["format"]["format_name"]);
  EXPECT_NEAR(file["duration"].get<double>(),
              std::stod(oracle["format"]["duration"].get<std::string>()), 0.001);
  ASSERT_EQ(file["audio"].size(), 2u);
  ASSERT_EQ(file["video"].size(), 1u);
  int n = 0;
  for (const auto& s : oracle["streams"]) {
    if (s["codec_type"] != "audio") continue;
    const auto& t = file["audio"][n++];
    EXPECT_EQ(t["track"], n);
    EXPECT_EQ(t["stream_index"], s["index"]);
    EXPECT_EQ(t["codec"], s["codec_name"]);
    EXPECT_EQ(t["sample_rate"], std::stoi(s["sample_rate"].get<std::string>()));
    EXPECT_EQ(t["channels"], s["channels"]);
    EXPECT_EQ(t["channel_layout"], s["channel_layout"]);
    EXPECT_EQ(t["language"], s["tags"]["language"]);
    EXPECT_EQ(t["title"], s["tags"]["title"]);
    EXPECT_EQ(t["default"], s["disposition"]["default"] == 1);
  }
  EXPECT_EQ(file["video"][0]["codec"], "h264");
  EXPECT_EQ(file["video"][0]["width"], 160);
  auto human = peel({"probe", mkv_two_tracks()});
  EXPECT_NE(human.out.find("audio track 2"), std::string::npos);
}

// What FFmpeg says while opening a file is shown, not lost: an mp3 behind 3,000 bytes of junk
// opens with a warning ffprobe prints too.
TEST(Probe, ShowsWhatFfmpegSaidWhileOpening) {
  const std::string mp3 =
      fixture("probe-junk.mp3", {"-f", "lavfi", "-i", "sine=d=2", "-c:a", "libmp3lame"});
  TempDir dir;
  const std::string junk = dir / "junk.mp3";
  {
    std::ofstream out(junk, std::ios::binary);
    for (int i = 0; i < 3000; ++i) out.put(static_cast<char>((i * 7919 + 13) & 0xff));
    std::ifstream in(mp3, std::ios::binary);
    out << in.rdbuf();
  }
  const auto oracle = run({"ffprobe", "-v", "warning", junk});
  ASSERT_NE(oracle.err.find("low score"), std::string::npos) << oracle.err;
  auto r = peel({"probe", "--json", junk});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto log = json_of(r)["files"][0]["log"];
  ASSERT_TRUE(log.is_array());
  bool said = false;
  for (const auto& line : log) {
    said = said || line.get<std::string>().find("low score") != std::string::npos;
  }
  EXPECT_TRUE(said) << log;
  EXPECT_NE(peel({"probe", junk}).out.find("ffmpeg: "), std::string::npos);
  EXPECT_TRUE(json_of(peel({"probe", "--json", mkv_two_tracks()}))["files"][0]["log"].empty());
}

TEST(Formats, ListsEveryFormatOfTheContract) {
  auto r = peel({"formats", "--json"});
  ASSERT_EQ(r.exit_code, 0);
  std::set<std::string> names;
  for (const auto& f : json_of(r)) {
    if (f["selectable"]) names.insert(f["name"]);
  }
  EXPECT_EQ(names, (std::set<std::string>{"mp3", "aac", "m4a", "flac", "wav", "opus", "ogg", "mka",
                                          "pcm"}));
  const std::string table = peel({"formats"}).out;
  for (const auto& name : names)
    EXPECT_NE(table.find("\n" + name + " "), std::string::npos) << name;
}

TEST(DryRun, WritesNothingAndExplainsItself) {
  TempDir dir;
  auto r = peel({mp4_h264_aac(), "-d", dir.path(), "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(dir.entries().empty());
  EXPECT_NE(r.out.find("copy"), std::string::npos);
  EXPECT_NE(r.out.find("ffmpeg"), std::string::npos);
  EXPECT_NE(r.out.find(dir / "step.m4a"), std::string::npos);
  auto cut = peel({mp4_h264_aac(), "-d", dir.path(), "--from", "1", "--dry-run"});
  EXPECT_NE(cut.out.find("sample-exact"), std::string::npos) << cut.out;
}

// The ffmpeg command printed by --dry-run does the same job: same codec, same length.
TEST(DryRun, TheEquivalentFfmpegCommandMatchesWhatPeelWrites) {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
  };
  for (const auto& c :
       std::vector<Case>{{{mp4_h264_aac(), "-o", dir / "a.m4a"}},
                         {{mkv_opus(), "-o", dir / "b.opus"}},
                         {{mkv_flac24(), "--from", "1", "-t", "2", "-o", dir / "c.wav"}},
                         {{mkv_two_tracks(), "--lang", "eng", "-b", "128k", "--sample-rate",
                           "44100", "-o", dir / "d.mp3"}}}) {
    auto args = c.args;
    args.push_back("--dry-run");
    args.push_back("--json");
    auto plan = peel(args);
    ASSERT_EQ(plan.exit_code, 0) << plan.err;
    const auto p = json_of(plan)["outputs"][0];
    const std::string out = p["output"];
    const std::string cmd = p["ffmpeg_command"];
    auto ff = run({"bash", "-c", cmd + " -v error"});
    ASSERT_EQ(ff.exit_code, 0) << cmd << "\n" << ff.err;
    const std::string by_ffmpeg = dir / "ffmpeg-output";
    std::filesystem::rename(out, by_ffmpeg);
    ASSERT_EQ(peel(c.args).exit_code, 0);
    const auto a = ffprobe(out)["streams"][0];
    const auto b = ffprobe(by_ffmpeg)["streams"][0];
    EXPECT_EQ(a["codec_name"], b["codec_name"]) << cmd;
    EXPECT_EQ(a["sample_rate"], b["sample_rate"]) << cmd;
    EXPECT_EQ(a["channels"], b["channels"]) << cmd;
    EXPECT_NEAR(static_cast<double>(decode_f32(out).size()),
                static_cast<double>(decode_f32(by_ffmpeg).size()), 2 * 2048)
        << cmd;
    std::filesystem::remove(by_ffmpeg);
    std::filesystem::remove(out);
  }
}

TEST(Aliases, FfmpegSpellingsOfTheRange) {
  TempDir dir;
  auto r = peel({mkv_h264_pcm16(), "-ss", "1:00.5", "-to", "1:02", "-o", dir / "x.wav", "--json"});
  EXPECT_EQ(r.exit_code, 2) << "1:00.5 is past the 6 s file";
  auto ok = peel({mkv_h264_pcm16(), "-ss", "0.5", "-t", "1.5s", "-o", dir / "y.wav", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(json_of(ok)["outputs"][0]["samples"], 72000);
}

// ---- Issue 9: what a new user tripped on ------------------------------------------------------

namespace fs = std::filesystem;

// 15 s of noise at 44.1 kHz in AAC: its decode has 661,504 samples (the issue's numbers), which
// is not a whole number of milliseconds.
std::string mp4_44k() {
  return fixture("talk-44k.mp4", {"-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=15",
                                  "-f", "lavfi", "-i",
                                  "anoisesrc=sample_rate=44100:duration=15:amplitude=0.3", "-ac",
                                  "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"});
}

// Every time printed in `text`: "m:ss" or "h:mm:ss", with any decimals. (No std::regex: GCC 12
// warns inside it under the sanitizers.)
std::vector<std::string> times_in(const std::string& text) {
  std::vector<std::string> found;
  auto digit = [&](size_t i) {
    return i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]));
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (!digit(i) || (i > 0 && (digit(i - 1) || text[i - 1] == ':' || text[i - 1] == '.'))) {
      continue;
    }
    size_t j = i;
    while (digit(j)) ++j;
    int fields = 1;
    while (j < text.size() && text[j] == ':' && digit(j + 1) && digit(j + 2)) {
      j += 3;
      ++fields;
    }
    if (fields < 2) continue;
    if (j < text.size() && text[j] == '.' && digit(j + 1)) {
      ++j;
      while (digit(j)) ++j;
    }
    found.push_back(text.substr(i, j - i));
    i = j;
  }
  return found;
}

// Point 8: text and JSON agree on durations, by one rule: milliseconds in text (always three
// decimals, or none on a whole second), exact seconds (samples / rate) in JSON.
TEST(Durations, TextAndJsonAgreeByOneRule) {
  TempDir dir;
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"-o", dir / "x.wav"},
        std::vector<std::string>{"-o", dir / "x.flac", "--from", "0.0145"},
        std::vector<std::string>{"-o", dir / "x.m4a", "--copy", "--from", "5.01"}}) {
    SCOPED_TRACE(extra[1]);
    std::vector<std::string> args = {mp4_44k(), "-y"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto with_json = args;
    with_json.push_back("--json");
    const auto j = json_of(peel(with_json));
    ASSERT_EQ(j["outputs"].size(), 1u) << j.dump(2);
    const auto& o = j["outputs"][0];
    const int64_t samples = o["samples"];
    EXPECT_EQ(o["duration"].get<double>(), static_cast<double>(samples) / 44100);
    // A transcode's samples are what ffmpeg decodes of the output.
    if (extra.size() < 4) {
      EXPECT_EQ(static_cast<int64_t>(decode_s16(extra[1]).size()) / 2, samples);
    }

    const auto text = peel(args);
    ASSERT_EQ(text.exit_code, 0) << text.err;
    const auto times = times_in(text.out);
    ASSERT_EQ(times.size(), 2u) << text.out;  // start–end
    for (const auto& t : times) {
      const auto dot = t.find('.');
      EXPECT_TRUE(dot == std::string::npos || t.size() - dot - 1 == 3) << t;
    }
    // The text's end is the JSON's, to the millisecond.
    auto millis = [](const std::string& t) {
      const auto colon = t.rfind(':');
      return std::llround((std::stod(t.substr(0, colon)) * 60 + std::stod(t.substr(colon + 1))) *
                          1000);
    };
    EXPECT_EQ(millis(times[1]), std::llround(o["end"].get<double>() * 1000)) << text.out;
    EXPECT_EQ(millis(times[0]), std::llround(o["start"].get<double>() * 1000)) << text.out;
  }
}

// Point 13: docs/cli.md said wav carries no tags; it does (RIFF INFO), as ffprobe shows.
TEST(Tags, WavCarriesThem) {
  TempDir dir;
  const std::string out = dir / "t.wav";
  ASSERT_EQ(peel({mp4_tagged(), "-o", out}).exit_code, 0);
  const auto tags = ffprobe(out)["format"]["tags"];
  EXPECT_EQ(tags["title"], "Peel Test");
  EXPECT_EQ(tags["artist"], "The Artist");
  EXPECT_EQ(tags["album"], "The Album");
  ASSERT_EQ(peel({mp4_tagged(), "-o", out, "-y", "--no-metadata"}).exit_code, 0);
  EXPECT_FALSE(ffprobe(out)["format"].contains("tags") &&
               ffprobe(out)["format"]["tags"].contains("title"));
}

// Point 6: -d DIR that does not exist is created for one input as for several, and said; a
// dry run says it would create it and creates nothing.
TEST(OutputFolder, DashDIsCreatedForOneInputAsForSeveral) {
  TempDir dir;
  const std::string one = dir / "one/deeper";
  auto plan = peel({mp4_h264_aac(), "-d", one, "--dry-run"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("would create the folder " + one), std::string::npos) << plan.out;
  auto plan_json = json_of(peel({mp4_h264_aac(), "-d", one, "--dry-run", "--json"}));
  EXPECT_EQ(plan_json["outputs"][0]["new_folder"], one);
  EXPECT_TRUE(dir.entries().empty()) << "a dry run created something";

  auto r = peel({mp4_h264_aac(), "-d", one});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("peel: created the folder " + one), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(one + "/step.m4a"));

  const std::string several = dir / "several";
  auto batch = peel({mp4_h264_aac(), mkv_opus(), "-d", several});
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  EXPECT_NE(batch.err.find("peel: created the folder " + several), std::string::npos) << batch.err;
  EXPECT_TRUE(fs::exists(several + "/step.m4a"));
  EXPECT_TRUE(fs::exists(several + "/step-opus.opus"));

  // In JSON the output says the folder it created; the next run creates nothing.
  const std::string third = dir / "third";
  auto j = json_of(peel({mp4_h264_aac(), "-d", third, "--json"}));
  EXPECT_EQ(j["outputs"][0]["new_folder"], third);
  j = json_of(peel({mp4_h264_aac(), "-d", third, "--json", "-y"}));
  EXPECT_TRUE(j["outputs"][0]["new_folder"].is_null());
}

// Point 13: a folder without -R suggests -R.
TEST(Messages, AFolderWithoutRecursiveSuggestsIt) {
  TempDir dir;
  fs::copy_file(mp4_h264_aac(), dir / "a.mp4");
  auto r = peel({dir.path(), "--json"});
  EXPECT_EQ(r.exit_code, 2);
  const auto j = json_of(r);
  ASSERT_EQ(j["errors"].size(), 1u) << j.dump(2);
  EXPECT_EQ(j["errors"][0]["code"], 2002);
  const std::string message = j["errors"][0]["message"];
  EXPECT_NE(message.find("add -R"), std::string::npos) << message;
  auto plain = peel({dir.path()});
  EXPECT_NE(plain.err.find("add -R"), std::string::npos) << plain.err;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a.mp4"});
}

// Point 14: --version prints the version; --help reads like a person wrote it.
TEST(Messages, VersionAndHelp) {
  auto v = peel({"--version"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  int major = -1, minor = -1, patch = -1;
  char end = 0;
  EXPECT_EQ(std::sscanf(v.out.c_str(), "peel %d.%d.%d%c", &major, &minor, &patch, &end), 4)
      << v.out;
  EXPECT_EQ(end, '\n') << v.out;
  EXPECT_EQ(v.err, "");

  const auto help = peel({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("-j,--jobs N "), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--from TIME "), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("-b,--bitrate RATE "), std::string::npos) << help.out;
  for (const char* machine : {"INT", "FLOAT", "TEXT:", ":{", "in ["}) {
    EXPECT_EQ(help.out.find(machine), std::string::npos) << machine << " in:\n" << help.out;
  }
  const auto watch_help = peel({"watch", "--help"});
  EXPECT_NE(watch_help.out.find("--settle SECONDS "), std::string::npos) << watch_help.out;
  EXPECT_EQ(watch_help.out.find("FLOAT"), std::string::npos) << watch_help.out;
}

}  // namespace
}  // namespace peel::test
