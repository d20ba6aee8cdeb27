// `peel remote`, black-box: the real `peel serve` on a loopback port driven by the client, the
// files it writes checked with ffprobe/ffmpeg, its config folder in a temporary
// XDG_CONFIG_HOME.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "http/http_support.h"
#include "support/fixtures.h"

namespace peel::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A home of its own for each test: the client id and token cache live below it, never in
// the real home; the files it extracts sit in it too.
class Remote : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("XDG_CONFIG_HOME", config.path().c_str(), 1);
    ::unsetenv("PEEL_SERVER");
  }
  void TearDown() override { ::unsetenv("XDG_CONFIG_HOME"); }

  // A copy of `fixture` in the work folder: outputs are written beside it.
  std::string input(const std::string& fixture, const std::string& name = "") {
    const std::string to = work / (name.empty() ? fs::path(fixture).filename().string() : name);
    fs::copy_file(fixture, to, fs::copy_options::overwrite_existing);
    return to;
  }
  RunResult remote(const Server& server, std::vector<std::string> args) {
    args.insert(args.begin(), {"remote", "--server", server.url()});
    RunResult r = peel(args);
    // Whatever it printed, the token is not in it.
    if (std::string t = cached_token(server); !t.empty()) {
      EXPECT_EQ(r.out.find(t), std::string::npos) << "the token was printed";
      EXPECT_EQ(r.err.find(t), std::string::npos) << "the token was printed";
    }
    return r;
  }
  std::string client_id() const { return slurp(config / "peel/client_id"); }
  std::string token_file(const Server& server) const {
    for (const auto& e : fs::directory_iterator(config / "peel/tokens")) {
      if (e.path().filename().string().find(server.url().substr(server.url().rfind(':') + 1)) !=
          std::string::npos) {
        return e.path().string();
      }
    }
    return "";
  }
  std::string cached_token(const Server& server) const {
    std::error_code ec;
    if (!fs::is_directory(config / "peel/tokens", ec)) return "";
    json j = json::parse(slurp(token_file(server)), nullptr, false);
    return j.is_object() ? j.value("token", "") : "";
  }
  int available(const Server& server) {
    auto r = remote(server, {"credits", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false).value("available", -1);
  }
  // The work folder's entries, hidden ones (temporary files) too.
  std::vector<std::string> entries() const { return work.entries(); }

  TempDir config;
  TempDir work;
};

// A TCP relay on a loopback port to a server's port that cuts the first PATCH it carries after
// `cut_after` bytes: a connection that drops in the middle of an upload.
class CuttingRelay {
 public:
  CuttingRelay(int to_port, size_t cut_after) : to_port_(to_port), cut_after_(cut_after) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof a;
    ::bind(listener_, reinterpret_cast<sockaddr*>(&a), size);
    ::listen(listener_, 16);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &size);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~CuttingRelay() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
    for (auto& t : connections_) t.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int patches() const { return patches_; }
  int heads() const { return heads_; }

 private:
  void accept_loop() {
    while (!stop_) {
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) return;
      connections_.emplace_back([this, client] { relay(client); });
    }
  }
  void relay(int client) {
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(to_port_));
    if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(client);
      ::close(server);
      return;
    }
    bool first = true;
    bool cutting = false;
    size_t sent = 0;
    char buffer[16384];
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    while (!stop_ && ::poll(fds, 2, 200) >= 0) {
      bool closed = false;
      for (int i = 0; i < 2 && !closed; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
        if (n <= 0) {
          closed = true;
          break;
        }
        if (i == 0 && first) {
          first = false;
          const std::string start(buffer, static_cast<size_t>(n));
          if (start.starts_with("PATCH ")) {
            cutting = patches_++ == 0;
          } else if (start.starts_with("HEAD ")) {
            ++heads_;
          }
        }
        if (i == 0 && cutting && (sent += static_cast<size_t>(n)) > cut_after_) {
          closed = true;  // the upload's connection drops here
          break;
        }
        if (::write(fds[1 - i].fd, buffer, static_cast<size_t>(n)) != n) closed = true;
      }
      if (closed) break;
    }
    ::close(client);
    ::close(server);
  }

  int to_port_;
  size_t cut_after_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> patches_{0};
  std::atomic<int> heads_{0};
  std::thread thread_;
  std::vector<std::thread> connections_;
};

