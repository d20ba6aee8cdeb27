// Uploads by URL, black-box: `peel serve` fetches from a file server on loopback, which it
// must refuse by default (it would be the server's own network), and reach with
// --allow-private-urls. SSRF attempts: loopback by address, by name and in IPv6; private,
// link-local (the cloud metadata address) and other schemes. What a redirect to a refused
// address does, hop by hop, is in tests/server/url_fetch_test.cc, with its address rules.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "http/http_support.h"
#include "support/fixtures.h"

namespace peel::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

HttpReply post_urls(const Client& client, const json& urls) {
  return client.post("/api/upload-video/peel/me/" + client.session,
                     json{{"urls", urls}, {"source_type", "url"}});
}

size_t files_in_session(const Client& client) {
  auto state = client.get("/api/state/peel/me/" + client.session + "/latest").json();
  return state["data"]["video_infos"].size();
}

TEST(UrlUpload, OwnNetworkRefusedByDefault) {
  TempDir site;
  fs::copy_file(mp4_h264_aac(), site / "talk.mp4");
  FileServer files(site.path());
  Server server;
  Client client(server);
  const std::string p = files.port();
  // Each refused before a byte is fetched, with the reason in words.
  const std::vector<std::pair<std::string, std::string>> attempts = {
      {"http://127.0.0.1:" + p + "/talk.mp4", "loopback"},
      {"http://localhost:" + p + "/talk.mp4", "loopback"},  // a name that resolves to it
      {"http://[::1]:" + p + "/talk.mp4", "loopback"},
      {"http://[::ffff:127.0.0.1]:" + p + "/talk.mp4", "loopback"},
      {"http://2130706433:" + p + "/talk.mp4", "loopback"},  // 127.0.0.1 as one number
      {"http://10.1.2.3/talk.mp4", "private"},
      {"http://192.168.0.1/talk.mp4", "private"},
      {"http://169.254.169.254/latest/meta-data/", "link-local"},  // cloud metadata
      {"http://100.64.0.1/talk.mp4", "CGNAT"},
      {"http://127.0.0.1:" + p + "/redirect?to=http://10.0.0.1/", "loopback"},
      {"file:///etc/passwd", "http"},
      {"ftp://127.0.0.1/talk.mp4", "http"},
      {"http://user:secret@example.com/talk.mp4", "password"},
  };
  for (const auto& [url, reason] : attempts) {
    auto r = post_urls(client, json::array({url}));
    EXPECT_EQ(r.status, 400) << url << ": " << r.body;
    EXPECT_EQ(r.json().value("code", -1), 400) << url;
    std::string message = r.json().value("message", "");
    EXPECT_NE(message.find(reason), std::string::npos) << url << ": " << message;
    ASSERT_EQ(r.json()["data"]["refused"].size(), 1u) << r.body;
    EXPECT_EQ(r.json()["data"]["refused"][0]["input"], url);
  }
  EXPECT_EQ(files_in_session(client), 0u);
  // Nothing was kept on the server's disk either.
  size_t kept = 0;
  if (fs::exists(fs::path(server.data()) / "files" / "uploads")) {
    for ([[maybe_unused]] const auto& e :
         fs::recursive_directory_iterator(fs::path(server.data()) / "files" / "uploads")) {
      ++kept;
    }
  }
  EXPECT_EQ(kept, 0u);

  // Malformed requests: the envelope, 400, the field named.
  for (const json& body : {json{{"urls", "http://example.com/a.mp4"}}, json{{"urls", json::array()}},
                           json{{"urls", json::array({1})}},
                           json{{"urls", json::array({"http://a/"})}, {"source_type", "file"}}}) {
    auto r = client.post("/api/upload-video/peel/me/" + client.session, body);
    EXPECT_EQ(r.status, 400) << body.dump() << ": " << r.body;
    EXPECT_FALSE(r.json()["data"]["field"].is_null()) << r.body;
  }
}

