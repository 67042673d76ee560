// output.trace: trace.json in the Trace Event Format (what Perfetto's UI and
// chrome://tracing open). The file is parsed here as JSON and checked for what a viewer
// needs: every thread named, timestamps in the window and in order per thread, every
// message arrow that starts either ends or is reported dropped or unfinished, the budget
// respected and its truncation said; the same run gives the same bytes; and the trace
// changes nothing else a run writes.
#include <catch2/catch.hpp>

#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sim/run/runner.h"
#include "sim/scenario/scenario.h"
#include "support/scenarios.h"

using namespace dsim;

namespace {

// A small JSON reader: enough to check the file's structure (and reject what is not JSON).
struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;  // a string's value
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  const Json* get(const std::string& key) const {
    for (const auto& [k, v] : members) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  bool has(const std::string& key) const { return get(key) != nullptr; }
  const Json& at(const std::string& key) const {
    const Json* v = get(key);
    if (!v) FAIL("no key " << key);
    return *v;
  }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& s) : s_(s) {}
  bool parse(Json& out) {
    if (!value(out)) return false;
    ws();
    return i_ == s_.size();
  }
  size_t where() const { return i_; }

 private:
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_])))
      ++i_;
  }
  bool lit(const char* w) {
    const std::string word(w);
    if (s_.compare(i_, word.size(), word) != 0) return false;
    i_ += word.size();
    return true;
  }
  bool string(std::string& out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c == '\\') {
        if (i_ >= s_.size()) return false;
        c = s_[i_++];
        if (c == 'u') {
          if (i_ + 4 > s_.size()) return false;
          out += static_cast<char>(std::strtol(s_.substr(i_, 4).c_str(), nullptr, 16));
          i_ += 4;
          continue;
        }
        if (std::string("\"\\/bfnrt").find(c) == std::string::npos) return false;
        if (c == 'n') c = '\n';
        if (c == 't') c = '\t';
      }
      out += c;
    }
    if (i_ >= s_.size()) return false;
    ++i_;
    return true;
  }
  bool value(Json& v) {
    ws();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') {
      v.kind = Json::Kind::kObject;
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
      for (;;) {
        ws();
        std::string key;
        if (!string(key)) return false;
        ws();
        if (i_ >= s_.size() || s_[i_++] != ':') return false;
        Json item;
        if (!value(item)) return false;
        v.members.emplace_back(std::move(key), std::move(item));
        ws();
        if (i_ >= s_.size()) return false;
        if (s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (s_[i_] == '}') return ++i_, true;
        return false;
      }
    }
    if (c == '[') {
      v.kind = Json::Kind::kArray;
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
      for (;;) {
        Json item;
        if (!value(item)) return false;
        v.items.push_back(std::move(item));
        ws();
        if (i_ >= s_.size()) return false;
        if (s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (s_[i_] == ']') return ++i_, true;
        return false;
      }
    }
    if (c == '"') {
      v.kind = Json::Kind::kString;
      return string(v.text);
    }
    if (lit("true")) return v.kind = Json::Kind::kBool, v.boolean = true, true;
    if (lit("false")) return v.kind = Json::Kind::kBool, true;
    if (lit("null")) return true;
    // A number: JSON's grammar (no leading '+', no bare '.', no trailing '.').
    const size_t start = i_;
    if (s_[i_] == '-') ++i_;
    auto digits = [&] {
      const size_t d = i_;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])))
        ++i_;
      return i_ > d;
    };
    if (!digits()) return false;
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digits()) return false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return false;
    }
    v.kind = Json::Kind::kNumber;
    v.number = std::strtod(s_.substr(start, i_ - start).c_str(), nullptr);
    return true;
  }

  const std::string& s_;
  size_t i_ = 0;
};

Json parse_json(const std::string& text) {
  Json j;
  JsonParser p(text);
  const bool ok = p.parse(j);
  INFO("JSON error near byte " << p.where() << ": "
                               << text.substr(p.where() > 80 ? p.where() - 80 : 0, 160));
  REQUIRE(ok);
  return j;
}

