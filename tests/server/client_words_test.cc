// What a client reads names its own files, never the server's disk.
#include <gtest/gtest.h>

#include "worker/worker.h"

namespace peel::worker {
namespace {

TEST(ClientWords, ServerPathsBecomeTheClientsNames) {
  ClientWords words{"/srv/peel-data/files/uploads/up_1", "talk.mp4", "/srv/peel-data/files/tmp"};
  EXPECT_EQ(words("/srv/peel-data/files/uploads/up_1 has no audio track 7"),
            "talk.mp4 has no audio track 7");
  // A name planned next to the upload takes the stem of the client's name.
  EXPECT_EQ(words("copy /srv/peel-data/files/uploads/up_1 to "
                  "/srv/peel-data/files/uploads/up_1.flac"),
            "copy talk.mp4 to talk.flac");
  // A job's folder under the scratch folder disappears, and the scratch folder itself.
  EXPECT_EQ(words("cannot write /srv/peel-data/files/tmp/job_ab12/talk.mp3: disk full"),
            "cannot write talk.mp3: disk full");
  EXPECT_EQ(words("no room in /srv/peel-data/files/tmp/"), "no room in ");
  Error e(ErrorCode::kBadRange, "/srv/peel-data/files/uploads/up_1 is 6 s long");
  e.value = "/srv/peel-data/files/uploads/up_1";
  Error shown = words(e);
  EXPECT_EQ(shown.message, "talk.mp4 is 6 s long");
  EXPECT_EQ(shown.value, "talk.mp4");
  EXPECT_EQ(shown.code, ErrorCode::kBadRange);
}

}  // namespace
}  // namespace peel::worker