double duration_of(const std::string& path) {
  return std::stod(ffprobe(path)["format"]["duration"].get<std::string>());
}

TEST_F(Remote, ExtractsMp3AndWavAsTheServerMakesThem) {
  Server server;
  const std::string in = input(mp4_h264_aac(), "talk.mp4");
  auto mp3 = remote(server, {in, "-f", "mp3"});
  ASSERT_EQ(mp3.exit_code, 0) << mp3.err;
  EXPECT_NE(mp3.out.find("talk.mp4 -> " + work / "talk.mp3"), std::string::npos) << mp3.out;
  json probe = ffprobe(work / "talk.mp3");
  EXPECT_EQ(probe["streams"][0]["codec_name"], "mp3");
  EXPECT_NEAR(duration_of(work / "talk.mp3"), 6.0, 0.1);

  // A WAV is the whole decode: what ffmpeg decodes of the source, sample for sample.
  auto wav = remote(server, {in, "-o", work / "out.wav"});
  ASSERT_EQ(wav.exit_code, 0) << wav.err;
  EXPECT_EQ(ffprobe(work / "out.wav")["streams"][0]["codec_name"], "pcm_s16le");
  EXPECT_TRUE(decode_s16(work / "out.wav") == decode_s16_track(mp4_h264_aac()))
      << "not ffmpeg's decode";

  // auto copies the AAC into .m4a: the same decoded audio as the source track.
  auto copy = remote(server, {in, "--json"});
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  json out = json_of(copy)["outputs"][0];
  EXPECT_EQ(out["mode"], "copy");
  EXPECT_EQ(out["output"], work / "talk.m4a");
  EXPECT_TRUE(decode_s16(work / "talk.m4a") == decode_s16(mp4_h264_aac()))
      << "the copy does not decode as the source track";
  for (const auto& e : entries()) EXPECT_FALSE(e.starts_with(".")) << "left behind: " << e;
}

