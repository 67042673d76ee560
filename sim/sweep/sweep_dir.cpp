#include "sim/sweep/sweep_dir.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace dsim::sweep {

namespace fs = std::filesystem;

namespace {
fs::path sibling(const std::string& dir, const std::string& suffix) {
  const fs::path target = fs::path(dir).lexically_normal();
  const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  return parent / ("." + target.filename().string() + suffix);
}
}  // namespace

SweepDir::SweepDir(std::string dir) : dir_(std::move(dir)), partial_(sibling(dir_, ".partial")) {}

bool SweepDir::start(std::string* error) {
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
  const fs::path target = fs::path(dir_).lexically_normal();
  const fs::path old = sibling(dir_, ".replaced");
  std::error_code ec;
  fs::remove_all(old, ec);
  const bool existed = fs::exists(target);
  if (existed) {
    fs::rename(target, old, ec);
    if (ec) {
      *error = "cannot replace " + target.string() + ": " + ec.message();
      return false;
    }
  }
  fs::rename(partial_, target, ec);
  if (ec) {
    *error = "cannot move results into " + target.string() + ": " + ec.message();
    if (existed) fs::rename(old, target, ec);
    return false;
  }
  if (existed) fs::remove_all(old, ec);
  return true;
}

void SweepDir::abandon() {
  std::error_code ec;
  fs::remove_all(partial_, ec);
}

bool read_file(const std::string& path, std::string* content) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *content = ss.str();
  return static_cast<bool>(in) || in.eof();
}

}  // namespace dsim::sweep