TEST(UrlUpload, FetchedWhereTheOperatorAllowsIt) {
  TempDir site;
  fs::copy_file(mp4_h264_aac(), site / "talk.mp4");
  write_text(site / "notes.mp4", "these are not the videos you are looking for\n");
  FileServer files(site.path());
  Server server({"--allow-private-urls", "--upload-limit", "2M"});
  Client client(server);

  // Fetched, probed, in the session: the same file, byte for byte.
  auto r = post_urls(client, json::array({files.url("/talk.mp4"),
                                          files.url("/redirect?to=" + files.url("/talk.mp4"))}));
  ASSERT_EQ(r.status, 200) << r.body;
  json fetched = r.json()["data"]["files"];
  ASSERT_EQ(fetched.size(), 2u);
  for (const auto& f : fetched) {
    EXPECT_EQ(f["name"], "talk.mp4");
    EXPECT_EQ(f["size"], static_cast<int64_t>(fs::file_size(mp4_h264_aac())));
    ASSERT_EQ(f["info"]["audio"].size(), 1u);
    EXPECT_EQ(f["info"]["audio"][0]["codec"], "aac");
  }
  EXPECT_EQ(files_in_session(client), 2u);

  // The fetched file exports like an uploaded one: ffmpeg's decode, sample for sample.
  auto state = client.get("/api/state/peel/me/" + client.session + "/latest").json();
  auto created = client.post_export({{"id", "render_url"},
                                     {"sessionId", client.session},
                                     {"draft", state["data"]["state"]["draft"]},
                                     {"output", {{"format", "wav"}, {"quality", "high"}}}});
  ASSERT_EQ(created.status, 202) << created.body;
  json done = client.wait_export("render_url");
  ASSERT_EQ(done["data"]["status"], "completed") << done.dump();
  TempDir out;
  ASSERT_EQ(download(done["data"]["output"]["url"], out / "a.wav"), 200);
  EXPECT_TRUE(decode_s16(out / "a.wav") == decode_s16_track(mp4_h264_aac()));

  // What the far server refuses, what is not media, what is too large: each with its code.
  auto missing = post_urls(client, json::array({files.url("/gone.mp4")}));
  EXPECT_EQ(missing.status, 422) << missing.body;
  EXPECT_EQ(missing.json().value("code", -1), 2003);
  EXPECT_NE(missing.json().value("message", "").find("404"), std::string::npos) << missing.body;

  auto text = post_urls(client, json::array({files.url("/notes.mp4")}));
  EXPECT_EQ(text.status, 415) << text.body;
  EXPECT_EQ(text.json().value("code", -1), 4001);
  EXPECT_FALSE(text.json()["data"]["supported_formats"].empty());

  write_text(site / "big.mp4", std::string(3 << 20, 'x'));
  auto large = post_urls(client, json::array({files.url("/big.mp4")}));
  EXPECT_EQ(large.status, 413) << large.body;
  EXPECT_EQ(large.json().value("code", -1), 4002);
  EXPECT_EQ(large.json()["data"]["limit"], 2 << 20);

  // One good URL among bad ones: the good one is kept and listed, the others explained.
  auto mixed = post_urls(client, json::array({files.url("/talk.mp4"), files.url("/gone.mp4")}));
  EXPECT_EQ(mixed.status, 422) << mixed.body;
  EXPECT_EQ(mixed.json()["data"]["files"].size(), 1u);
  EXPECT_EQ(mixed.json()["data"]["refused"].size(), 1u);
  EXPECT_EQ(files_in_session(client), 3u);
}

// A trusted range lets its own addresses through, and nothing else: a redirect from the
// trusted server to another loopback address is refused at that hop.
TEST(UrlUpload, TrustedRangeReachesOnlyItself) {
  TempDir site;
  fs::copy_file(mp4_h264_aac(), site / "talk.mp4");
  FileServer files(site.path());
  Server server({"--allow-url-range", "127.0.0.1/32"});
  Client client(server);
  auto r = post_urls(client, json::array({files.url("/talk.mp4")}));
  EXPECT_EQ(r.status, 200) << r.body;
  for (const std::string& elsewhere : {"http://127.0.0.2:" + files.port() + "/talk.mp4",
                                       "http://[::1]:" + files.port() + "/talk.mp4",
                                       std::string("http://10.0.0.1/talk.mp4")}) {
    auto hop = post_urls(client, json::array({files.url("/redirect?to=" + elsewhere)}));
    EXPECT_EQ(hop.status, 400) << elsewhere << ": " << hop.body;
    std::string message = hop.json().value("message", "");
    EXPECT_NE(message.find("redirect"), std::string::npos) << message;
  }
  EXPECT_EQ(files_in_session(client), 1u);

  auto bad = run({peel(), "serve", "--allow-url-range", "10.0.0.0/99", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("10.0.0.0/99"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace peel::test
