// Files made to harm, through the `peel` command as a user (or a script on uploads) runs it:
// names from metadata stay inside the output folder, a huge timestamp gap does not become a
// huge file, a playlist does not make peel fetch what it names.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/fixtures.h"
#include "support/support.h"

namespace peel::test {
namespace {

namespace fs = std::filesystem;

TEST(Hostile, ATitleThatClimbsOutOfTheFolderStaysInIt) {
  const std::string input = fixture("hostile-title.mkv",
                                    {"-f", "lavfi", "-i", "sine=d=1", "-c:a", "flac",
                                     "-metadata:s:a:0", "title=../../escaped"});
  TempDir root;
  auto r = peel({input, "--name", "{title}.{ext}", "-d", root / "out/deep", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = json_of(r);
  const std::string output = j["outputs"][0]["output"];
  EXPECT_EQ(fs::path(output).parent_path(), fs::path(root / "out/deep")) << output;
  EXPECT_TRUE(fs::exists(output));
  EXPECT_EQ(root.entries(), std::vector<std::string>{"out"});
  EXPECT_FALSE(fs::exists(root / "escaped.flac"));
}

TEST(Hostile, ATemplateOutOfTheFolderIsAUsageError) {
  TempDir root;
  auto r = peel({mkv_opus(), "--name", "../{stem}.{ext}", "-d", root / "out", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto j = json_of(r);
  EXPECT_EQ(j["errors"][0]["code"], 1001);
  const std::string message = j["errors"][0]["message"];
  EXPECT_NE(message.find("outside the output folder"), std::string::npos) << message;
  EXPECT_NE(message.find("--name"), std::string::npos) << "the CLI names its flag: " << message;
  EXPECT_TRUE(root.entries().empty());
}

// The folder checks work on names as typed too: a bare name is in the working folder.
TEST(Hostile, ABareInputNameInTheWorkingFolderIsNotOutsideIt) {
  TempDir dir;
  fs::copy_file(mkv_opus(), dir / "v.mkv");
  auto r = run({"env", "-C", dir.path(), peel(), "v.mkv", "-f", "wav"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(decode_s16(dir / "v.wav"), decode_s16(mkv_opus()));
  r = run({"env", "-C", dir.path(), peel(), "v.mkv", "--name", "sub/{stem}.{ext}", "-d", "."});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "sub/v.opus")) << r.err;
}

TEST(Hostile, AnHourLongTimestampJumpGivesTheAudioThereIsNotAnHourOfSilence) {
  const std::string input = fixture(
      "hostile-gap.mkv", {"-f", "lavfi", "-i", "sine=f=440:d=4:sample_rate=44100", "-af",
                          "asetpts='PTS+gte(T,2)*3600/TB'", "-c:a", "flac"});
  TempDir dir;
  auto r = peel({input, "-o", dir / "x.wav"});
  EXPECT_EQ(r.exit_code, 3) << "the jump is reported as damage: " << r.err;
  EXPECT_NE(r.err.find("skipped"), std::string::npos) << r.err;
  EXPECT_LT(fs::file_size(dir / "x.wav"), 400'000u);
  EXPECT_EQ(decode_s16(dir / "x.wav"), decode_s16(input));
}

TEST(Hostile, APlaylistNamingAUrlIsRefusedAndNothingIsFetched) {
  const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(server, 4), 0);
  socklen_t len = sizeof(a);
  ::getsockname(server, reinterpret_cast<sockaddr*>(&a), &len);
  TempDir dir;
  std::ofstream(dir / "list.m3u8") << "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nhttp://127.0.0.1:"
                                   << ntohs(a.sin_port) << "/a.ts\n#EXT-X-ENDLIST\n";
  auto r = peel({dir / "list.m3u8", "-o", dir / "x.mp3", "--json"});
  EXPECT_EQ(r.exit_code, 2);
  const auto j = json_of(r);
  EXPECT_EQ(j["errors"][0]["code"], 4001);
  EXPECT_NE(std::string(j["errors"][0]["message"]).find("refers to"), std::string::npos);
  EXPECT_LT(::accept(server, nullptr, nullptr), 0) << "peel connected to the URL";
  ::close(server);
  EXPECT_FALSE(fs::exists(dir / "x.mp3"));
}

}  // namespace
}  // namespace peel::test