const std::string kLeaderCrash = std::string(DSIM_SOURCE_DIR) + "/scenarios/raft/leader_crash.yaml";

RunOutput run_with(std::vector<std::string> overrides) {
  Diagnostics diag;
  LoadOptions load;
  load.overrides = std::move(overrides);
  auto spec = load_scenario(kLeaderCrash, load, dsim::testing::builtin_registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  return run_scenario(*spec);
}

const std::string* file_of(const RunOutput& out, const std::string& name) {
  for (const auto& [n, content] : out.files) {
    if (n == name) return &content;
  }
  return nullptr;
}

// Timestamps are microseconds with the nanoseconds as three decimals: back to ns.
int64_t ts_ns(const Json& e) {
  return static_cast<int64_t>(e.at("ts").number * 1000 + (e.at("ts").number < 0 ? -0.5 : 0.5));
}

std::string ph(const Json& e) {
  return e.at("ph").text;
}

// What every trace must satisfy, whatever its window and budget.
void check_structure(const Json& trace, int64_t from_ns, int64_t to_ns) {
  REQUIRE(trace.kind == Json::Kind::kObject);
  REQUIRE(trace.members.front().first == "dsim_version");
  CHECK(trace.at("displayTimeUnit").text == "ns");
  const Json& events = trace.at("traceEvents");
  REQUIRE(events.kind == Json::Kind::kArray);
  const Json& other = trace.at("otherData");

  std::map<std::pair<int, int>, std::string> thread_names;
  std::map<int, std::string> process_names;
  for (const Json& e : events.items) {
    if (ph(e) != "M") continue;
    const auto pid = static_cast<int>(e.at("pid").number);
    const auto tid = static_cast<int>(e.at("tid").number);
    if (e.at("name").text == "thread_name") thread_names[{pid, tid}] = e.at("args").at("name").text;
    if (e.at("name").text == "process_name") process_names[pid] = e.at("args").at("name").text;
  }

  std::map<std::pair<int, int>, int64_t> last_ts;
  std::map<std::pair<int, int>, int64_t> last_slice;  // per thread: ts of its last slice
  std::map<uint64_t, std::string> flow_open;          // id -> kind
  std::set<uint64_t> flows_started;
  uint64_t counted = 0, unfinished = 0;
  for (const Json& e : events.items) {
    const std::string p = ph(e);
    if (p == "M") continue;
    ++counted;
    const auto pid = static_cast<int>(e.at("pid").number);
    const auto tid = static_cast<int>(e.at("tid").number);
    const int64_t ts = ts_ns(e);
    INFO("event " << counted << " ph " << p << " pid " << pid << " tid " << tid << " ts " << ts);
    CHECK(ts >= from_ns);
    CHECK(ts <= to_ns);
    CHECK(process_names.count(pid));
    const bool on_node = process_names[pid] != "faults";
    if (on_node) {
      CHECK(thread_names.count({pid, tid}));
      CHECK(thread_names[{pid, tid}].rfind(process_names[pid] + ".", 0) == 0);
    }
    auto [it, fresh] = last_ts.emplace(std::make_pair(pid, tid), ts);
    if (!fresh) {
      CHECK(ts >= it->second);
      it->second = ts;
    }
    if (p == "X") {
      CHECK(e.at("dur").number > 0);
      last_slice[{pid, tid}] = ts;
    } else if (p == "s") {
      const auto id = static_cast<uint64_t>(e.at("id").number);
      CHECK(flows_started.insert(id).second);  // ids are unique
      flow_open[id] = e.at("name").text;
      CHECK(e.at("args").has("bytes"));
      // The arrow starts in the sender's handler slice.
      CHECK(last_slice[{pid, tid}] == ts);
    } else if (p == "f") {
      CHECK(e.at("bp").text == "e");
      const auto id = static_cast<uint64_t>(e.at("id").number);
      REQUIRE(flow_open.count(id));
      CHECK(flow_open[id] == e.at("name").text);
      flow_open.erase(id);
      // ... and ends in the receiver's.
      CHECK(last_slice[{pid, tid}] == ts);
    } else if (p == "i") {
      CHECK((e.at("s").text == "t" || e.at("s").text == "g"));
      if (e.at("cat").text == "drop" && e.at("args").has("flow")) {
        const auto id = static_cast<uint64_t>(e.at("args").at("flow").number);
        REQUIRE(flow_open.count(id));
        flow_open.erase(id);
      }
    } else {
      CHECK((p == "b" || p == "e"));
      CHECK(!on_node);
    }
  }
  unfinished = flow_open.size();
  CHECK(counted == static_cast<uint64_t>(other.at("events").number));
  CHECK(counted <= static_cast<uint64_t>(other.at("max_events").number));
  CHECK(unfinished == static_cast<uint64_t>(other.at("unfinished_flows").number));
}

}  // namespace

