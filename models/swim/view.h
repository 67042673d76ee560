// A SWIM member's view of the group and the updates it spreads.
//   - View: each member's state (alive, suspect, dead, left) and incarnation, stored only
//     where it differs from its state at the start: "alive at incarnation 0" for the group's
//     first members, "left at incarnation 0" (not a member yet) for those that join later.
//     SWIM's precedence rules (section 4.2): alive(i) overrides suspect(j) and alive(j) when
//     i > j; suspect(i) overrides alive(j) when i >= j and suspect(j) when i > j; dead
//     overrides both when its incarnation is at least theirs. Alive with a higher
//     incarnation also overrides dead and left (a member back after a restart, or joining
//     again), as memberlist does. Left (a member's own word that it leaves, memberlist's
//     StateLeft) overrides alive, suspect and dead at an incarnation at least theirs, and
//     dead does not override it: a member that left is not declared dead.
//   - Dissemination: the updates waiting to be piggybacked, each sent at most `limit`
//     times, the least sent first (section 4.1's infection-style dissemination).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace dsim::swim {

enum class State : uint8_t { kAlive, kSuspect, kDead, kLeft };

struct Update {
  uint32_t member = 0;  ///< index in the group
  State state = State::kAlive;
  uint32_t incarnation = 0;
  uint32_t from = 0;  ///< a suspicion's: the member that suspects (Lifeguard's confirmations)
  bool operator==(const Update&) const = default;
  /// The same news about the same member, whoever it came from.
  bool same_news(const Update& o) const {
    return member == o.member && state == o.state && incarnation == o.incarnation;
  }
};
using Updates = std::vector<Update>;

struct MemberState {
  State state = State::kAlive;
  uint32_t incarnation = 0;
  bool operator==(const MemberState&) const = default;
};

/// True when `u` overrides what a member holds as `cur`.
inline bool overrides(const Update& u, MemberState cur) {
  switch (u.state) {
    case State::kAlive:
      return u.incarnation > cur.incarnation;
    case State::kSuspect:
      return cur.state == State::kAlive
                 ? u.incarnation >= cur.incarnation
                 : cur.state == State::kSuspect && u.incarnation > cur.incarnation;
    case State::kDead:
      return cur.state != State::kDead && cur.state != State::kLeft &&
             u.incarnation >= cur.incarnation;
    case State::kLeft:
      return cur.state != State::kLeft && u.incarnation >= cur.incarnation;
  }
  return false;
}

class View {
 public:
  /// Members from `founders` on are not members at the start (they join later).
  explicit View(uint32_t founders = 0xffffffffu) : founders_(founders) {}
  /// The member's state at the start.
  MemberState initial(uint32_t member) const {
    return member < founders_ ? MemberState{} : MemberState{State::kLeft, 0};
  }
  MemberState get(uint32_t member) const {
    const auto it = find(member);
    return it != entries_.end() && it->member == member ? it->state : initial(member);
  }
  void set(uint32_t member, MemberState s) {
    auto it = find(member);
    const bool held = it != entries_.end() && it->member == member;
    const bool plain = s == initial(member);
    if (held && plain) {
      entries_.erase(it);
    } else if (held) {
      it->state = s;
    } else if (!plain) {
      entries_.insert(it, Entry{member, s});
    }
  }
  size_t size() const { return entries_.size(); }
  /// What differs from the start, as updates (a push-pull state exchange), member order.
  std::vector<Update> updates() const {
    std::vector<Update> out;
    out.reserve(entries_.size());
    for (const Entry& e : entries_)
      out.push_back(Update{e.member, e.state.state, e.state.incarnation, 0});
    return out;
  }
  bool sorted() const {
    return std::is_sorted(entries_.begin(), entries_.end(),
                          [](const Entry& a, const Entry& b) { return a.member < b.member; });
  }

 private:
  struct Entry {
    uint32_t member;
    MemberState state;
  };
  std::vector<Entry>::const_iterator find(uint32_t member) const {
    return std::lower_bound(entries_.begin(), entries_.end(), member,
                            [](const Entry& e, uint32_t m) { return e.member < m; });
  }
  std::vector<Entry>::iterator find(uint32_t member) {
    return std::lower_bound(entries_.begin(), entries_.end(), member,
                            [](const Entry& e, uint32_t m) { return e.member < m; });
  }
  uint32_t founders_;
  std::vector<Entry> entries_;  // sorted by member
};

class Dissemination {
 public:
  /// Queues `u`, replacing an older update about the same member.
  void add(const Update& u) {
    for (Item& it : items_) {
      if (it.update.member == u.member) {
        it = Item{u, 0};
        return;
      }
    }
    items_.push_back(Item{u, 0});
  }
  /// Up to `max` updates, the least sent first; each counts as sent once, and is dropped
  /// after `limit` sends.
  std::vector<Update> take(size_t max, uint32_t limit) {
    std::stable_sort(items_.begin(), items_.end(),
                     [](const Item& a, const Item& b) { return a.sent < b.sent; });
    std::vector<Update> out;
    for (size_t i = 0; i < items_.size() && out.size() < max; ++i) {
      out.push_back(items_[i].update);
      ++items_[i].sent;
    }
    items_.erase(std::remove_if(items_.begin(), items_.end(),
                                [limit](const Item& it) { return it.sent >= limit; }),
                 items_.end());
    return out;
  }
  size_t size() const { return items_.size(); }

 private:
  struct Item {
    Update update;
    uint32_t sent;
  };
  std::vector<Item> items_;
};

}  // namespace dsim::swim
