// The service's bounds, black-box: SIGTERM's grace (running exports finish, or run again at the
// next start), the per-client storage quota, and retention (the janitor removes what expired,
// files included, and gives the quota back).
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "http/http_support.h"
#include "support/fixtures.h"

namespace peel::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

HttpReply queue_long_export(const Client& client, const std::string& id) {
  EXPECT_EQ(client.upload(mkv_five_minutes()).status, 200);
  return client.post_export(
      {{"id", id}, {"sessionId", client.session}, {"output", {{"format", "mp3"}}}});
}

bool running(const Client& client, const std::string& id) {
  return client.get("/api/render/proxy/lambda/" + id).json()["data"]["status"] == "running";
}

size_t files_under(const std::string& folder) {
  size_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file()) ++n;
  }
  return n;
}

// Within the grace, a running export finishes: the next process finds it completed, run once.
TEST(Limits, SigtermLetsARunningExportFinish) {
  TempDir data;
  {
    Server server({"--jobs", "1", "--grace", "120"}, data.path());
    Client client(server, "patient");
    ASSERT_EQ(queue_long_export(client, "render_grace").status, 202);
    ASSERT_TRUE(eventually([&] { return running(client, "render_grace"); }));
    server.process().signal(SIGTERM);
    // It stops taking connections at once, while the export goes on.
    ASSERT_TRUE(eventually([&] { return server.request("GET", "/healthz").status == 0; }, 10));
    auto ended = server.process().wait();
    EXPECT_EQ(ended.exit_code, 0) << ended.err;
    EXPECT_NE(ended.err.find("waiting up to 120 s for 1 running export(s)"), std::string::npos)
        << ended.err;
    EXPECT_EQ(ended.err.find("will run again"), std::string::npos) << ended.err;
  }
  Server server({"--jobs", "1"}, data.path());
  Client client(server, "patient");
  json job = client.get("/api/render/proxy/lambda/render_grace").json()["data"];
  EXPECT_EQ(job["status"], "completed") << job.dump();
  EXPECT_EQ(job["attempt"], 1);
  auto balance = client.get("/api/credits/balance/simple").json()["data"];
  EXPECT_EQ(balance["available"], 95);
  EXPECT_EQ(balance["frozen"], 0);
}

// Past the grace, what still runs is stopped and queued again: it runs from the start at the
// next start, and is charged once.
TEST(Limits, SigtermPastTheGraceQueuesItAgain) {
  TempDir data;
  {
    Server server({"--jobs", "1", "--grace", "0"}, data.path());
    Client client(server, "hasty");
    ASSERT_EQ(queue_long_export(client, "render_again").status, 202);
    ASSERT_TRUE(eventually([&] { return running(client, "render_again"); }));
    server.process().signal(SIGTERM);
    auto ended = server.process().wait();
    EXPECT_EQ(ended.exit_code, 0) << ended.err;
    EXPECT_NE(ended.err.find("1 export(s) will run again at the next start"), std::string::npos)
        << ended.err;
  }
  Server server({"--jobs", "1"}, data.path());
  Client client(server, "hasty");
  json done = client.wait_export("render_again", 240);
  ASSERT_EQ(done["data"]["status"], "completed") << done.dump();
  EXPECT_EQ(done["data"]["attempt"], 2);
  auto balance = client.get("/api/credits/balance/simple").json()["data"];
  EXPECT_EQ(balance["available"], 95);
  EXPECT_EQ(balance["frozen"], 0);
}

// A client holds at most --quota bytes, uploads and outputs together; another client is not
// held back by it.
TEST(Limits, TheQuotaCountsWhatAClientHolds) {
  const int64_t size = static_cast<int64_t>(fs::file_size(mp4_h264_aac()));
  Server server({"--quota", std::to_string(size * 2 + size / 2)});
  Client client(server);
  ASSERT_EQ(client.upload(mp4_h264_aac()).status, 200);
  ASSERT_EQ(client.upload(mp4_h264_aac()).status, 200);
  auto third = client.upload(mp4_h264_aac());
  EXPECT_EQ(third.status, 413) << third.body;
  EXPECT_EQ(third.json()["code"], 4002);
  EXPECT_EQ(third.json()["data"]["quota"], true);
  EXPECT_EQ(third.json()["data"]["used"], size * 2);
  EXPECT_NE(third.json().value("message", "").find("quota"), std::string::npos);
  Client other(server);
  EXPECT_EQ(other.upload(mp4_h264_aac()).status, 200);
}

