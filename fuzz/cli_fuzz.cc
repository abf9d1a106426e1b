// Fuzz target: the experiments' command line. The input is split at NUL bytes into argv strings
// and parsed by ExperimentCli with the Transformer and optimisation flags and their checks, as
// experiments/denoising_main.cc wires them. A bad flag must end in an exit code (0 after
// --help, 2 otherwise); flags that parse must give a model config, JSON and a schedule (a
// pa::Error there is an expected rejection). Any exception escaping parse() is a finding.
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/train/run_log.h"
#include "experiments/common/experiment.h"
#include "experiments/common/model_flags.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> arguments = {"fuzz"};
  std::string current;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\0') {
      arguments.push_back(current);
      current.clear();
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  if (!current.empty()) arguments.push_back(current);
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);

  pa::experiments::CommonFlags common;
  pa::experiments::TransformerFlags model;
  pa::experiments::OptimFlags optim;
  pa::experiments::ExperimentCli cli("fuzz", "fuzzed command line", common);
  model.add_to(cli.app());
  optim.add_to(cli.app());
  cli.set_check([&] {
    std::string problem = model.check();
    if (problem.empty()) problem = optim.check(common.steps);
    return problem;
  });
  if (cli.parse(static_cast<int>(arguments.size()), argv.data())) return 0;
  try {
    model.config();
    // As the programs write them (train::dump_json).
    pa::train::dump_json(model.to_json());
    pa::train::dump_json(optim.to_json());
    pa::train::dump_json(common.to_json());
    pa::experiments::make_schedule(optim.schedule, common.steps, optim.warmup);
  } catch (const pa::Error&) {
  }
  return 0;
}
