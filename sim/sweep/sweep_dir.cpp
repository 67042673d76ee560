#include "sim/sweep/sweep_dir.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "sim/core/text_input.h"
#include "sim/run/output_dir.h"

namespace dsim::sweep {

namespace fs = std::filesystem;

SweepDir::SweepDir(std::string dir, bool force)
    : dir_(std::move(dir)), partial_(output_sibling(dir_, ".partial")), force_(force) {}

bool SweepDir::allowed(std::string* error) const {
  auto why = refuse_output_dir(dir_, OutputKind::kSweep, force_);
  if (why) *error = *why;
  return !why;
}

bool SweepDir::start(std::string* error) {
  if (!allowed(error)) return false;
  std::error_code ec;
  fs::remove_all(partial_, ec);
  fs::create_directories(partial_, ec);
  if (ec) {
    *error = "cannot create " + partial_ + ": " + ec.message();
    return false;
  }
  return true;
}

bool SweepDir::write(const std::string& name, const std::string& content,
                     std::string* error) const {
  const fs::path p = fs::path(partial_) / name;
  std::ofstream f(p, std::ios::binary);
  f << content;
  f.close();
  if (!f) {
    *error = "cannot write " + p.string();
    return false;
  }
  return true;
}

bool SweepDir::copy_in(const std::string& from, const std::string& name, std::string* error) const {
  std::error_code ec;
  fs::copy(from, fs::path(partial_) / name,
           fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
  if (ec) {
    *error = "cannot copy " + from + ": " + ec.message();
    return false;
  }
  return true;
}

bool SweepDir::commit(std::string* error) {
  return commit_output_dir(partial_, dir_, OutputKind::kSweep, force_, error, &moved_aside_);
}

void SweepDir::abandon() {
  std::error_code ec;
  fs::remove_all(partial_, ec);
}

bool read_file(const std::string& path, std::string* content, std::string* error) {
  auto text = read_text_file(path, kMaxResultFileBytes, error);
  if (!text) return false;
  *content = std::move(*text);
  return true;
}

}  // namespace dsim::sweep
