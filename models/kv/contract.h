// The key-value service contract: the one request/response message set every storage
// model speaks (kv_store here; Raft, quorum replication, primary-backup, ...), so one
// client workload (kv_client) and one set of checkers (sim/check) serve them all.
//
// A key (uint64) holds a list of 64-bit values. As a register it holds at most one:
// put(v) sets it to [v]; cas(e, v) sets it to [v] if it is [e] (or, with
// expected_absent, if it has no value); get returns it. As a list, append(x) adds x at
// the end and get returns the whole list. Values identify the logical write that
// produced them (the kv_client writes each value once; a retry resends the same value),
// which is what lets the checkers tell what a read saw.
//
// Requests are calls (models/kit/call.h): a store answers each one once, to the node its
// header names (reply_to), with a KvResponse carrying the call's id:
//   kOk            done; for get, `value` is what was read
//   kCasMismatch   the compare-and-set found another value: definitely not applied
//   kNotLeader     not applied; this node does not serve the request: try `hint` (a
//                  node of the same group; kNoNode when it does not know)
//   kUnavailable   not applied, definitely (no quorum, overloaded, shutting down)
//   kIndeterminate the store cannot tell whether it was applied (a coordinator gave up
//                  waiting for replicas that may have applied it)
//   kMiss          a look-aside cache (below) holds no copy of the key: the answer says
//                  nothing of the key's value
// A store that does not answer leaves the client to time out: an unknown outcome.
//
// Retried writes carry the same idempotency key (in the call header: the call layer keeps
// it across a call's attempts), so a store can apply a write once however often it
// arrives (KvStateMachine does this).
//
// Causal contexts (optional; stores that version values with vector clocks, e.g. quorum):
// a response may carry `causal` — every sibling the store found (concurrent values none of
// which supersedes the others, in the store's order) and an opaque context naming the
// versions the client has now seen. The client decides what it read from the siblings
// (its merge policy) and sends the context back with its next write of the key, as a
// KvContextRequest, so that write supersedes exactly the versions it saw (Dynamo, DeCandia
// et al. 2007, 4.4: "the client must specify which version it is updating by passing the
// context it obtained from an earlier read"). Stores that never hand out a context never
// receive a KvContextRequest; the fields cost nothing to those that do not use them.
//
// Look-aside caches (a `cache` without an origin: memcached as Facebook runs it, Redis as
// most applications use it): the cache answers a get it cannot serve with kMiss, and the
// caller reads the origin itself, then fills the cache with what it read (a KvCacheOp);
// a caller that writes the origin deletes the cache's copy (a KvCacheOp too). A miss may
// hand the caller a lease (`lease` in the response, Nishtala et al., NSDI 2013, 3.2.1):
// the fill must carry it, and a delete of the key since the miss voids it, so a fill of a
// value read before a newer write cannot land after that write's delete.
//
// Session tokens: a store may put an opaque `session_token` (non-zero) in any answer; the
// client keeps, per session, the largest token it received and sends it with every later
// request of that session (0 until it has one). A replicated store uses it to give a
// session guarantees across replicas (read-your-writes: a replica serves a read only if
// its copy covers the token, else it redirects). Stores that do not use tokens leave it 0,
// and a zero token costs nothing on the wire.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/kit/call.h"
#include "sim/core/ids.h"
#include "sim/core/message.h"

namespace dsim::kv {

enum class KvOpKind : uint8_t {
  kGet,     ///< read the key's value (a register's value, or the whole list)
  kPut,     ///< replace the value with [value]
  kCas,     ///< if the value is [expected] (or absent), replace it with [value]
  kAppend,  ///< append value to the list
};
std::string_view kv_op_name(KvOpKind k);

/// A key's value: a list of elements, kept inline when it has at most one (a register)
/// and shared copy-on-write otherwise, so responses carry lists without copying them.
class KvValue {
 public:
  KvValue() = default;
  static KvValue single(int64_t v, uint32_t bytes) {
    KvValue x;
    x.one_ = v;
    x.size_ = 1;
    x.bytes_ = bytes;
    return x;
  }

  bool empty() const { return size_ == 0; }
  uint32_t size() const { return size_; }
  /// Bytes the value occupies on the wire (the sum of its elements' sizes).
  uint32_t bytes() const { return bytes_; }
  std::span<const int64_t> elements() const {
    if (size_ == 0) return {};
    if (size_ == 1) return std::span<const int64_t>(&one_, 1);
    return std::span<const int64_t>(*many_);
  }
  /// The same elements taking `bytes` on the wire (a cached object's body, whatever the
  /// value that stands for it).
  KvValue with_bytes(uint32_t bytes) const {
    KvValue x = *this;
    x.bytes_ = bytes;
    return x;
  }
  /// True when the value is exactly [v].
  bool is_single(int64_t v) const { return size_ == 1 && one_ == v; }

  void append(int64_t v, uint32_t bytes) {
    if (size_ == 0) {
      *this = single(v, bytes);
      return;
    }
    if (size_ == 1) {
      many_ = std::make_shared<std::vector<int64_t>>(std::vector<int64_t>{one_, v});
    } else {
      if (many_.use_count() > 1) many_ = std::make_shared<std::vector<int64_t>>(*many_);
      many_->push_back(v);
    }
    ++size_;
    bytes_ += bytes;
  }

 private:
  int64_t one_ = 0;
  uint32_t size_ = 0;
  uint32_t bytes_ = 0;
  std::shared_ptr<std::vector<int64_t>> many_;  // size_ >= 2; never mutated while shared
};

/// What a store that keeps concurrent versions adds to a response (see the top of this file).
struct KvCausal {
  /// Every value of the key's siblings, in the store's order (the quorum model: by the
  /// wall-clock time of the write, oldest first). Empty unless there are two or more.
  std::vector<KvValue> siblings;
  /// Opaque to clients: send it back with the next write of the key.
  std::vector<uint64_t> context;

