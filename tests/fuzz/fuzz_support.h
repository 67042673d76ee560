// What the fuzz targets share: the built-in models, and a way to stop with a message when
// a property the target checks breaks (libFuzzer records the input as a crash).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "models/builtin.h"
#include "sim/core/registry.h"

namespace dsim::fuzz {

// The name every input is loaded under: messages say "fuzz.yaml:line:column", and
// relative file names (empirical CDFs) resolve against the working directory.
inline constexpr const char* kFile = "fuzz.yaml";

// The registry outlives every spec loaded with it (specs point at its factories).
inline const ModelRegistry& registry() {
  static const ModelRegistry r = [] {
    ModelRegistry m;
    register_builtin_models(m);
    return m;
  }();
  return r;
}

// A broken property of the code under test: print what broke and abort, so that
// libFuzzer keeps the input as a crash reproducer.
[[noreturn]] inline void broken(const std::string& what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz: %s\n%s\n", what.c_str(), detail.c_str());
  std::abort();
}

}  // namespace dsim::fuzz
