// RemoteClient: the client side of `peel serve` (docs/http-api.md) over libcurl: the client id
// and its cached token, sessions, resumable uploads, exports, downloads and message streams.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "peel/cancel.h"
#include "peel/error.h"

namespace peel::remote {

// Where peel keeps its own files: $XDG_CONFIG_HOME/peel, else ~/.config/peel. Not created.
// Fails (kUsage) when neither XDG_CONFIG_HOME nor HOME is set.
Result<std::string> config_folder();

// The client id kept in `folder`/client_id: read, or created as a random UUID (v4) with mode
// 0600 (and the folder with 0700) when absent. Fails with kInternal when the file cannot be
// read or written, or holds something that is not an id.
Result<std::string> load_or_create_client_id(const std::string& folder);

// The checks on a file to upload, before any request: it exists, is a regular file that can
// be read and is not empty. Returns its size; fails with kInputNotFound, kInputIsDirectory,
// kUnsupportedFile (not a regular file), kInputUnreadable or kInputEmpty.
Result<int64_t> check_input(const std::string& path);

// An error object of the server's JSON (a failed export's `error`, an `error` event) as an
// Error: its code, message, field and hint.
Error error_from_json(const nlohmann::json& error);

// A server's answer that was not a success: the HTTP status and the envelope's code, message
// and data. Errors the client returns for it carry the same code (an engine refusal's
// `field` and `hint` too, from data) and a message that names the server's code.
struct Refusal {
  int status = 0;
  int code = 0;
  std::string message;
  nlohmann::json data;
};

// One Server-Sent Event of /run_sse: its id, type and the event's JSON (`data`).
struct StreamEvent {
  long long id = 0;
  std::string type;
  nlohmann::json data;
  // The event's words (content.parts[0].text), "" when it has none.
  std::string text() const;
};

struct ClientOptions {
  std::string server = "http://127.0.0.1:8080";  // base URL, with or without a trailing '/'
  std::string config_folder;                     // client_id and the token cache
  std::string version;                           // X-Skill-Version of exports
  // Stops every transfer and wait promptly; they then fail with kCancelled. Requests made
  // with `uncancellable` (cancel_export, delete_upload) still go through.
  CancelToken cancel;
};

// Bytes moved so far and in all, for progress lines.
using TransferProgress = std::function<void(int64_t done, int64_t total)>;
// Told a temporary download's path before it is created (true) and once it is gone (false).
using TempNotice = std::function<void(const std::string& path, bool exists)>;

struct UploadedFile {
  std::string upload_id;
  std::string name;
  int64_t size = 0;
  nlohmann::json info;  // the server's probe of it (docs/json.md), or null
};

// Not thread-safe: one RemoteClient per thread. Every call makes its own requests; the token
// is fetched on first use, cached per server URL under the config folder (mode 0600) and
// renewed when it expires or the server says it is not valid (1001).
class RemoteClient {
 public:
  explicit RemoteClient(ClientOptions options);
  ~RemoteClient();
  RemoteClient(const RemoteClient&) = delete;
  RemoteClient& operator=(const RemoteClient&) = delete;

  const std::string& server() const { return server_; }

  // {available, frozen, total, credits_enabled}.
  Result<nlohmann::json> credits();
  // A new session; returns its id.
  Result<std::string> create_session(const std::string& task_name);
  // Uploads `path` into the session with tus, resuming from the server's offset (HEAD) when a
  // connection drops. Fails with the server's 4001 when it is not media with audio.
  Result<UploadedFile> upload(const std::string& session_id, const std::string& path,
                              const TransferProgress& on_progress = {});
  // Removes an uploaded file from its session.
  Result<void> delete_upload(const std::string& session_id, const std::string& upload_id);
  // POST /api/render/proxy/lambda with the attribution headers; `body` holds the export's id
  // (sent again as it is when no answer came: the id makes it idempotent). Returns the export
  // object (with `plan` for a new one).
  Result<nlohmann::json> create_export(const nlohmann::json& body);
  // The export object as it is now.
  Result<nlohmann::json> export_status(const std::string& id);
  // Asks the server to cancel the export; the export object as it is then.
  Result<nlohmann::json> cancel_export(const std::string& id);
  // Downloads `url` into `target` atomically: a hidden temporary file in its folder, flushed
  // to the disk, then renamed into place (never over an existing file unless `overwrite`).
  // A dropped connection goes on with a Range request. Nothing is left on failure. Returns
  // the bytes written. Fails with kOutputExists, kOutputUnwritable, kWriteFailed, kCancelled
  // or the transfer's error.
  Result<int64_t> download(const std::string& url, const std::string& target, bool overwrite,
                           const TransferProgress& on_progress = {},
                           const TempNotice& on_temp = {});
  // POST /run_sse with `text` for the session, calling `on_event` for each event until
  // `done`; a stream that drops is resumed with Last-Event-ID.
  Result<void> send_message(const std::string& session_id, const std::string& text,
                            const std::function<void(const StreamEvent&)>& on_event);

  // The details of the last refusal a call returned, if its error came from the server.
  const std::optional<Refusal>& last_refusal() const { return last_refusal_; }

 private:
  struct Reply;
  struct Call;
  Result<Reply> call(const Call& call);
  Result<Reply> call_once(const Call& call, const std::string& token);
  Result<std::string> token(bool renew);
  Error refused(const Reply& reply);

  ClientOptions options_;
  std::string server_;
  std::string token_;
  std::optional<Refusal> last_refusal_;
  bool reachable_ = false;  // the server has answered once: a failure now is a drop
};

}  // namespace peel::remote