TEST_CASE("output.trace writes the run's events as a Trace Event Format file") {
  const RunOutput out = run_with({"duration=16s", "output.trace={window: [9900ms, 10500ms]}"});
  const std::string* text = file_of(out, "trace.json");
  REQUIRE(text);
  CHECK(out.trace_message.empty());
  const Json trace = parse_json(*text);
  check_structure(trace, 9'900'000'000, 10'500'000'000);
  const Json& other = trace.at("otherData");
  CHECK_FALSE(other.at("truncated").boolean);
  CHECK(other.at("window_from_us").number == 9'900'000);
  CHECK(other.at("window_to_us").number == 10'500'000);

  // Every node that did something is named; here every one of them does.
  std::set<std::string> named;
  std::map<std::string, int> by_kind;
  for (const Json& e : trace.at("traceEvents").items) {
    if (ph(e) == "M" && e.at("name").text == "thread_name")
      named.insert(e.at("args").at("name").text);
    if (ph(e) != "M") ++by_kind[ph(e) + " " + e.at("cat").text];
  }
  for (int i = 0; i < 5; ++i)
    CHECK(named.count("replicas." + std::to_string(i)));
  for (int i = 0; i < 10; ++i)
    CHECK(named.count("clients." + std::to_string(i)));
  CHECK(by_kind["X message"] > 100);
  CHECK(by_kind["X timer"] > 10);
  CHECK(by_kind["X disk"] > 10);
  CHECK(by_kind["s message"] > 100);
  CHECK(by_kind["f message"] > 100);
  // The leader's crash at 10 s: the fault (a global instant and a span on "faults", open at
  // the end of the window: the restart is at 15 s), the node's crash, and messages to it
  // dropped.
  CHECK(by_kind["i fault"] == 1);
  CHECK(by_kind["b fault"] == 1);
  CHECK(by_kind["e fault"] == 1);
  CHECK(by_kind["i node"] == 1);
  CHECK(by_kind["i drop"] > 0);
  for (const Json& e : trace.at("traceEvents").items) {
    if (ph(e) == "i" && e.at("cat").text == "fault") {
      CHECK(ts_ns(e) == 10'000'000'000);
      CHECK(e.at("name").text == "crash#1");
      CHECK(e.at("s").text == "g");
    }
  }
}

TEST_CASE("output.trace stops at its event budget and says so") {
  const RunOutput out = run_with({"duration=16s", "output.trace={max_events: 500}"});
  const std::string* text = file_of(out, "trace.json");
  REQUIRE(text);
  const Json trace = parse_json(*text);
  check_structure(trace, 0, 16'000'000'000);
  const Json& other = trace.at("otherData");
  CHECK(other.at("truncated").boolean);
  CHECK(other.at("events").number == 500);
  CHECK(other.at("truncated_at_us").kind == Json::Kind::kNumber);
  CHECK(out.trace_message.find("500") != std::string::npos);
}

TEST_CASE("output.trace: the same run gives the same bytes, and changes nothing else") {
  const std::vector<std::string> traced = {"duration=16s", "output.trace={window: [9s, 16s]}"};
  const RunOutput a = run_with(traced);
  const RunOutput b = run_with(traced);
  const RunOutput off = run_with({"duration=16s"});
  REQUIRE(file_of(a, "trace.json"));
  REQUIRE(file_of(b, "trace.json"));
  CHECK(*file_of(a, "trace.json") == *file_of(b, "trace.json"));
  check_structure(parse_json(*file_of(a, "trace.json")), 0, 16'000'000'000);
  CHECK_FALSE(file_of(off, "trace.json"));
  CHECK(a.stats.fingerprint == off.stats.fingerprint);
  // Every other file is the same, but the resolved scenario (which has output.trace).
  for (const auto& [name, content] : off.files) {
    INFO(name);
    REQUIRE(file_of(a, name));
    if (name != "scenario.resolved.yaml") CHECK(*file_of(a, name) == content);
  }
  CHECK(a.files.size() == off.files.size() + 1);
}

TEST_CASE("output.trace: lost, duplicated and cut-off messages keep the arrows whole") {
  const RunOutput out = dsim::testing::run_text(R"Y(
duration: 6s
network: {latency: 0.5ms}
groups:
  - {name: web, model: server, count: 3, params: {workers: 4, service: exponential(mean=1ms)}}
  - {name: clients, model: client, count: 2, params: {target: web, rate: 200/s, timeout: 100ms}}
faults:
  - {at: 1s, for: 2s, degrade: web.0, loss: 20%, duplicate: 10%, delay: exponential(mean=20ms)}
  - {at: 2s, for: 2s, partition: [[web.0, web.1], [web.2, clients]]}
  - {at: 4500ms, crash: web.1, restart_after: 1s}
  - {at: 5s, pause: web.2, for: 200ms}
output:
  trace: true
)Y");
  const std::string* text = file_of(out, "trace.json");
  REQUIRE(text);
  const Json trace = parse_json(*text);
  check_structure(trace, 0, 6'000'000'000);
  std::map<std::string, int> causes, lives;
  int duplicates = 0, fault_starts = 0;
  for (const Json& e : trace.at("traceEvents").items) {
    if (ph(e) == "i" && e.at("cat").text == "drop") ++causes[e.at("args").at("cause").text];
    if (ph(e) == "i" && e.at("cat").text == "node") ++lives[e.at("name").text];
    if (ph(e) == "i" && e.at("cat").text == "fault") ++fault_starts;
    if (ph(e) == "s" && e.at("args").has("duplicate")) ++duplicates;
  }
  CHECK(causes["loss"] > 0);
  CHECK(causes["partition"] > 0);
  CHECK(duplicates > 0);
  CHECK(lives["crash"] == 1);
  CHECK(lives["restart"] == 1);
  CHECK(lives["pause"] == 1);
  CHECK(lives["resume"] == 1);
  CHECK(fault_starts >= 4);
}

TEST_CASE("output.trace: a bad window or budget is refused with where and why") {
  auto errors = [](const std::string& trace) {
    Diagnostics diag;
    const std::string yaml =
        "duration: 10s\ngroups:\n  - {name: web, model: server}\noutput:\n  trace: " + trace + "\n";
    auto spec = load_scenario_text(yaml, "t.yaml", {}, dsim::testing::builtin_registry(), diag);
    CHECK_FALSE(spec);
    return diag.render();
  };
  CHECK_THAT(errors("{window: [2s, 1s]}"),
             Catch::Contains("t.yaml:5:") &&
                 Catch::Contains("output.trace.window: from (2s) must be before to (1s)"));
  CHECK_THAT(errors("{window: [12s, 15s]}"),
             Catch::Contains("output.trace.window: from (12s) must be before the end of the run"));
  CHECK_THAT(errors("{window: [1s]}"), Catch::Contains("output.trace.window: expected [from, to]"));
  CHECK_THAT(errors("{window: [1s, soon]}"), Catch::Contains("output.trace.window: to:"));
  CHECK_THAT(errors("{max_events: -1}"), Catch::Contains("output.trace.max_events: must be"));
  CHECK_THAT(errors("{max_events: 0}"), Catch::Contains("output.trace.max_events: must be"));
  CHECK_THAT(errors("{windw: [1s, 2s]}"), Catch::Contains("unknown key 'windw'"));
  CHECK_THAT(errors("maybe"), Catch::Contains("output.trace: expected true, false or a map"));
}
