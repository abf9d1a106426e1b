// What a training run leaves behind and shows while it runs: RunLog writes metrics.jsonl (one
// JSON object per logged step, flushed as it goes) and whole JSON files (summary.json,
// provenance.json) atomically into the run's output folder; Progress draws a bar on a terminal
// and plain periodic lines otherwise (CI logs, pipes).
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

namespace pa::train {

// JSON text for the run's files. A string that is not UTF-8 (a path given with --out, say) has
// its bad bytes replaced by U+FFFD instead of making nlohmann throw at the end of a run.
std::string dump_json(const nlohmann::json& value, int indent = -1);

class RunLog {
 public:
  // Creates `dir` and its parents; starts a fresh metrics.jsonl there, or with `resume` keeps
  // the existing one until keep_rows() says how much of it to keep. Throws pa::Error
  // (op "train::RunLog") naming the folder when it cannot be created or written.
  explicit RunLog(const std::string& dir, bool resume = false);
  // Resuming from a checkpoint taken when `count` rows had been logged: keeps the first `count`
  // rows (the rows logged after the checkpoint and a last line cut short by a kill are dropped),
  // rewrites metrics.jsonl atomically and appends from there. Without a metrics.jsonl, starts an
  // empty one. Counting rows, not comparing their "step", also fits a run of several trainings
  // whose steps start again at 1 (sine_inversion).
  void keep_rows(int64_t count);
  void log(const nlohmann::json& row);  // appends one line to metrics.jsonl and flushes
  // Writes <dir>/<name> (pretty-printed JSON) via a temporary file and a rename.
  void write_json(const std::string& name, const nlohmann::json& value) const;
  const std::string& dir() const { return dir_; }
  int64_t rows() const { return rows_; }

 private:
  std::string dir_;
  std::ofstream metrics_;
  int64_t rows_ = 0;
};

class Progress {
 public:
  // `interactive`: redraw one bar line with '\r' (a terminal); otherwise print a plain line at
  // every 10% of `total`. Use progress_is_interactive() for stderr's default.
  Progress(std::string label, int64_t total, std::ostream& out, bool interactive);
  void update(int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");

 private:
  void draw(int64_t done, const std::string& status, bool final_line);
  std::string label_;
  int64_t total_;
  std::ostream& out_;
  bool interactive_;
  int64_t next_plain_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

bool progress_is_interactive();  // stderr is a terminal

}  // namespace pa::train