// A connection that drops in the middle of the upload: HEAD says what arrived, and the upload
// goes on from there; the result is the same file.
TEST_F(Remote, AnUploadThatDropsGoesOnFromWhatArrived) {
  Server server;
  const std::string in = input(mp4_h264_aac(), "talk.mp4");
  const int port = std::stoi(server.url().substr(server.url().rfind(':') + 1));
  CuttingRelay relay(port, 64 * 1024);
  auto r = peel({"remote", "--server", relay.url(), in, "-f", "wav"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(relay.patches(), 2);
  EXPECT_GE(relay.heads(), 1);
  EXPECT_TRUE(decode_s16(work / "talk.wav") == decode_s16_track(mp4_h264_aac()));
}

TEST_F(Remote, ARangeIsCut) {
  Server server;
  const std::string in = input(mkv_h264_pcm16(), "clip.mkv");
  auto r = remote(server, {in, "--from", "1", "--to", "3", "-f", "wav", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json out = json_of(r)["outputs"][0];
  EXPECT_EQ(out["samples"], 96000);
  EXPECT_EQ(out["start"], 1.0);
  EXPECT_EQ(out["end"], 3.0);
  EXPECT_NEAR(duration_of(work / "clip.wav"), 2.0, 0.001);
  // ffmpeg's spellings too, and the same samples as ffmpeg's cut of the PCM source.
  auto ss = remote(server, {in, "-ss", "1", "-t", "2", "-o", work / "ss.wav"});
  ASSERT_EQ(ss.exit_code, 0) << ss.err;
  std::vector<int16_t> source = decode_s16(mkv_h264_pcm16());
  std::vector<int16_t> cut(source.begin() + 48000 * 2, source.begin() + 48000 * 2 * 3);
  EXPECT_TRUE(decode_s16(work / "ss.wav") == cut) << "not the source's samples from 1 s to 3 s";
}

TEST_F(Remote, JsonIsTheLocalCommandsJson) {
  Server server;
  const std::string in = input(mp4_h264_aac(), "talk.mp4");
  auto local = peel({in, "-f", "mp3", "-o", work / "local.mp3", "--json"});
  ASSERT_EQ(local.exit_code, 0) << local.err;
  auto r = remote(server, {in, "-f", "mp3", "-o", work / "remote.mp3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json a = json_of(local);
  json b = json_of(r);
  auto keys = [](const json& j) {
    std::set<std::string> k;
    for (const auto& [key, value] : j.items()) k.insert(key);
    return k;
  };
  EXPECT_EQ(keys(a), keys(b));
  ASSERT_EQ(b["outputs"].size(), 1u);
  EXPECT_EQ(keys(a["outputs"][0]), keys(b["outputs"][0]));
  for (const char* key : {"mode", "format", "codec", "track", "start", "end", "duration",
                          "sample_rate", "channels", "samples", "input"}) {
    EXPECT_EQ(a["outputs"][0][key], b["outputs"][0][key]) << key;
  }
  EXPECT_EQ(b["outputs"][0]["output"], work / "remote.mp3");
  EXPECT_EQ(b["outputs"][0]["bytes"], static_cast<int64_t>(fs::file_size(work / "remote.mp3")));
  EXPECT_TRUE(b["errors"].empty());

  // Errors have the local command's error objects.
  auto failed = remote(server, {in, "--track", "7", "--json"});
  EXPECT_EQ(failed.exit_code, 2);
  json e = json_of(failed)["errors"][0];
  auto local_failed = peel({in, "--track", "7", "--json"});
  EXPECT_EQ(keys(e), keys(json_of(local_failed)["errors"][0]));
  EXPECT_EQ(e["code"], 4004);
  EXPECT_EQ(e["name"], "track_not_found");
  EXPECT_EQ(e["field"], "track");
  EXPECT_EQ(e["input"], in);
}

TEST_F(Remote, TheClientIdIsKeptAndItsCreditsSpent) {
  Server server;
  const std::string in = input(mp4_h264_aac(), "talk.mp4");
  EXPECT_EQ(available(server), 100);
  const std::string id = client_id();
  ASSERT_FALSE(id.empty());
  struct stat st {};
  ASSERT_EQ(::stat((config / "peel/client_id").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(token_file(server).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ASSERT_EQ(remote(server, {in, "-f", "mp3"}).exit_code, 0);
  EXPECT_EQ(available(server), 99);
  ASSERT_EQ(remote(server, {in, "-f", "mp3", "-y"}).exit_code, 0);
  EXPECT_EQ(available(server), 98);
  EXPECT_EQ(client_id(), id);
  // The server knows that id: its own token for it sees the same balance.
  std::string trimmed = id.substr(0, id.find('\n'));
  Client same(server, trimmed);
  EXPECT_EQ(same.get("/api/credits/balance/simple").json()["data"]["available"], 98);

  // Another home is another client.
  TempDir other;
  ::setenv("XDG_CONFIG_HOME", other.path().c_str(), 1);
  EXPECT_EQ(available(server), 100);
  EXPECT_NE(slurp(other / "peel/client_id"), id);
}

TEST_F(Remote, ABadCachedTokenIsRenewed) {
  Server server;
  const std::string in = input(mp4_h264_aac(), "talk.mp4");
  ASSERT_EQ(available(server), 100);
  const std::string file = token_file(server);
  ASSERT_FALSE(file.empty());
  std::ofstream(file, std::ios::trunc) << "{ not json";
  auto r = remote(server, {in, "-f", "mp3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(cached_token(server).empty());

  // A token the server does not know (as after it expired): 1001, a new one, the same client.
  json cached = json::parse(slurp(file));
  cached["token"] = "not-a-token-this-server-gave";
  std::ofstream(file, std::ios::trunc) << cached.dump();
  auto again = remote(server, {in, "-f", "wav"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(cached_token(server), "not-a-token-this-server-gave");
  EXPECT_EQ(available(server), 98);
}

TEST_F(Remote, AnExistingOutputIsLeftAlone) {
  Server server;
  const std::string in = input(mp4_h264_aac(), "talk.mp4");
  std::ofstream(work / "talk.mp3") << "mine";
  auto r = remote(server, {in, "-f", "mp3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(work / "talk.mp3 already exists"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("add -y"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(work / "talk.mp3"), "mine");
  EXPECT_EQ(available(server), 100) << "nothing should have been exported";

  // With auto the name is known once the server has planned it: still refused, still untouched.
  std::ofstream(work / "talk.m4a") << "mine too";
  auto automatic = remote(server, {in});
  EXPECT_EQ(automatic.exit_code, 2);
  EXPECT_NE(automatic.err.find("already exists"), std::string::npos) << automatic.err;
  EXPECT_EQ(slurp(work / "talk.m4a"), "mine too");

  // The input itself, never.
  const std::string wav = input(mkv_h264_pcm16(), "sound.wav");
  auto itself = remote(server, {wav, "-f", "wav", "-y"});
  EXPECT_EQ(itself.exit_code, 2);
  EXPECT_NE(itself.err.find("is the input file itself"), std::string::npos) << itself.err;

  auto replaced = remote(server, {in, "-f", "mp3", "-y"});
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  EXPECT_EQ(ffprobe(work / "talk.mp3")["streams"][0]["codec_name"], "mp3");
  for (const auto& e : entries()) EXPECT_FALSE(e.starts_with(".")) << "left behind: " << e;
}

TEST_F(Remote, CreditsArePrinted) {
  Server server({"--initial-credits", "42"});
  auto r = remote(server, {"credits"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "42 credits available, 0 held for exports, 42 in all\n");
  auto j = remote(server, {"credits", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  json b = json::parse(j.out);
  EXPECT_EQ(b["available"], 42);
  EXPECT_EQ(b["frozen"], 0);
  EXPECT_EQ(b["total"], 42);
  EXPECT_EQ(b["credits_enabled"], true);
  // The server's URL from the environment, as the flag would give it.
  ::setenv("PEEL_SERVER", server.url().c_str(), 1);
  auto env = peel({"remote", "credits"});
  ::unsetenv("PEEL_SERVER");
  EXPECT_EQ(env.out, r.out) << env.err;
}

TEST_F(Remote, AskSaysWhatItDoesAndDownloadsTheResult) {
  Server server;
  const std::string in = input(mp4_h264_aac(), "talk.mp4");
  auto r = remote(server, {"ask", "extract the audio as flac", in});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Extract audio track 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("queued"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-> " + work / "talk.flac"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("{\""), std::string::npos) << "raw JSON printed:\n" << r.out;
  EXPECT_EQ(ffprobe(work / "talk.flac")["streams"][0]["codec_name"], "flac");
  EXPECT_TRUE(decode_s16(work / "talk.flac") == decode_s16_track(mp4_h264_aac()));

  // --json: the local command's shape; a word that asks for data is answered in words.
  auto j = remote(server, {"ask", "extract the audio as mp3", in, "-d", work / "out", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  json out = json_of(j)["outputs"][0];
  EXPECT_EQ(out["output"], work / "out/talk.mp3");
  EXPECT_EQ(out["new_folder"], work / "out");
  EXPECT_EQ(out["format"], "mp3");
  auto credits = remote(server, {"ask", "credits?", in});
  ASSERT_EQ(credits.exit_code, 0) << credits.err;
  EXPECT_NE(credits.out.find("credits available"), std::string::npos) << credits.out;

  // Not understood: the server's question, and exit 1.
  auto unclear = remote(server, {"ask", "translate this to french", in});
  EXPECT_EQ(unclear.exit_code, 1) << unclear.out;
  EXPECT_NE(unclear.err.find("did not understand"), std::string::npos) << unclear.err;
  EXPECT_FALSE(fs::exists(work / "talk.m4a"));
}

TEST_F(Remote, AFileThatIsNotMediaIsRefused) {
  Server server;
  const std::string notes = work / "notes.txt";
  std::ofstream(notes) << "not a video at all\n";
  auto r = remote(server, {notes, "-f", "mp3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("notes.txt is not a media file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("4001"), std::string::npos) << r.err;
  auto j = remote(server, {notes, "--json"});
  EXPECT_EQ(j.exit_code, 2);
  json e = json_of(j)["errors"][0];
  EXPECT_EQ(e["code"], 4001);
  EXPECT_EQ(e["name"], "unsupported_file");
  EXPECT_EQ(e["input"], notes);
  auto missing = remote(server, {work / "nowhere.mp4"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nowhere.mp4 does not exist"), std::string::npos) << missing.err;
  EXPECT_EQ(entries(), (std::vector<std::string>{"notes.txt"}));
}

TEST_F(Remote, AServerThatIsNotThereIsNamed) {
  const std::string in = input(mp4_h264_aac(), "talk.mp4");
  // A port nothing listens on: the server's, after it stopped.
  std::string url;
  {
    Server gone;
    url = gone.url();
  }
  auto r = peel({"remote", "--server", url, in, "-f", "mp3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot reach the peel server at " + url), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--server"), std::string::npos) << r.err;
  auto credits = peel({"remote", "--server", url, "credits"});
  EXPECT_EQ(credits.exit_code, 2);
  EXPECT_NE(credits.err.find(url), std::string::npos) << credits.err;
  EXPECT_EQ(entries(), (std::vector<std::string>{"talk.mp4"}));
}

TEST_F(Remote, FlagsTheServerCannotHonourAreRefused) {
  Server server;
  const std::string in = input(mp4_h264_aac(), "talk.mp4");
  for (std::vector<std::string> flags :
       {std::vector<std::string>{"--all-tracks"}, {"--dry-run"}, {"--name", "{stem}.x.{ext}"}}) {
    std::vector<std::string> args = {in};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = remote(server, args);
    EXPECT_EQ(r.exit_code, 1) << flags[0];
    EXPECT_NE(r.err.find(flags[0] + " is not available with peel remote"), std::string::npos)
        << r.err;
  }
  auto bad = remote(server, {in, "-b", "fast"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("is not a bitrate"), std::string::npos) << bad.err;
  EXPECT_EQ(available(server), 100);
}

TEST_F(Remote, TheServersRefusalsKeepTheirWordsAndCode) {
  Server server;
  const std::string in = input(mp4_h264_aac(), "talk.mp4");
  auto track = remote(server, {in, "--track", "7"});
  EXPECT_EQ(track.exit_code, 2);
  EXPECT_NE(track.err.find("has no audio track 7"), std::string::npos) << track.err;
  EXPECT_NE(track.err.find("server code 4004"), std::string::npos) << track.err;
  auto range = remote(server, {in, "--from", "10"});
  EXPECT_EQ(range.exit_code, 2);
  EXPECT_NE(range.err.find("server code 4005"), std::string::npos) << range.err;
  auto options = remote(server, {in, "-f", "flac", "-b", "128k"});
  EXPECT_EQ(options.exit_code, 2);
  EXPECT_NE(options.err.find("server code 4009"), std::string::npos) << options.err;
  EXPECT_EQ(entries(), (std::vector<std::string>{"talk.mp4"}));
  EXPECT_EQ(available(server), 100);
}

TEST_F(Remote, CtrlCCancelsTheExportAndLeavesNothing) {
  Server server({"--jobs", "1"});
  const std::string in = input(mkv_five_minutes(), "long.mkv");
  ASSERT_EQ(available(server), 100);
  Child child({"remote", "--server", server.url(), in, "-f", "mp3"});
  ASSERT_TRUE(eventually(
      [&] { return server.request("GET", "/healthz").json()["data"].value("running", 0) >= 1; },
      60))
      << "the export never ran";
  child.signal(SIGINT);
  RunResult r = child.wait();
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r.err;
  EXPECT_EQ(entries(), (std::vector<std::string>{"long.mkv"}));
  // The export was cancelled on the server: nothing runs, nothing is charged.
  EXPECT_TRUE(eventually(
      [&] { return server.request("GET", "/healthz").json()["data"].value("running", 1) == 0; },
      10));
  EXPECT_EQ(available(server), 100);
}

}  // namespace
}  // namespace peel::test
