#include "models/kv/check/history_files.h"

#include <algorithm>
#include <cstdio>
#include <queue>
#include <set>
#include <vector>

#include "sim/core/csv.h"

namespace dsim::kv::check {

namespace {

std::string seconds_text(SimTime t) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%09lld s", static_cast<long long>(t.ns() / 1'000'000'000),
                static_cast<long long>(t.ns() % 1'000'000'000));
  return buf;
}

std::string list_text(std::span<const int64_t> l, const char* sep) {
  std::string s;
  for (size_t i = 0; i < l.size(); ++i) {
    if (i) s += sep;
    s += std::to_string(l[i]);
  }
  return s;
}

std::string edn_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::set<uint64_t> list_keys(const KvHistory& h) {
  std::set<uint64_t> keys;
  for (const auto& o : h.ops())
    if (o.kind == KvOpKind::kAppend) keys.insert(o.key);
  return keys;
}

// Jepsen processes are sequential: give each operation a process that is idle when it is
// invoked; one whose operation has an unknown outcome is never reused (Jepsen's rule for
// :info operations).
std::vector<uint64_t> jepsen_processes(const KvHistory& h) {
  std::vector<uint64_t> process(h.size());
  using Free = std::pair<int64_t, uint64_t>;  // (free from, process)
  std::priority_queue<Free, std::vector<Free>, std::greater<>> idle;
  uint64_t next = 0;
  std::vector<uint32_t> order(h.size());
  for (uint32_t i = 0; i < h.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return h.ops()[a].invoke < h.ops()[b].invoke; });
  for (uint32_t i : order) {
    const KvHistoryOp& o = h.ops()[i];
    if (!idle.empty() && idle.top().first < o.invoke.ns()) {
      process[i] = idle.top().second;
      idle.pop();
    } else {
      process[i] = next++;
    }
    if (o.outcome != HistoryOutcome::kUnknown) idle.push({o.complete.ns(), process[i]});
  }
  return process;
}

struct EdnEvent {
  int64_t time;
  bool completion;
  uint32_t op;
};

// Every operation's invocation and completion; an operation that never completed
// completes at the history's last time.
std::vector<EdnEvent> edn_events(const KvHistory& h) {
  std::vector<EdnEvent> events;
  int64_t last = 0;
  for (uint32_t i = 0; i < h.size(); ++i) {
    const KvHistoryOp& o = h.ops()[i];
    events.push_back({o.invoke.ns(), false, i});
    if (o.complete != KvHistoryOp::kNever) last = std::max(last, o.complete.ns());
    last = std::max(last, o.invoke.ns());
  }
  for (uint32_t i = 0; i < h.size(); ++i) {
    const KvHistoryOp& o = h.ops()[i];
    events.push_back({o.complete == KvHistoryOp::kNever ? last : o.complete.ns(), true, i});
  }
  // Invocations before completions at the same time: operations that touch at an instant
  // are concurrent (dsim's rule, and the checkers'), and an operation still in flight at
  // the end gets its :info after its own :invoke. Then by operation.
  std::stable_sort(events.begin(), events.end(), [](const EdnEvent& a, const EdnEvent& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.completion != b.completion) return !a.completion;
    return a.op < b.op;
  });
  return events;
}

std::string edn_type(const KvHistoryOp& o, bool completion) {
  if (!completion) return ":invoke";
  return o.outcome == HistoryOutcome::kOk     ? ":ok"
         : o.outcome == HistoryOutcome::kFail ? ":fail"
                                              : ":info";
}

struct EdnOp {
  std::string f, value;
};

// An operation on a key with appends, as an Elle list-append transaction.
EdnOp edn_list_op(const KvHistory& h, const KvHistoryOp& o, bool read_ok) {
  const std::string k = std::to_string(o.key);
  switch (o.kind) {
    case KvOpKind::kGet:
      return {":txn",
              "[[:r " + k + " " +
                  (read_ok ? "[" + list_text(h.read_value(o), " ") + "]" : std::string("nil")) +
                  "]]"};
    case KvOpKind::kAppend:
      return {":txn", "[[:append " + k + " " + std::to_string(o.value) + "]]"};
    case KvOpKind::kPut:
    case KvOpKind::kCas:  // not expressible in list-append: a plain write
      return {":txn", "[[:w " + k + " " + std::to_string(o.value) + "]]"};
  }
  return {":txn", ""};
}