// The nice value of each of a process's threads (Linux: /proc/PID/task/*/stat, field 19).
std::multiset<int> thread_nice_values(int pid) {
  std::multiset<int> values;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // the name may hold spaces
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
      if (i == 19) values.insert(std::stoi(field));
    }
  }
  return values;
}

// Exports run below the connections' threads: every thread of the engine's pool at the nice
// value asked for, the threads that answer requests at the process's own.
TEST(Limits, ExportsRunAtALowerPriorityThanTheConnections) {
  for (int nice : {10, 3}) {
    std::vector<std::string> args = {"--jobs", "3", "--io-threads", "2"};
    if (nice != 10) args.insert(args.end(), {"--job-nice", std::to_string(nice)});
    Server server(args);
    std::multiset<int> values = thread_nice_values(server.process().pid());
    // The pool: at least one thread per export that may run at once.
    EXPECT_GE(values.count(nice), 3u) << "--job-nice " << nice;
    // main and the two I/O threads, at least.
    EXPECT_GE(values.count(0), 3u) << "--job-nice " << nice;
  }
}

// An expired session goes, with its files on disk, and what it held no longer counts.
TEST(Limits, TheJanitorRemovesExpiredSessionsAndTheirFiles) {
  const int64_t size = static_cast<int64_t>(fs::file_size(mp4_h264_aac()));
  // Sessions live about 9 s; the janitor looks every second.
  Server server({"--retention-days", "0.0001", "--sweep-every", "1", "--quota",
                 std::to_string(size + size / 2)});
  Client client(server);
  ASSERT_EQ(client.upload(mp4_h264_aac()).status, 200);
  auto created = client.post_export(
      {{"id", "render_old"}, {"sessionId", client.session}, {"output", {{"format", "wav"}}}});
  ASSERT_EQ(created.status, 202) << created.body;
  json done = client.wait_export("render_old");
  ASSERT_EQ(done["data"]["status"], "completed") << done.dump();
  const std::string url = done["data"]["output"]["url"];
  const std::string files = server.data() + "/files";
  EXPECT_EQ(files_under(files + "/uploads"), 1u);
  EXPECT_EQ(files_under(files + "/outputs"), 1u);

  ASSERT_TRUE(eventually(
      [&] {
        return files_under(files + "/uploads") == 0 && files_under(files + "/outputs") == 0;
      },
      30))
      << "the expired session's files are still there";
  auto state = client.get("/api/state/peel/me/" + client.session + "/latest");
  EXPECT_EQ(state.status, 404);
  EXPECT_EQ(state.json()["code"], 1002);
  EXPECT_EQ(client.get("/api/render/proxy/lambda/render_old").status, 404);
  TempDir out;
  EXPECT_EQ(download(url, out / "gone.wav"), 404);
  // The quota has room again: a new session takes a file as large as the first.
  Client again(server, client.id);
  EXPECT_EQ(again.upload(mp4_h264_aac()).status, 200);
}

// A multipart upload that kill -9 cuts off leaves no blob: what had arrived waits in the
// scratch folder, and goes once nothing has written to it for an hour.
TEST(Limits, AnUploadCutOffByKillNineLeavesNothingBehind) {
  TempDir data, tmp;
  {
    std::ofstream big(tmp / "big.mp4", std::ios::binary);
    big << std::string(4 << 20, 'v');
  }
  const std::string scratch = data.path() + "/files/tmp";
  auto incoming = [&]() -> std::string {
    std::error_code ec;
    for (fs::directory_iterator it(scratch, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().filename().string().starts_with("incoming_") && fs::file_size(it->path()) > 0) {
        return it->path().string();
      }
    }
    return "";
  };
  std::string partial;
  {
    Server server({}, data.path());
    Client client(server);
    auto curl = Child::program({"curl", "-sS", "--limit-rate", "256K", "-H", client.auth(), "-F",
                                "files=@" + tmp / "big.mp4",
                                server.url() + "/api/upload-video/peel/me/" + client.session});
    ASSERT_TRUE(eventually([&] { return !(partial = incoming()).empty(); }, 20));
    server.kill9();
  }
  EXPECT_TRUE(fs::exists(partial));
  EXPECT_EQ(files_under(data.path() + "/files/uploads"), 0u);  // never a blob
  // An hour without a write: the next process's janitor takes it away.
  fs::last_write_time(partial, fs::file_time_type::clock::now() - std::chrono::hours(2));
  Server again({}, data.path());
  EXPECT_TRUE(eventually([&] { return !fs::exists(partial); }, 20)) << partial << " is still there";
  EXPECT_EQ(files_under(data.path() + "/files/uploads"), 0u);
}

}  // namespace
}  // namespace peel::test
