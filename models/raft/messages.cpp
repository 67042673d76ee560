#include "models/raft/messages.h"

#include "sim/core/bytes.h"
#include "sim/core/rng.h"

namespace dsim::raft {

using kv::KvOpKind;

namespace {

std::string term_str(uint64_t t) {
  return "t" + std::to_string(t);
}

}  // namespace

bool Entry::same_as(const Entry& o) const {
  if (term != o.term || kind != o.kind) return false;
  if (kind == EntryKind::kNoop) return true;
  return cmd.op == o.cmd.op && cmd.key == o.cmd.key && cmd.value == o.cmd.value &&
         cmd.expected == o.cmd.expected && cmd.expected_absent == o.cmd.expected_absent &&
         cmd.call.idempotency_key == o.cmd.call.idempotency_key && cmd.session == o.cmd.session &&
         cmd.call.id == o.cmd.call.id;
}

uint64_t Entry::digest() const {
  uint64_t h = mix64(term ^ (static_cast<uint64_t>(kind) << 56));
  if (kind == EntryKind::kNoop) return h;
  for (uint64_t v : {static_cast<uint64_t>(cmd.op), cmd.key, static_cast<uint64_t>(cmd.value),
                     static_cast<uint64_t>(cmd.expected), cmd.call.idempotency_key, cmd.session,
                     cmd.call.id, static_cast<uint64_t>(cmd.expected_absent)}) {
    h = mix64(h ^ v);
  }
  return h;
}

uint32_t AppendEntries::size_bytes() const {
  uint32_t n = 48;
  if (entries) {
    for (const auto& e : *entries)
      n += e.size_bytes();
  }
  return n;
}

std::string RequestVote::describe() const {
  return std::string(pre_vote ? "pre_vote " : "request_vote ") + term_str(term) + " last " +
         std::to_string(last_log_index) + "@" + term_str(last_log_term);
}

std::string VoteReply::describe() const {
  return std::string(pre_vote ? "pre_vote_reply " : "vote_reply ") + term_str(term) +
         (granted ? " granted" : " refused");
}

std::string AppendEntries::describe() const {
  std::string s = "append_entries " + term_str(term) + " prev " + std::to_string(prev_log_index) +
                  "@" + term_str(prev_log_term) + " commit " + std::to_string(leader_commit);
  if (count() == 0) return s + " (heartbeat, round " + std::to_string(round) + ")";
  return s + " entries " + std::to_string(prev_log_index + 1) + ".." +
         std::to_string(prev_log_index + count());
}

std::string AppendReply::describe() const {
  std::string s = "append_reply " + term_str(term);
  if (success) return s + " ok match " + std::to_string(match_index);
  return s + " rejected prev " + std::to_string(rejected_prev) + " (conflict " +
         std::to_string(conflict_index) + "@" + term_str(conflict_term) + ")";
}

std::string InstallSnapshot::describe() const {
  return "install_snapshot " + term_str(term) + " up to " + std::to_string(last_included_index) +
         "@" + term_str(last_included_term) + " bytes " + std::to_string(offset) + ".." +
         std::to_string(offset + length) + (done ? " (last)" : "");
}

std::string SnapshotReply::describe() const {
  return "snapshot_reply " + term_str(term) + " up to " + std::to_string(last_included_index) +
         (done ? " installed" : " have " + std::to_string(next_offset) + " bytes");
}

// Layout: term, time, kind, then for commands: op, expected_absent, key, value, expected,
// idempotency key, session, value bytes, call id. Little-endian, fixed width.
void encode_entry(const Entry& e, std::string& out) {
  put_u64(out, e.term);
  put_u64(out, static_cast<uint64_t>(e.time.ns()));
  out.push_back(static_cast<char>(e.kind));
  if (e.kind == EntryKind::kNoop) return;
  out.push_back(static_cast<char>(e.cmd.op));
  out.push_back(static_cast<char>(e.cmd.expected_absent ? 1 : 0));
  put_u64(out, e.cmd.key);
  put_u64(out, static_cast<uint64_t>(e.cmd.value));
  put_u64(out, static_cast<uint64_t>(e.cmd.expected));
  put_u64(out, e.cmd.call.idempotency_key);
  put_u64(out, e.cmd.session);
  put_u64(out, e.cmd.value_bytes);
  put_u64(out, e.cmd.call.id);
}

bool decode_entry(std::string_view in, size_t& pos, Entry& e) {
  uint64_t t = 0, time = 0;
  if (!get_u64(in, pos, t) || !get_u64(in, pos, time) || pos >= in.size()) return false;
  e = Entry{};
  e.term = t;
  e.time = SimTime::from_ns(static_cast<int64_t>(time));
  const auto kind = static_cast<uint8_t>(in[pos++]);
  if (kind > static_cast<uint8_t>(EntryKind::kRead)) return false;
  e.kind = static_cast<EntryKind>(kind);
  if (e.kind == EntryKind::kNoop) return true;
  if (pos + 2 > in.size()) return false;
  const auto op = static_cast<uint8_t>(in[pos++]);
  if (op > static_cast<uint8_t>(KvOpKind::kAppend)) return false;
  e.cmd.op = static_cast<KvOpKind>(op);
  e.cmd.expected_absent = in[pos++] != 0;
  uint64_t value = 0, expected = 0, bytes = 0;
  if (!get_u64(in, pos, e.cmd.key) || !get_u64(in, pos, value) || !get_u64(in, pos, expected) ||
      !get_u64(in, pos, e.cmd.call.idempotency_key) || !get_u64(in, pos, e.cmd.session) ||
      !get_u64(in, pos, bytes) || !get_u64(in, pos, e.cmd.call.id)) {
    return false;
  }
  e.cmd.value = static_cast<int64_t>(value);
  e.cmd.expected = static_cast<int64_t>(expected);
  e.cmd.value_bytes = static_cast<uint32_t>(bytes);
  return true;
}

}  // namespace dsim::raft
