// The floor for the PHOLD-style workloads: no simulator at all, just a binary
// heap of (time, sequence, token) records in a tight loop, with pcg32 draws.
// Any engine that gives models timers, messages, nodes and metrics costs more
// than this; the ratio engine/bare is how close to the limit the engine runs.
//
//   bare_phold timers|net NODES TOKENS END_SECONDS SEED
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <pcg_random.hpp>
#include <queue>
#include <string>
#include <vector>

struct Ev {
  int64_t at_ns;
  uint64_t seq;
  int32_t token;
  int32_t here;
  bool operator>(const Ev& o) const { return at_ns != o.at_ns ? at_ns > o.at_ns : seq > o.seq; }
};

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s timers|net NODES TOKENS END_SECONDS SEED\n", argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  int nodes = std::atoi(argv[2]);
  int tokens = std::atoi(argv[3]);
  int64_t end_ns = (int64_t)(std::atof(argv[4]) * 1e9);
  pcg32 rng(std::strtoull(argv[5], nullptr, 10));
  auto u01 = [&] { return (rng() + 0.5) * (1.0 / 4294967296.0); };
  std::vector<int64_t> lat(nodes);
  for (auto& l : lat)
    l = (int64_t)(50e3 + u01() * 450e3);
  std::priority_queue<Ev, std::vector<Ev>, std::greater<Ev>> q;
  uint64_t seq = 0;
  auto next = [&](int64_t now, int tok, int here) {
    if (mode == "timers") {
      int64_t dt = (int64_t)(-std::log(u01()) * 1e6);
      return Ev{now + dt, seq++, tok, here};
    }
    int dest = (int)(rng(nodes - 1));
    if (dest >= here) ++dest;
    return Ev{now + lat[here] + lat[dest], seq++, tok, dest};
  };
  for (int t = 0; t < tokens; ++t)
    q.push(next(0, t, t % nodes));
  long long events = 0;
  while (!q.empty()) {
    Ev e = q.top();
    if (e.at_ns > end_ns) break;
    q.pop();
    ++events;
    q.push(next(e.at_ns, e.token, e.here));
  }
  std::printf("workload=%s events=%lld sim_seconds=%g\n", mode.c_str(), events, end_ns / 1e9);
}
