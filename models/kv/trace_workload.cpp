// kv_client's trace-driven workload (`trace`, models/kit/trace_feed.h): the operations are
// the rows of a request trace instead of arrivals, a key distribution and a mix. A row's
// get is a get of its key (plus first_key); its put is a put of that key whose value is
// the row's size in bytes (at most 4GiB - 1; the value itself is unique to the write, as
// every kv_client write's, for the checkers). The key-value contract has no delete: a trace
// with a delete row is refused at load time, naming the row.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "models/kv/client.h"

namespace dsim::kv {

void KvClient::read_trace(ParamReader& r, Config& c) {
  c.trace = kit::read_trace_param(
      r,
      "a request trace (CSV time,key,size[,op], models/kit/trace.h; relative to the scenario's "
      "folder) whose rows are the operations: row i is sent by node i mod count at its time, "
      "a get or a put (of a value of the row's size) of the row's key + first_key, `start` "
      "later; replaces load, arrival, rate, keys, mix and value_size (default: none)",
      "the key-value contract has no delete (rewrite the trace's deletes, e.g. as puts, or drop "
      "them)");
  kit::refuse_with_trace(r, {"load", "arrival", "rate", "rate_schedule", "rate_sine", "users",
                             "think_time", "keys", "mix", "value_size"});
  if (c.trace) c.mix = kit::trace_mix(*c.trace, {"get", "put", "delete"});
}

void KvClient::start_trace_op(Context& ctx, const kit::TraceRow& row) {
  if (!rpc_.has_targets()) return;
  const KvOpKind kind = row.op == kit::TraceOp::kPut ? KvOpKind::kPut : KvOpKind::kGet;
  const auto bytes =
      static_cast<uint32_t>(std::min<uint64_t>(row.size, std::numeric_limits<uint32_t>::max()));
  const uint32_t session = sessions_.next(0);
  begin(ctx, 0, false, make_request(ctx, kind, row.key + config_.first_key, session, bytes));
}

}  // namespace dsim::kv
