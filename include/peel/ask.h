// A sentence, understood (peel/nl.h), turned into what will run: its folders listed, each
// input probed and planned exactly as the run will, "the last N" resolved per file, and the
// jobs that do it with their peel and ffmpeg commands. Every front end that takes plain
// words (`peel ask`, the service's messages, the MCP server's `ask` tool) asks this, then
// talks (confirms, prints, streams) in its own way.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "peel/cancel.h"
#include "peel/engine.h"
#include "peel/error.h"
#include "peel/nl.h"
#include "peel/plan.h"

namespace peel::nl {

// The inputs of `u`: its paths, folders among them replaced by their media files, then the
// files of the folders the sentence named (u.folders), each folder's sorted by name. Fails
// with kInputNotFound when a folder cannot be listed or holds no such file.
Result<std::vector<std::string>> expand_inputs(const Understanding& u);

// One input as the run will meet it.
struct ResolvedInput {
  std::string input;
  InputRequest request;            // "the last N" resolved once the duration is known
  std::vector<OutputPlan> plans;   // empty when the file could not be read or was refused
  std::optional<Error> unreadable;  // probe() failed: the file is not there (yet)
  std::optional<Error> refused;     // plan() or check_output() refused: the run would too
  std::string refusal;              // which words of the sentence led to `refused`, if any
};

// One run of the extract with one Request: all the inputs, or one input when "the last N"
// needs each file's own duration.
struct Job {
  Request request;
  std::string ffmpeg_command;  // the plans' commands (from the request alone for a file
                               // that cannot be read yet), joined by " && "
};

struct Resolution {
  std::vector<std::string> inputs = {};  // expanded
  std::vector<ResolvedInput> resolved = {};
  std::vector<Job> jobs = {};           // empty when any input was refused
  std::string explanation = {};         // in the sentence's language, from the plans
  std::vector<std::string> notes = {};  // the sentence's, then each input's
  bool refused() const;
  bool unreadable() const;
};

// Resolves an understood sentence (outcome kPlan) against the files `inputs` (from
// expand_inputs()). Probes each file on `engine`; writes nothing.
Resolution resolve(Engine& engine, const Understanding& u, const std::vector<std::string>& inputs,
                   const CancelToken& cancel = {});

}  // namespace peel::nl