  uint32_t bytes() const {
    uint32_t b = static_cast<uint32_t>(context.size() * sizeof(uint64_t));
    for (const auto& v : siblings)
      b += v.bytes();
    return b;
  }
};

/// An optional KvCausal held by pointer, so a response without one stays small enough to
/// travel inline in a Message; copying it copies the payload.
class KvCausalPtr {
 public:
  KvCausalPtr() = default;
  explicit KvCausalPtr(KvCausal c) : p_(std::make_unique<KvCausal>(std::move(c))) {}
  KvCausalPtr(const KvCausalPtr& o) : p_(o.p_ ? std::make_unique<KvCausal>(*o.p_) : nullptr) {}
  KvCausalPtr(KvCausalPtr&&) noexcept = default;
  KvCausalPtr& operator=(const KvCausalPtr& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<KvCausal>(*o.p_) : nullptr;
    return *this;
  }
  KvCausalPtr& operator=(KvCausalPtr&&) noexcept = default;
  ~KvCausalPtr() = default;

  explicit operator bool() const { return p_ != nullptr; }
  const KvCausal* get() const { return p_.get(); }
  const KvCausal* operator->() const { return p_.get(); }
  const KvCausal& operator*() const { return *p_; }
  uint32_t bytes() const { return p_ ? p_->bytes() : 0; }

 private:
  std::unique_ptr<KvCausal> p_;
};

enum class KvStatus : uint8_t {
  kOk,
  kCasMismatch,
  kNotLeader,
  kUnavailable,
  kIndeterminate,
  kMiss,
};
std::string_view kv_status_name(KvStatus s);

/// Bytes of a request or response beyond its value (call header, key, status): a fixed
/// estimate.
inline constexpr uint32_t kKvHeaderBytes = 40;

struct KvRequest {
  static constexpr std::string_view kName = "kv_request";
  kit::CallHeader call;  ///< the call's id (echoed in the response), who to answer, deadline
  uint64_t key = 0;
  int64_t value = 0;           ///< put: the value; cas: the new value; append: the element
  int64_t expected = 0;        ///< cas
  uint64_t session = 0;        ///< (client node << 32) | session: for session guarantees
  uint64_t session_token = 0;  ///< the largest token the session received; 0: none
  uint32_t value_bytes = 0;    ///< size of `value` on the wire (writes)
  KvOpKind op = KvOpKind::kGet;
  bool expected_absent = false;  ///< cas: expects no value

  uint32_t size_bytes() const {
    return kKvHeaderBytes + (op == KvOpKind::kGet ? 0 : value_bytes) + (session_token ? 8 : 0);
  }
  std::string describe() const;
};

/// A KvRequest with the causal context a store handed out for the key (see the top of this
/// file). On the wire it is a `kv_request` like any other (the same kind for
/// network.message_delay).
struct KvContextRequest {
  static constexpr std::string_view kName = "kv_request";
  KvRequest req;
  std::vector<uint64_t> context;

  uint32_t size_bytes() const {
    return req.size_bytes() + static_cast<uint32_t>(context.size() * sizeof(uint64_t));
  }
  std::string describe() const { return req.describe() + " (with context)"; }
};

struct KvResponse {
  static constexpr std::string_view kName = "kv_response";
  uint64_t call = 0;           ///< the id of the call it answers
  KvValue value;               ///< get: what was read (with siblings: the store's pick)
  uint64_t session_token = 0;  ///< for the session's later requests (0: none); see above
  NodeId hint = kNoNode;       ///< kNotLeader: the node to try instead, if known
  KvStatus status = KvStatus::kOk;
  uint64_t lease = 0;  ///< kMiss: the lease a fill of the key must carry (0: none)
  KvCausalPtr causal;  ///< siblings and causal context, from stores that version causally

  uint32_t size_bytes() const {
    return kKvHeaderBytes + value.bytes() + causal.bytes() + (session_token ? 8 : 0);
  }
  std::string describe() const;
};
/// To a look-aside cache (see the top of this file): fill the key's copy with `value`, read
/// from the origin by the caller after a miss (with the miss's lease, if it had one), or
/// delete the copy (`erase`) after the caller wrote the origin. Answered with a KvResponse:
/// kOk, or kCasMismatch for a fill the cache refused (its lease was void: not stored).
struct KvCacheOp {
  static constexpr std::string_view kName = "kv_cache_op";
  kit::CallHeader call;
  uint64_t key = 0;
  KvValue value;       ///< fill: the copy
  uint64_t lease = 0;  ///< fill: the lease the miss handed out (0: none)
  bool erase = false;  ///< a delete instead of a fill

  uint32_t size_bytes() const { return kKvHeaderBytes + (erase ? 0 : value.bytes()) + 8; }
  std::string describe() const;
};

// Requests and responses travel inline in a Message (no allocation per message).
static_assert(sizeof(KvRequest) <= Message::kInlineBytes);
static_assert(sizeof(KvResponse) <= Message::kInlineBytes);
static_assert(sizeof(KvCacheOp) <= Message::kInlineBytes);

/// A response to `req` with the given status and no value.
inline KvResponse kv_reply(const KvRequest& req, KvStatus status, NodeId hint = kNoNode) {
  KvResponse r;
  r.call = req.call.id;
  r.status = status;
  r.hint = hint;
  return r;
}

}  // namespace dsim::kv
