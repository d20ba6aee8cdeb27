// Embedding peel: one Engine for the process, then probe, plan and run (docs/library.md).
#include <peel/engine.h>
#include <peel/plan.h>
#include <peel/run.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3) return std::fprintf(stderr, "usage: embed VIDEO OUTPUT\n"), 1;
  peel::EngineOptions options;
  options.limits = peel::Limits::untrusted();  // files from strangers
  peel::Engine engine(options);                // its pool, log routing and limits

  peel::Request request;
  request.inputs = {argv[1]};
  request.output = argv[2];  // the format follows the extension
  auto info = peel::probe(engine, argv[1]);
  auto plans = info ? peel::plan(request, *info) : info.error();
  if (!plans) return std::fprintf(stderr, "%s\n", plans.error().message.c_str()), 2;

  peel::RunOptions run;
  run.on_progress = [](const peel::Progress& p) { std::fprintf(stderr, "%.0f s\r", p.done); };
  auto result = peel::run(engine, plans->front(), run);
  if (!result) return std::fprintf(stderr, "%s\n", result.error().message.c_str()), 2;
  std::printf("%s: %lld samples\n", result->output.c_str(), (long long)result->samples);
}
