// Trace-driven workloads: the trace parameter, read once per group, and each node's rows
// sent at their times (trace_feed.h).
#include "models/kit/trace_feed.h"

#include <algorithm>

#include "sim/core/distribution_parse.h"
#include "sim/core/text_input.h"

namespace dsim::kit {

SharedTrace read_trace_param(ParamReader& r, std::string_view help, std::string_view no_delete) {
  if (!r.has("trace") && !r.doc_mode()) return nullptr;
  const std::string name = r.text("trace", "none", help);
  if (r.doc_mode()) return nullptr;
  std::string err;
  const auto path = data_file_path(r.env().base_dir, name, &err);
  if (!path) {
    r.error("trace", err);
    return nullptr;
  }
  const auto text = read_text_file(*path, kMaxDataFileBytes, &err);
  if (!text) {
    r.error("trace", "cannot read '" + *path + "': " + err);
    return nullptr;
  }
  auto rows = parse_trace(*text, *path, &err);
  if (!rows) {
    r.error("trace", err);
    return nullptr;
  }
  if (rows->empty()) {
    r.error("trace", "'" + *path + "' holds no requests");
    return nullptr;
  }
  if (!no_delete.empty()) {
    const auto del = std::find_if(rows->begin(), rows->end(),
                                  [](const TraceRow& row) { return row.op == TraceOp::kDelete; });
    if (del != rows->end()) {
      const size_t line = trace_row_line(*text, static_cast<size_t>(del - rows->begin()));
      r.error("trace",
              *path + ":" + std::to_string(line) + ": a delete: " + std::string(no_delete));
      return nullptr;
    }
  }
  return std::make_shared<const std::vector<TraceRow>>(std::move(*rows));
}

void refuse_with_trace(ParamReader& r, std::initializer_list<std::string_view> keys) {
  if (!has_trace(r)) return;
  for (std::string_view key : keys) {
    if (r.has(key)) {
      r.raw(key, "", "");  // read: reported here, not as a key nobody reads
      r.error(key,
              "cannot be given with trace: the trace's rows say when operations come, "
              "on which key and which operation");
    }
  }
}

std::vector<std::pair<std::string, double>> trace_mix(
    const std::vector<TraceRow>& rows, const std::array<std::string_view, 3>& names) {
  std::array<double, 3> count{};
  for (const TraceRow& row : rows)
    count[static_cast<size_t>(row.op)] += 1;
  std::vector<std::pair<std::string, double>> mix;
  for (size_t k = 0; k < names.size(); ++k) {
    if (count[k] > 0) mix.emplace_back(std::string(names[k]), count[k]);
  }
  return mix;
}

void TraceFeed::start(Context& ctx, SharedTrace rows, Duration start,
                      std::optional<Duration> stop) {
  rows_ = std::move(rows);
  if (stop) stop_ = *stop - start;
  origin_ = ctx.monotonic() + start;
  next_ = ctx.index_in_group();
  step_ = std::max<size_t>(1, ctx.group_nodes(ctx.group_name()).size());
  schedule(ctx);
}

bool TraceFeed::pending(size_t i) const {
  return rows_ && i < rows_->size() && !(stop_ && (*rows_)[i].time.since_start() >= *stop_);
}

bool TraceFeed::due(const Context& ctx, const TraceRow& row) const {
  return row.time.since_start().ns() <= ctx.monotonic().ns() - origin_.ns();
}

void TraceFeed::schedule(Context& ctx) {
  if (!pending(next_)) return;
  const int64_t elapsed = ctx.monotonic().ns() - origin_.ns();
  const int64_t at = (*rows_)[next_].time.since_start().ns();
  ctx.set_timer(Duration::from_ns(std::max<int64_t>(0, at - elapsed)), tag_);
}

}  // namespace dsim::kit
