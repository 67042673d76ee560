#include "sim/run/diagram_recording.h"

#include <map>

#include "sim/core/assert.h"
#include "sim/core/csv.h"
#include "sim/run/report.h"

namespace dsim {

namespace {

std::string life_name(NodeStatus before, NodeStatus after) {
  if (after == NodeStatus::kDown) return "crash";
  if (after == NodeStatus::kPaused) return "pause";
  return before == NodeStatus::kPaused ? "resume" : "restart";
}

void add_messages(const MessageLog& log, DiagramRecording& rec) {
  rec.messages.reserve(log.records().size());
  for (const MessageRecord& r : log.records()) {
    DiagramMessage m;
    m.sent = r.sent;
    m.from = r.from;
    m.to = r.to;
    m.kind = log.kinds()[r.kind];
    m.bytes = r.bytes;
    m.duplicate = r.duplicate;
    if (r.fate == MessageFate::kInFlight) {
      m.outcome = "in_flight";
    } else {
      m.ended = r.ended;
      m.outcome = r.fate == MessageFate::kDelivered ? "delivered" : std::string(r.cause);
    }
    rec.messages.push_back(std::move(m));
  }
  rec.not_drawn = log.not_kept();
  rec.first_not_drawn = log.first_not_kept();
}

void add_node_events(const Engine& engine, DiagramRecording& rec) {
  std::vector<NodeStatus> status(engine.node_count(), NodeStatus::kUp);
  for (const NodeLifeEvent& e : engine.life_log()) {
    if (e.at > rec.to) break;
    rec.node_events.push_back({e.at, e.node, life_name(status[e.node], e.status)});
    status[e.node] = e.status;
  }
}

void add_faults(const Engine& engine, DiagramRecording& rec) {
  std::map<uint64_t, SimTime> ends;
  for (const FaultEvent& e : engine.fault_log()) {
    if (e.phase == FaultPhase::kEnd) ends[e.id] = e.at;
  }
  for (const FaultEvent& e : engine.fault_log()) {
    if (e.phase == FaultPhase::kEnd || e.at > rec.to) continue;
    DiagramFault f{e.id,
                   e.kind,
                   e.at,
                   std::nullopt,
                   e.phase == FaultPhase::kInstant,
                   e.no_target ? "no target" : e.targets,
                   e.detail};
    if (auto it = ends.find(e.id); it != ends.end()) f.end = it->second;
    const SimTime last = f.instant ? f.start : f.end.value_or(SimTime::max());
    if (last < rec.from) continue;
    rec.faults.push_back(std::move(f));
  }
}

void add_client_ops(const Engine& engine, DiagramRecording& rec) {
  const Histories& h = engine.metrics().history();
  rec.history_recorded = !h.empty();
  if (!rec.client) return;
  for (const auto& log : h.logs()) {
    for (size_t i = 0; i < log->size(); ++i) {
      const HistorySpan s = log->span(i);
      if (s.client != *rec.client || s.invoke > rec.to) continue;
      DiagramOp op{s.invoke, std::nullopt, std::string(engine.symbols().name(log->op_type(i))),
                   s.served};
      if (s.complete != HistoryLog::kNever) op.complete = s.complete;
      if (op.complete && *op.complete < rec.from) continue;
      rec.client_ops.push_back(std::move(op));
    }
  }
}

}  // namespace

DiagramRecording record_diagram(const ScenarioSpec& spec, const DiagramSpec& diagram,
                                const Engine& engine, SimTime run_end) {
  const EventTrace* trace = engine.event_trace();
  DSIM_ASSERT(trace && trace->messages(), "a diagram of a run that kept no messages");
  DiagramRecording rec;
  rec.header = file_header(spec);
  if (!rec.header.empty() && rec.header.back() == '\n') rec.header.pop_back();
  rec.title = spec.name + " seed " + std::to_string(spec.seed);
  rec.from = diagram.from;
  rec.to = diagram.to < run_end ? diagram.to : run_end;
  rec.run_end = run_end;
  rec.max_messages = diagram.max_messages;
  for (NodeId id = 0; id < engine.node_count(); ++id) {
    rec.node_names.push_back(engine.node_name(id));
    rec.node_groups.push_back(engine.groups()[engine.group_of(id)].name);
  }
  if (!diagram.client.empty()) {
    for (NodeId id = 0; id < rec.node_names.size(); ++id) {
      if (rec.node_names[id] == diagram.client) rec.client = id;
    }
  }
  add_messages(*trace->messages(), rec);
  add_node_events(engine, rec);
  add_faults(engine, rec);
  add_client_ops(engine, rec);
  return rec;
}

std::string render_messages_csv(const ScenarioSpec& spec, const DiagramRecording& rec) {
  std::string out = file_header(spec);
  out += "# every message sent from " + format_seconds(rec.from) + " s to " +
         format_seconds(rec.to) + " s (output.diagram), in send order";
  if (rec.not_drawn > 0) {
    out += "; " + std::to_string(rec.not_drawn) + " more sent from " +
           format_seconds(rec.first_not_drawn) + " s on are not listed (max_messages)";
  }
  out += "\nsent_s,ended_s,from,to,kind,bytes,outcome,duplicate\n";
  for (const DiagramMessage& m : rec.messages) {
    out += format_seconds(m.sent) + "," + (m.ended ? format_seconds(*m.ended) : "") + "," +
           csv_cell(rec.node_names[m.from]) + "," + csv_cell(rec.node_names[m.to]) + "," +
           csv_cell(m.kind) + "," + std::to_string(m.bytes) + "," + m.outcome + "," +
           (m.duplicate ? "1" : "0") + "\n";
  }
  return out;
}

}  // namespace dsim
