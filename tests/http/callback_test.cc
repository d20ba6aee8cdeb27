// Export callbacks, black-box: `peel serve` POSTs to a receiver on loopback (allowed with
// --allow-url-range) when an export ends, signed with the client's callback secret, retried
// after a failed answer, and delivered by the next process when the server died first.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "http/http_support.h"
#include "support/fixtures.h"

namespace peel::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The receiver's record of its n-th POST (1-based), or null while it has not come.
json post_record(const TempDir& site, int n) {
  std::ifstream in(site / ("posts/" + std::to_string(n) + ".json"));
  if (!in) return nullptr;
  return json::parse(in, nullptr, false);
}

int posts(const TempDir& site) {
  int n = 0;
  while (!post_record(site, n + 1).is_null()) ++n;
  return n;
}

// Peel-Signature's v1, computed apart from peel (Python's hmac): HMAC-SHA256(secret, t.body).
std::string expected_signature(const std::string& secret, const std::string& t,
                               const std::string& body) {
  TempDir tmp;
  std::ofstream(tmp / "body", std::ios::binary) << body;
  auto r = run({"/usr/bin/python3", "-c",
                "import hmac,hashlib,sys;"
                "print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode() + b'.' + "
                "open(sys.argv[3],'rb').read(), hashlib.sha256).hexdigest())",
                secret, t, tmp / "body"});
  return r.out.substr(0, r.out.find('\n'));
}

HttpReply export_with_callback(const Client& client, const std::string& id,
                               const json& callback_url) {
  auto state = client.get("/api/state/peel/me/" + client.session + "/latest").json();
  return client.post_export({{"id", id},
                             {"sessionId", client.session},
                             {"draft", state["data"]["state"]["draft"]},
                             {"output", {{"format", "mp3"}}},
                             {"callback_url", callback_url}});
}

TEST(Callback, SignedRetriedUntilDelivered) {
  TempDir site;
  FileServer receiver(site.path());
  Server server({"--allow-url-range", "127.0.0.1/32"});
  Client client(server);
  ASSERT_EQ(client.upload(mp4_h264_aac()).status, 200);

  // The receiver fails twice, then takes it.
  auto created = export_with_callback(client, "render_cb", receiver.url("/hook?fail=2"));
  ASSERT_EQ(created.status, 202) << created.body;
  json callback = created.json()["data"]["callback"];
  EXPECT_EQ(callback["url"], receiver.url("/hook?fail=2"));
  EXPECT_EQ(callback["status"], "waiting");
  const std::string secret = callback["secret"];
  EXPECT_TRUE(secret.starts_with("whsec_"));
  json done = client.wait_export("render_cb");
  ASSERT_EQ(done["data"]["status"], "completed") << done.dump();

  ASSERT_TRUE(eventually([&] { return posts(site) >= 3; }, 30)) << posts(site) << " posts";
  json polled;
  EXPECT_TRUE(eventually(
      [&] {
        polled = client.get("/api/render/proxy/lambda/render_cb").json()["data"]["callback"];
        return polled["status"] == "delivered";
      },
      10))
      << polled.dump();
  EXPECT_EQ(polled["attempts"], 3);
  EXPECT_EQ(polled["last_error"], nullptr);
  EXPECT_EQ(polled["secret"], secret);  // the client's: the same on every poll

  for (int n = 1; n <= 3; ++n) {
    json record = post_record(site, n);
    std::string body = record["body"];
    json sent = json::parse(body);
    EXPECT_EQ(sent["type"], "export.completed");
    EXPECT_EQ(sent["id"], "render_cb");
    EXPECT_EQ(sent["delivery_attempt"], n);
    EXPECT_EQ(sent["data"]["status"], "completed");
    EXPECT_EQ(record["headers"]["Content-Type"], "application/json");
    // t=<seconds>,v1=<hex>: the HMAC of "t.body" under the secret.
    std::string header = record["headers"]["Peel-Signature"];
    ASSERT_TRUE(header.starts_with("t=")) << header;
    std::string t = header.substr(2, header.find(',') - 2);
    std::string v1 = header.substr(header.find("v1=") + 3);
    EXPECT_EQ(v1, expected_signature(secret, t, body)) << header;
    EXPECT_NE(v1, expected_signature(secret + "x", t, body));
  }
  // The link in the last one downloads the file.
  json last = json::parse(post_record(site, 3)["body"].get<std::string>());
  TempDir out;
  ASSERT_EQ(download(last["data"]["output"]["url"], out / "a.mp3"), 200);
  EXPECT_EQ(ffprobe(out / "a.mp3")["streams"][0]["codec_name"], "mp3");
  // Another client's secret is another.
  Client other(server);
  ASSERT_EQ(other.upload(mp4_h264_aac()).status, 200);
  auto theirs = export_with_callback(other, "render_cb", receiver.url("/other"));
  ASSERT_EQ(theirs.status, 202) << theirs.body;
  EXPECT_NE(theirs.json()["data"]["callback"]["secret"], secret);
}

