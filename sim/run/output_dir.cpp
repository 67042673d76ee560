#include "sim/run/output_dir.h"

#include <filesystem>
#include <fstream>
#include <system_error>

namespace dsim {

namespace fs = std::filesystem;

bool write_run_directory(const std::string& dir,
                         const std::vector<std::pair<std::string, std::string>>& files,
                         std::string* error) {
  const fs::path target = fs::path(dir).lexically_normal();
  const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) {
    *error = "cannot create " + parent.string() + ": " + ec.message();
    return false;
  }
  const std::string base = target.filename().string();
  fs::path tmp = parent / ("." + base + ".partial");
  fs::path old = parent / ("." + base + ".replaced");
  fs::remove_all(tmp, ec);
  fs::remove_all(old, ec);
  fs::create_directory(tmp, ec);
  if (ec) {
    *error = "cannot create " + tmp.string() + ": " + ec.message();
    return false;
  }
  for (const auto& [name, content] : files) {
    std::ofstream f(tmp / name, std::ios::binary);
    f << content;
    f.close();
    if (!f) {
      *error = "cannot write " + (tmp / name).string();
      fs::remove_all(tmp, ec);
      return false;
    }
  }
  const bool existed = fs::exists(target);
  if (existed) {
    fs::rename(target, old, ec);
    if (ec) {
      *error = "cannot replace " + target.string() + ": " + ec.message();
      fs::remove_all(tmp, ec);
      return false;
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    *error = "cannot move results into " + target.string() + ": " + ec.message();
    if (existed) fs::rename(old, target, ec);
    return false;
  }
  if (existed) fs::remove_all(old, ec);
  return true;
}

}  // namespace dsim
