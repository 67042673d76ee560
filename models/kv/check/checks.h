// The kv history family's entry in the registry: its settings (the `consistency:` keys of
// a scenario) and its checkers, each turning its results into summary rows, files and
// terminal lines:
//   - linearizability: linearizable (1, 0 or unknown), keys checked, violated, unknown;
//     linearizability.txt with each flagged key's counterexample;
//   - staleness: stale reads and k-staleness, visibility lag, session guarantees
//     (read-your-writes, monotonic reads), lost and duplicated writes; t_visibility.csv
//     and k_staleness.csv;
//   - history files: history.csv and, on request, history.edn (Jepsen's format).
#pragma once

#include <cstdint>

#include "sim/core/params.h"
#include "sim/core/registry.h"
#include "sim/core/time.h"

namespace dsim::kv {

struct KvCheckSettings {
  bool history_csv = true;                           ///< write history.csv
  bool history_edn = false;                          ///< write history.edn (Jepsen)
  bool linearizability = true;                       ///< run the linearizability checker
  uint64_t max_search_steps = 20'000'000;            ///< per key
  uint64_t max_total_steps = 500'000'000;            ///< over every key
  uint64_t max_search_memory = uint64_t{512} << 20;  ///< per key's search
  bool minimize = true;                              ///< shrink counterexamples
  Duration tvis_step = ms(1);
  Duration tvis_max = ms(100);
};
KvCheckSettings parse_kv_check_settings(ParamReader& r);

/// The kv family with its checkers, for ModelRegistry::add_family().
HistoryFamilyEntry kv_history_family();

}  // namespace dsim::kv