// An operation on any other key, as a Knossos cas-register operation.
EdnOp edn_register_op(const KvHistory& h, const KvHistoryOp& o, bool read_ok) {
  const std::string k = std::to_string(o.key);
  switch (o.kind) {
    case KvOpKind::kGet: {
      const auto v = h.read_value(o);
      return {":read",
              "[" + k + " " + (read_ok && !v.empty() ? std::to_string(v[0]) : "nil") + "]"};
    }
    case KvOpKind::kPut:
      return {":write", "[" + k + " " + std::to_string(o.value) + "]"};
    case KvOpKind::kCas:
      return {":cas", "[" + k + " [" + (o.expected_absent ? "nil" : std::to_string(o.expected)) +
                          " " + std::to_string(o.value) + "]]"};
    case KvOpKind::kAppend:
      break;  // never: a key with an append is a list key
  }
  return {};
}

// The elements, or with more than `max` the first and last max/2 and how many in all.
std::string elided_list(std::span<const int64_t> v, size_t max) {
  if (max == 0 || v.size() <= max) return list_text(v, " ");
  const size_t half = std::max<size_t>(1, max / 2);
  return list_text(v.first(half), " ") + " ... (" + std::to_string(v.size()) + " elements) ... " +
         list_text(v.last(half), " ");
}

}  // namespace

std::string render_history_csv(const KvHistory& h, const NodeNamer& name,
                               const std::string& header) {
  std::string out = header;
  out +=
      "# one row per client operation in invoke order; times are true simulated time in ns; "
      "values identify the write that produced them; read = the list a get returned "
      "(space-separated)\n";
  out +=
      "index,client,session,op,key,value,expected,read,outcome,invoke_ns,complete_ns,attempts,"
      "idempotency_key,final\n";
  for (uint32_t i = 0; i < h.size(); ++i) {
    const KvHistoryOp& o = h.ops()[i];
    out += std::to_string(i) + "," + csv_cell(name(o.client)) + "," + std::to_string(o.session) +
           "," + std::string(o.probe ? "probe" : kv_op_name(o.kind)) + "," + std::to_string(o.key) +
           ",";
    if (o.is_write() || o.probe) out += std::to_string(o.value);
    out += ",";
    if (o.kind == KvOpKind::kCas) out += o.expected_absent ? "absent" : std::to_string(o.expected);
    out += ",";
    if (o.kind == KvOpKind::kGet && o.ok()) out += list_text(h.read_value(o), " ");
    out += "," + std::string(history_outcome_name(o.outcome)) + "," +
           std::to_string(o.invoke.ns()) + ",";
    if (o.complete != KvHistoryOp::kNever) out += std::to_string(o.complete.ns());
    out += "," + std::to_string(o.attempts) + "," + std::to_string(o.idempotency_key) + "," +
           (o.final_read ? "1" : "0") + "\n";
  }
  return out;
}

std::string render_history_edn(const KvHistory& h, const NodeNamer& name,
                               const std::string& header) {
  const std::set<uint64_t> lists = list_keys(h);
  const std::vector<uint64_t> process = jepsen_processes(h);
  std::string out = header;
  out +=
      ";; Jepsen history: one operation map per line. Keys with appends are Elle "
      "list-append transactions; the others Knossos cas-register operations on independent "
      "keys ([key value]). :time is true simulated time in ns.\n";
  uint64_t index = 0;
  for (const EdnEvent& e : edn_events(h)) {
    const KvHistoryOp& o = h.ops()[e.op];
    const bool read_ok = e.completion && o.ok();
    const EdnOp op =
        lists.count(o.key) > 0 ? edn_list_op(h, o, read_ok) : edn_register_op(h, o, read_ok);
    out += "{:type " + edn_type(o, e.completion) + ", :f " + op.f + ", :value " + op.value +
           ", :process " + std::to_string(process[e.op]) + ", :time " + std::to_string(e.time) +
           ", :index " + std::to_string(index++) + ", :client " + edn_string(name(o.client)) +
           ", :session " + std::to_string(o.session) + "}\n";
  }
  return out;
}

std::string describe_op(const KvHistory& h, uint32_t index, const NodeNamer& name,
                        size_t max_elements) {
  const KvHistoryOp& o = h.ops()[index];
  std::string s = "#" + std::to_string(index) + " " + name(o.client) + "/s" +
                  std::to_string(o.session) + " " + std::string(kv_op_name(o.kind)) + " key " +
                  std::to_string(o.key);
  switch (o.kind) {
    case KvOpKind::kGet:
      if (o.ok()) s += " -> [" + elided_list(h.read_value(o), max_elements) + "]";
      break;
    case KvOpKind::kPut:
    case KvOpKind::kAppend:
      s += " " + std::to_string(o.value);
      break;
    case KvOpKind::kCas:
      s += " " + (o.expected_absent ? std::string("absent") : std::to_string(o.expected)) + " -> " +
           std::to_string(o.value);
      break;
  }
  s += " " + std::string(history_outcome_name(o.outcome)) + " [" + seconds_text(o.invoke) + ", " +
       (o.complete == KvHistoryOp::kNever ? std::string("never") : seconds_text(o.complete)) + "]";
  return s;
}

}  // namespace dsim::kv::check
