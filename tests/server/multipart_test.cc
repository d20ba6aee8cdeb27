// The streaming multipart reader and the route matcher, without sockets.
#include "server/multipart.h"

#include <gtest/gtest.h>

#include "server/http.h"

namespace peel::server {
namespace {

struct Collected {
  std::vector<MultipartPart> parts;
  std::vector<std::string> data;
};

MultipartReader::Callbacks collect(Collected& c) {
  return {[&c](const MultipartPart& p) -> Result<void> {
            c.parts.push_back(p);
            c.data.emplace_back();
            return {};
          },
          [&c](std::string_view d) -> Result<void> {
            c.data.back().append(d);
            return {};
          },
          [] { return Result<void>(); }};
}

const std::string kBody =
    "preamble\r\n--XyZ\r\n"
    "Content-Disposition: form-data; name=\"files\"; filename=\"a b.mp4\"\r\n"
    "Content-Type: video/mp4\r\n\r\n"
    "\r\n--Xy almost a boundary\r\n --XyZ-- not yet\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"note\"\r\n\r\n"
    "hello\r\n"
    "--XyZ--\r\nepilogue";

TEST(Multipart, ReadsPartsWhateverTheChunking) {
  for (size_t step : {size_t(1), size_t(2), size_t(3), size_t(7), size_t(64), kBody.size()}) {
    Collected c;
    MultipartReader reader("XyZ", collect(c));
    for (size_t i = 0; i < kBody.size(); i += step) {
      ASSERT_TRUE(reader.feed(std::string_view(kBody).substr(i, step)));
    }
    ASSERT_TRUE(reader.finish());
    ASSERT_EQ(c.parts.size(), 2u) << "step " << step;
    EXPECT_EQ(c.parts[0].name, "files");
    EXPECT_EQ(c.parts[0].filename, "a b.mp4");
    EXPECT_EQ(c.parts[0].headers["content-type"], "video/mp4");
    EXPECT_EQ(c.data[0], "\r\n--Xy almost a boundary\r\n --XyZ-- not yet") << "step " << step;
    EXPECT_EQ(c.parts[1].name, "note");
    EXPECT_EQ(c.parts[1].filename, "");
    EXPECT_EQ(c.data[1], "hello");
  }
}

TEST(Multipart, RefusesWhatIsNotMultipart) {
  Collected c;
  MultipartReader cut("XyZ", collect(c));
  ASSERT_TRUE(cut.feed(kBody.substr(0, kBody.size() / 2)));
  EXPECT_FALSE(cut.finish());  // no closing boundary
  MultipartReader junk("XyZ", collect(c));
  EXPECT_FALSE(junk.feed("--XyZ\r\n" + std::string(20000, 'h')));  // endless headers
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a;b\""), "a;b");
  EXPECT_FALSE(multipart_boundary("application/json"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data"));
}

TEST(Multipart, TakesRfc5987FileNames) {
  Collected c;
  MultipartReader reader("b", collect(c));
  ASSERT_TRUE(
      reader.feed("--b\r\nContent-Disposition: form-data; name=files; "
                  "filename*=UTF-8''%E4%BC%9A%E8%AE%AE.mp4\r\n\r\nx\r\n--b--"));
  ASSERT_EQ(c.parts.size(), 1u);
  EXPECT_EQ(c.parts[0].filename, "会议.mp4");
}

TEST(Routes, MatchPatternsAndTellMissingFromWrongMethod) {
  std::vector<Route> routes = {
      simple_route("GET", "/api/jobs/{id}", [](const HttpRequest&) { return HttpResponse{}; }),
      simple_route("POST", "/api/jobs", [](const HttpRequest&) { return HttpResponse{}; }),
      simple_route("GET", "/files/{key...}", [](const HttpRequest&) { return HttpResponse{}; })};
  std::map<std::string, std::string> params;
  int status = 0;
  EXPECT_EQ(match_route(routes, "GET", "/api/jobs/j1", params, status), &routes[0]);
  EXPECT_EQ(params["id"], "j1");
  EXPECT_EQ(match_route(routes, "HEAD", "/api/jobs/j1", params, status), &routes[0]);
  std::string allowed;
  EXPECT_EQ(match_route(routes, "DELETE", "/api/jobs/j1", params, status, &allowed), nullptr);
  EXPECT_EQ(status, 405);
  EXPECT_EQ(allowed, "GET, HEAD");
  EXPECT_EQ(match_route(routes, "PUT", "/api/jobs", params, status, &allowed), nullptr);
  EXPECT_EQ(allowed, "POST");
  EXPECT_EQ(match_route(routes, "GET", "/api/jobs/j1/more", params, status), nullptr);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(match_route(routes, "GET", "/files/outputs/ab/c.mp3", params, status), &routes[2]);
  EXPECT_EQ(params["key"], "outputs/ab/c.mp3");
  EXPECT_EQ(percent_decode("a%20b+c", true), "a b c");
  EXPECT_EQ(percent_decode("a%2", false), std::nullopt);
  EXPECT_EQ(percent_decode("%zz", false), std::nullopt);
}

}  // namespace
}  // namespace peel::server
