// quorum's section of the HTML report: what the store did to stay available and converge —
// requests it could not serve, sloppy writes and hinted handoff, read repair, siblings and
// anti-entropy. Its consistency verdicts are the kv_client's section (models/kv/report.cpp).
#include <string>
#include <vector>

#include "models/kit/report.h"
#include "models/quorum/store.h"

namespace dsim::quorum {

std::vector<ReportSection> QuorumStore::report(const ReportInput& in) {
  std::vector<ReportSection> out;
  ReportSection s;
  s.title = "Quorum: availability and convergence";
  s.text =
      "How the replicas kept answering and converged: requests that found too few replicas, "
      "writes taken by stand-ins and handed back later, and the repairs that brought "
      "replicas together. The consistency verdicts are in the clients' section.";
  if (auto t = kit::figures_table(
          in, in.groups, "Coordination",
          "Requests coordinated, refused for want of a quorum (unavailable) or left "
          "indeterminate (a write whose quorum did not answer in time).",
          {kit::counter("coordinated_gets", "gets"), kit::counter("coordinated_puts", "puts"),
           kit::counter("unavailable", "unavailable"),
           kit::counter("indeterminate", "indeterminate"),
           kit::counter("cas_mismatches", "cas mismatches")}))
    s.tables.push_back(std::move(*t));
  if (auto t = kit::figures_table(
          in, in.groups, "Hinted handoff, repair and siblings",
          "Sloppy writes and the hints they left (replayed: handed back to their home "
          "replica), read repairs, reads that returned concurrent siblings, last-writer-wins "
          "discards, and anti-entropy rounds with the keys they repaired.",
          {kit::counter("sloppy_writes", "sloppy writes"),
           kit::counter("hints_stored", "hints stored"),
           kit::counter("hints_replayed", "hints replayed"),
           {"hints_pending_peak", "hints pending, peak"},
           kit::counter("read_repairs", "read repairs"),
           kit::counter("reads_with_siblings", "reads with siblings"),
           kit::counter("lww_discarded", "LWW discarded"),
           kit::counter("anti_entropy_rounds", "anti-entropy rounds"),
           kit::counter("merkle_keys_repaired", "keys repaired")},
          true))
    s.tables.push_back(std::move(*t));
  if (!s.tables.empty()) out.push_back(std::move(s));
  return out;
}

}  // namespace dsim::quorum
