// PHOLD-style reference workloads written against SimGrid's s4u API, used only
// to measure this project's engine side by side with a well-known simulator.
//
//   simgrid_phold timers NODES TOKENS END_SECONDS SEED
//     TOKENS actors each sleep Exp(mean 1 ms), then count one event; repeat
//     until END_SECONDS of simulated time.  Measures the bare event loop.
//   simgrid_phold net NODES TOKENS END_SECONDS SEED
//     NODES hosts on a star network; host i's link has latency
//     U(0.05 ms, 0.5 ms) drawn once.  TOKENS messages (0 bytes) start round
//     robin on the hosts; a host that receives one forwards it at once to a
//     uniformly random other host.  One event = one delivered message.
//
// Prints one line: workload=... events=N sim_seconds=S
#include <cstdio>
#include <cstdlib>
#include <random>
#include <simgrid/s4u.hpp>
#include <string>
#include <vector>

namespace sg4 = simgrid::s4u;

static long long g_events = 0;
static double g_end = 0;
static std::mt19937_64 g_rng;

static void timer_actor() {
  std::exponential_distribution<double> d(1000.0);  // mean 1 ms
  while (true) {
    double dt = d(g_rng);
    if (sg4::Engine::get_clock() + dt > g_end) return;
    sg4::this_actor::sleep_for(dt);
    ++g_events;
  }
}

static std::vector<sg4::Mailbox*> g_boxes;

static void node_actor(int self, int initial) {
  int n = (int)g_boxes.size();
  std::uniform_int_distribution<int> pick(0, n - 2);
  // A permanent receiver makes transfers start at once (eager delivery), as a
  // network does, instead of waiting for the matching get().
  g_boxes[self]->set_receiver(sg4::Actor::self());
  static int token_payload = 0;
  for (int i = 0; i < initial; ++i) {
    int d = pick(g_rng);
    if (d >= self) ++d;
    g_boxes[d]->put_init(&token_payload, 0)->detach();
  }
  while (true) {
    double left = g_end - sg4::Engine::get_clock();
    if (left <= 0) return;
    int* tok = nullptr;
    try {
      tok = g_boxes[self]->get<int>(left);
    } catch (const simgrid::TimeoutException&) {
      return;
    }
    ++g_events;
    int d = pick(g_rng);
    if (d >= self) ++d;
    g_boxes[d]->put_init(tok, 0)->detach();
  }
}

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s timers|net NODES TOKENS END_SECONDS SEED [simgrid options]\n",
                 argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  int nodes = std::atoi(argv[2]);
  int tokens = std::atoi(argv[3]);
  g_end = std::atof(argv[4]);
  g_rng.seed(std::strtoull(argv[5], nullptr, 10));
  int sg_argc = argc - 5;
  char** sg_argv = argv + 5;
  sg_argv[0] = argv[0];
  sg4::Engine e(&sg_argc, sg_argv);

  auto* zone = sg4::create_star_zone("star");
  std::uniform_real_distribution<double> lat(0.05e-3, 0.5e-3);
  std::vector<sg4::Host*> hosts;
  for (int i = 0; i < nodes; ++i) {
    auto* h = zone->create_host("h" + std::to_string(i), 1e9);
    auto* l = zone->create_link("l" + std::to_string(i), 1e12)->set_latency(lat(g_rng));
    l->seal();
    zone->add_route(h->get_netpoint(), nullptr, nullptr, nullptr, {sg4::LinkInRoute(l)}, true);
    hosts.push_back(h);
  }
  zone->seal();

  if (mode == "timers") {
    for (int t = 0; t < tokens; ++t)
      sg4::Actor::create("t" + std::to_string(t), hosts[t % nodes], timer_actor);
  } else {
    for (int i = 0; i < nodes; ++i)
      g_boxes.push_back(sg4::Mailbox::by_name("m" + std::to_string(i)));
    for (int i = 0; i < nodes; ++i) {
      int initial = tokens / nodes + (i < tokens % nodes ? 1 : 0);
      sg4::Actor::create("n" + std::to_string(i), hosts[i], node_actor, i, initial);
    }
  }
  e.run();
  std::printf("workload=%s events=%lld sim_seconds=%g\n", mode.c_str(), g_events,
              sg4::Engine::get_clock());
  return 0;
}
