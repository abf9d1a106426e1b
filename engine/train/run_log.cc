// RunLog and Progress (see run_log.h).
#include "engine/train/run_log.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "engine/core/error.h"
#include "engine/io/file.h"

namespace pa::train {

std::string dump_json(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

RunLog::RunLog(const std::string& dir, bool resume) : dir_(dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  PA_CHECK(!error, "train::RunLog",
           "cannot create output folder '" << dir << "': " << error.message(),
           "pass a writable --out folder");
  if (resume) return;  // keep_rows() opens metrics.jsonl
  metrics_.open(dir + "/metrics.jsonl", std::ios::trunc);
  PA_CHECK(metrics_.good(), "train::RunLog", "cannot write '" << dir << "/metrics.jsonl'",
           "pass a writable --out folder");
}

void RunLog::keep_rows(int64_t count) {
  const std::string path = dir_ + "/metrics.jsonl";
  std::string kept;
  rows_ = 0;
  std::ifstream existing(path);
  std::string line;
  while (rows_ < count && existing && std::getline(existing, line)) {
    if (existing.eof()) break;  // no newline after it: a row cut short
    const nlohmann::json row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!row.is_object()) continue;
    kept += line + "\n";
    ++rows_;
  }
  io::write_file_atomically(path, kept, "train::RunLog");
  metrics_.close();
  metrics_.clear();
  metrics_.open(path, std::ios::app);
  PA_CHECK(metrics_.good(), "train::RunLog", "cannot append to '" << path << "'",
           "pass a writable --out folder");
}

void RunLog::log(const nlohmann::json& row) {
  metrics_ << dump_json(row) << "\n";
  metrics_.flush();
  PA_CHECK(metrics_.good(), "train::RunLog", "writing '" << dir_ << "/metrics.jsonl' failed",
           "check free disk space");
  ++rows_;
}

void RunLog::write_json(const std::string& name, const nlohmann::json& value) const {
  io::write_file_atomically(dir_ + "/" + name, dump_json(value, 2) + "\n", "train::RunLog");
}

bool progress_is_interactive() { return isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label, int64_t total, std::ostream& out, bool interactive)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total, 1)),
      out_(out),
      interactive_(interactive),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::update(int64_t done, const std::string& status) {
  const auto now = std::chrono::steady_clock::now();
  if (interactive_) {
    if (now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
    last_draw_ = now;
    draw(done, status, false);
  } else if (done >= next_plain_) {
    next_plain_ = done + std::max<int64_t>(1, total_ / 10);
    draw(done, status, true);
  }
}

void Progress::finish(const std::string& status) { draw(total_, status, true); }

void Progress::draw(int64_t done, const std::string& status, bool final_line) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double fraction = std::clamp(static_cast<double>(done) / total_, 0.0, 1.0);
  const double eta = fraction > 0 ? seconds * (1 - fraction) / fraction : 0.0;
  std::ostringstream line;
  line << label_ << " " << done << "/" << total_;
  if (interactive_) {
    const int width = 30, filled = static_cast<int>(fraction * width);
    line << " [" << std::string(filled, '#') << std::string(width - filled, '.') << "]";
  }
  char timing[64];
  std::snprintf(timing, sizeof(timing), " %.1fs elapsed, eta %.1fs", seconds, eta);
  line << timing << (status.empty() ? "" : "  " + status);
  if (interactive_) {
    out_ << "\r" << line.str() << "\033[K" << (final_line ? "\n" : "") << std::flush;
  } else {
    out_ << line.str() << "\n" << std::flush;
  }
}

}  // namespace pa::train
