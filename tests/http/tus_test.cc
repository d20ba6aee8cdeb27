// Resumable uploads over tus 1.0, spoken raw with curl against the real server: creation,
// appending in pieces, a dropped connection resumed from HEAD's offset, checksums,
// termination, and every refusal the protocol names.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "http/http_support.h"
#include "support/fixtures.h"

namespace peel::test {
namespace {

using nlohmann::json;

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, std::string_view data) {
  std::ofstream(path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string base64(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < data.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<unsigned char>(data[i + 1]) << 8;
    if (i + 2 < data.size()) n |= static_cast<unsigned char>(data[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < data.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < data.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

// The sha1 of a file as tus sends it, from the openssl command.
std::string sha1_base64(const std::string& path) {
  auto r = run({"sh", "-c", "openssl dgst -sha1 -binary '" + path + "' | base64 -w0"});
  return r.out;
}

struct Tus {
  const Server& server;
  const Client& client;
  std::vector<std::string> headers(std::vector<std::string> more = {}) const {
    more.push_back(client.auth());
    more.push_back("Tus-Resumable: 1.0.0");
    return more;
  }
  HttpReply create(int64_t length, const std::string& name) const {
    return server.request("POST", "/api/tus/peel/me/" + client.session,
                          headers({"Upload-Length: " + std::to_string(length),
                                   "Upload-Metadata: filename " + base64(name) +
                                       ",filetype " + base64("video/x-matroska")}));
  }
  HttpReply head(const std::string& location) const {
    return server.request("HEAD", location, headers());
  }
  HttpReply patch(const std::string& location, int64_t offset, const std::string& file,
                  std::vector<std::string> more = {}) const {
    more.push_back("Upload-Offset: " + std::to_string(offset));
    more.push_back("Content-Type: application/offset+octet-stream");
    return server.request("PATCH", location, headers(more), "", file);
  }
  int64_t offset(const std::string& location) const {
    auto h = head(location);
    return h.status == 200 ? std::stoll(h.headers["upload-offset"]) : -1;
  }
};

TEST(Tus, TheServerSaysWhatItSpeaks) {
  Server server;
  Client client(server);
  auto options = server.request("OPTIONS", "/api/tus/peel/me/" + client.session);
  EXPECT_EQ(options.status, 204);
  EXPECT_EQ(options.headers["tus-resumable"], "1.0.0");
  EXPECT_EQ(options.headers["tus-version"], "1.0.0");
  EXPECT_EQ(options.headers["tus-extension"],
            "creation,creation-with-upload,expiration,checksum,termination");
  EXPECT_EQ(options.headers["tus-checksum-algorithm"], "sha1,sha256");
  EXPECT_EQ(options.headers["tus-max-size"], std::to_string(4LL << 30));
  EXPECT_EQ(options.headers.count("content-length"), 0u) << "a 204 has no Content-Length";
}

// Two pieces, the first cut off by a dropped connection: HEAD says what was kept, the rest
// follows from there, and the file that arrives is the file that was sent, byte for byte.
TEST(Tus, AnUploadResumesAfterADroppedConnection) {
  Server server;
  Client client(server);
  Tus tus{server, client};
  const std::string source = mkv_five_minutes();
  const std::string bytes = bytes_of(source);
  auto created = tus.create(static_cast<int64_t>(bytes.size()), "talk five.mkv");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string location = created.headers["location"];
  EXPECT_TRUE(location.starts_with("/api/tus/peel/me/" + client.session + "/up_")) << location;
  EXPECT_EQ(created.headers["upload-offset"], "0");
  EXPECT_FALSE(created.headers["upload-expires"].empty());
  EXPECT_EQ(tus.offset(location), 0);

  // The whole file, at 64 KB/s for one second: the connection drops part way.
  auto cut = server.curl({"-X", "PATCH", "-H", client.auth(), "-H", "Tus-Resumable: 1.0.0", "-H",
                          "Upload-Offset: 0", "-H", "Content-Type: application/offset+octet-stream",
                          "--data-binary", "@" + source, "--limit-rate", "64K", "--max-time", "1"},
                         location);
  // (curl's last status is the 100 Continue it was answered before the cut, or none.)
  EXPECT_TRUE(cut.status == 0 || cut.status == 100) << "the PATCH was meant to be cut off";
  // Resumed as a client does: HEAD, then PATCH from there (409 while the server still holds
  // the dropped request).
  int64_t kept = -1;
  HttpReply rest;
  ASSERT_TRUE(eventually(
      [&] {
        kept = tus.offset(location);
        if (kept <= 0) return false;
        TempDir tmp;
        write_bytes(tmp / "rest", std::string_view(bytes).substr(static_cast<size_t>(kept)));
        rest = tus.patch(location, kept, tmp / "rest",
                         {"Upload-Checksum: sha1 " + sha1_base64(tmp / "rest")});
        return rest.status != 409;
      },
      10))
      << "nothing of the first PATCH was kept";
  EXPECT_LT(kept, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(rest.status, 204) << rest.body;
  EXPECT_EQ(rest.headers["upload-offset"], std::to_string(bytes.size()));
  EXPECT_EQ(rest.headers.count("upload-expires"), 0u) << "a finished upload does not expire";
  EXPECT_EQ(tus.offset(location), static_cast<int64_t>(bytes.size()));
  // More for a complete upload: 409 (it is complete), not 413 (past its length).
  TempDir more;
  write_bytes(more / "more", "more bytes");
  auto after = tus.patch(location, static_cast<int64_t>(bytes.size()), more / "more");
  EXPECT_EQ(after.status, 409) << after.body;
  EXPECT_NE(after.json().value("message", "").find("complete"), std::string::npos) << after.body;

  // Byte for byte, and in the session like a multipart upload.
  const std::string id = location.substr(location.rfind('/') + 1);
  EXPECT_TRUE(bytes_of(server.data() + "/files/uploads/" + id) == bytes);
  auto state = client.get("/api/state/peel/me/" + client.session + "/latest").json();
  ASSERT_EQ(state["data"]["video_infos"].size(), 1u) << state;
  EXPECT_EQ(state["data"]["video_infos"][0]["upload_id"], id);
  EXPECT_EQ(state["data"]["video_infos"][0]["name"], "talk five.mkv");
  EXPECT_FALSE(state["data"]["video_infos"][0]["info"]["audio"].empty());

  // And it exports.
  json body = {{"id", "render_tus"}, {"sessionId", client.session}, {"output", {{"format", "wav"}}}};
  auto job = client.post_export(body);
  EXPECT_EQ(job.status, 202) << job.body;
  EXPECT_EQ(client.wait_export("render_tus")["data"]["status"], "completed");
}

TEST(Tus, CreationWithUploadAndTermination) {
  Server server;
  Client client(server);
  Tus tus{server, client};
  const std::string source = mp4_h264_aac();
  const std::string bytes = bytes_of(source);
  // creation-with-upload: the first piece comes with the POST.
  TempDir tmp;
  write_bytes(tmp / "first", std::string_view(bytes).substr(0, 1000));
  auto created = server.request(
      "POST", "/api/tus/peel/me/" + client.session,
      tus.headers({"Upload-Length: " + std::to_string(bytes.size()),
                   "Content-Type: application/offset+octet-stream"}),
      "", tmp / "first");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.headers["upload-offset"], "1000");
  const std::string location = created.headers["location"];
  EXPECT_EQ(tus.offset(location), 1000);
  // Termination: gone, for HEAD and PATCH alike, and its bytes too.
  const std::string id = location.substr(location.rfind('/') + 1);
  EXPECT_TRUE(std::filesystem::exists(server.data() + "/files/uploads/" + id));
  auto deleted = server.request("DELETE", location, tus.headers());
  EXPECT_EQ(deleted.status, 204);
  EXPECT_EQ(tus.head(location).status, 404);
  EXPECT_EQ(tus.patch(location, 1000, tmp / "first").status, 404);
  EXPECT_FALSE(std::filesystem::exists(server.data() + "/files/uploads/" + id));
}

TEST(Tus, EveryRefusalTheProtocolNames) {
  Server server({"--upload-limit", "1M"});
  Client client(server);
  Client other(server);
  Tus tus{server, client};
  TempDir tmp;
  write_bytes(tmp / "ten", "0123456789");

  // Over the limit: 413 (4002) before a byte is stored, with the limit.
  auto big = tus.create(2 << 20, "big.mkv");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.json()["code"], 4002);
  EXPECT_EQ(big.json()["data"]["limit"], 1 << 20);
  // No length: 400 naming the header.
  auto no_length = server.request("POST", "/api/tus/peel/me/" + client.session, tus.headers());
  EXPECT_EQ(no_length.status, 400);
  EXPECT_EQ(no_length.json()["data"]["field"], "Upload-Length");
  // Another version, or none: 412 with the one spoken here.
  auto version = server.request("POST", "/api/tus/peel/me/" + client.session,
                                {client.auth(), "Tus-Resumable: 0.2.2", "Upload-Length: 10"});
  EXPECT_EQ(version.status, 412);
  EXPECT_EQ(version.headers["tus-version"], "1.0.0");

  // A creation without a body is one, whatever Content-Type it names (curl -d '' sends one).
  auto typed_creation = server.request(
      "POST", "/api/tus/peel/me/" + client.session,
      tus.headers({"Upload-Length: 10", "Content-Type: application/x-www-form-urlencoded"}));
  EXPECT_EQ(typed_creation.status, 201) << typed_creation.body;
  EXPECT_EQ(typed_creation.headers["upload-offset"], "0");

  auto created = tus.create(20, "notes.txt");
  ASSERT_EQ(created.status, 201);
  const std::string location = created.headers["location"];
  // Wrong offset: 409 with the right one.
  auto wrong = tus.patch(location, 5, tmp / "ten");
  EXPECT_EQ(wrong.status, 409);
  EXPECT_EQ(wrong.json()["data"]["offset"], 0);
  // Wrong content type: 415.
  auto typed = server.request("PATCH", location,
                              tus.headers({"Upload-Offset: 0", "Content-Type: text/plain"}), "",
                              tmp / "ten");
  EXPECT_EQ(typed.status, 415);
  // A checksum that does not match: 460, and nothing kept.
  auto mismatch = tus.patch(location, 0, tmp / "ten", {"Upload-Checksum: sha1 " + base64("x")});
  EXPECT_EQ(mismatch.status, 460) << mismatch.body;
  EXPECT_EQ(tus.offset(location), 0);
  // An algorithm not offered: 400.
  auto md5 = tus.patch(location, 0, tmp / "ten", {"Upload-Checksum: md5 " + base64("x")});
  EXPECT_EQ(md5.status, 400);
  // Past the announced length: 413.
  write_bytes(tmp / "thirty", std::string(30, 'x'));
  EXPECT_EQ(tus.patch(location, 0, tmp / "thirty").status, 413);
  EXPECT_EQ(tus.offset(location), 0);
  // Another client's upload is not there, whatever it knows.
  EXPECT_EQ(server.request("HEAD", location, {other.auth(), "Tus-Resumable: 1.0.0"}).status, 404);
  EXPECT_EQ(server.request("DELETE", location, {other.auth(), "Tus-Resumable: 1.0.0"}).status,
            404);
  // A good checksum is kept; the last byte of something that is not media: 4001, removed.
  auto first = tus.patch(location, 0, tmp / "ten", {"Upload-Checksum: sha1 " + sha1_base64(tmp / "ten")});
  EXPECT_EQ(first.status, 204) << first.body;
  auto last = tus.patch(location, 10, tmp / "ten");
  EXPECT_EQ(last.status, 415) << last.body;
  EXPECT_EQ(last.json()["code"], 4001);
  EXPECT_FALSE(last.json()["data"]["supported_formats"].empty());
  EXPECT_EQ(tus.head(location).status, 404);
  auto state = client.get("/api/state/peel/me/" + client.session + "/latest").json();
  EXPECT_TRUE(state["data"]["video_infos"].empty());
}

}  // namespace
}  // namespace peel::test