TEST(Callback, RefusedAtOnceWhereItCouldNeverArrive) {
  Server server;  // public addresses only
  Client client(server);
  ASSERT_EQ(client.upload(mp4_h264_aac()).status, 200);
  for (const json& url : {json("http://127.0.0.1:9/hook"), json("http://[::1]/hook"),
                          json("ftp://example.com/hook"), json(""), json(42)}) {
    auto r = export_with_callback(client, "render_bad", url);
    EXPECT_EQ(r.status, 400) << url << ": " << r.body;
    EXPECT_EQ(r.json()["data"]["field"], "callback_url") << r.body;
  }
  // Nothing was queued or charged.
  EXPECT_EQ(client.get("/api/credits/balance/simple").json()["data"]["frozen"], 0);
  EXPECT_EQ(client.get("/api/render/proxy/lambda/render_bad").status, 404);
}

// The pending callback is in the database: after kill -9, the next process delivers it.
TEST(Callback, DeliveredByTheNextProcessAfterACrash) {
  TempDir site;
  FileServer receiver(site.path());
  TempDir data;
  std::string client_id = random_client_id();
  std::string secret;
  {
    Server server({"--allow-url-range", "127.0.0.1/32"}, data.path());
    Client client(server, client_id);
    ASSERT_EQ(client.upload(mp4_h264_aac()).status, 200);
    // The receiver fails twice: whenever the server dies after the first post, nothing has
    // been delivered yet.
    auto created = export_with_callback(client, "render_crash", receiver.url("/late?fail=2"));
    ASSERT_EQ(created.status, 202) << created.body;
    secret = created.json()["data"]["callback"]["secret"];
    ASSERT_EQ(client.wait_export("render_crash")["data"]["status"], "completed");
    ASSERT_TRUE(eventually([&] { return posts(site) >= 1; }, 20));
    server.kill9();
  }
  const int before = posts(site);
  ASSERT_LE(before, 2);
  Server again({"--allow-url-range", "127.0.0.1/32"}, data.path());
  Client client(again, client_id);
  ASSERT_TRUE(eventually([&] { return posts(site) >= 3; }, 30));
  json sent = json::parse(post_record(site, 3)["body"].get<std::string>());
  EXPECT_EQ(sent["id"], "render_crash");
  EXPECT_EQ(sent["delivery_attempt"], 3);  // counted across the processes
  json polled;
  EXPECT_TRUE(eventually(
      [&] {
        polled = client.get("/api/render/proxy/lambda/render_crash").json()["data"]["callback"];
        return polled["status"] == "delivered";
      },
      10))
      << polled.dump();
  EXPECT_EQ(polled["attempts"], 3);
  EXPECT_EQ(posts(site), 3);
  EXPECT_EQ(polled["secret"], secret);  // the data folder's secret: the same after a restart
}

}  // namespace
}  // namespace peel::test
