// A sweep's output directory, written atomically like a run's: everything goes into a
// hidden sibling (.<name>.partial) that replaces the directory at the end, so a reader
// never sees a half-written sweep and a failed one leaves the previous results alone.
// What it may replace is sim/run/output_dir.h's rule (a previous sweep's directory; with
// --force, anything else is moved aside, never deleted).
#pragma once

#include <string>

namespace dsim::sweep {

class SweepDir {
 public:
  SweepDir(std::string dir, bool force);
  /// Says (in *error) why the results may not go to the directory; true when they may.
  bool allowed(std::string* error) const;
  /// Checks allowed(), then creates the partial directory afresh (removing a stale one).
  bool start(std::string* error);
  /// Where files go until commit().
  const std::string& partial() const { return partial_; }
  bool write(const std::string& name, const std::string& content, std::string* error) const;
  /// Copies a directory tree into the partial directory, under `name`.
  bool copy_in(const std::string& from, const std::string& name, std::string* error) const;
  /// Moves the partial directory into place, replacing what was there (if allowed();
  /// otherwise the partial directory is kept, and *error says where it is).
  bool commit(std::string* error);
  /// Where commit() moved what was there (--force), or "" when it moved nothing aside.
  const std::string& moved_aside() const { return moved_aside_; }
  /// Removes the partial directory (after a failure).
  void abandon();

 private:
  std::string dir_;
  std::string partial_;
  bool force_;
  std::string moved_aside_;
};

/// Reads a whole result file (a regular file of at most kMaxResultFileBytes); false when
/// it cannot, and *error says why.
bool read_file(const std::string& path, std::string* content, std::string* error);

}  // namespace dsim::sweep
