#include "models/quorum/versions.h"

#include <algorithm>
#include <set>

#include "sim/core/bytes.h"
#include "sim/core/rng.h"

namespace dsim::quorum {

VClock VClock::of(std::vector<Entry> entries) {
  VClock c;
  for (const auto& [a, n] : entries)
    c.add(a, n);
  return c;
}

uint64_t VClock::get(uint64_t actor) const {
  auto it = std::lower_bound(e_.begin(), e_.end(), Entry{actor, 0});
  return it != e_.end() && it->first == actor ? it->second : 0;
}

void VClock::add(uint64_t actor, uint64_t counter) {
  if (counter == 0) return;
  auto it = std::lower_bound(e_.begin(), e_.end(), Entry{actor, 0});
  if (it != e_.end() && it->first == actor) {
    it->second = std::max(it->second, counter);
  } else {
    e_.insert(it, Entry{actor, counter});
  }
}

void VClock::join(const VClock& o) {
  std::vector<Entry> out;
  out.reserve(e_.size() + o.e_.size());
  size_t i = 0, j = 0;
  while (i < e_.size() || j < o.e_.size()) {
    if (j == o.e_.size() || (i < e_.size() && e_[i].first < o.e_[j].first)) {
      out.push_back(e_[i++]);
    } else if (i == e_.size() || o.e_[j].first < e_[i].first) {
      out.push_back(o.e_[j++]);
    } else {
      out.emplace_back(e_[i].first, std::max(e_[i].second, o.e_[j].second));
      ++i;
      ++j;
    }
  }
  e_ = std::move(out);
}

bool VClock::leq(const VClock& o) const {
  for (const auto& [a, n] : e_) {
    if (o.get(a) < n) return false;
  }
  return true;
}

std::vector<uint64_t> VClock::words() const {
  std::vector<uint64_t> w;
  w.reserve(e_.size() * 2);
  for (const auto& [a, n] : e_) {
    w.push_back(a);
    w.push_back(n);
  }
  return w;
}

std::optional<VClock> VClock::from_words(const std::vector<uint64_t>& w) {
  if (w.size() % 2 != 0) return std::nullopt;
  VClock c;
  for (size_t i = 0; i < w.size(); i += 2)
    c.add(w[i], w[i + 1]);
  return c;
}

std::string VClock::describe() const {
  std::string s = "[";
  for (const auto& [a, n] : e_) {
    if (s.size() > 1) s += ", ";
    s += "(" + std::to_string(a >> 32) + "." + std::to_string(a & 0xffffffffULL) + ", " +
         std::to_string(n) + ")";
  }
  return s + "]";
}

VClock Version::clock() const {
  VClock c = past;
  c.add(dot);
  return c;
}

uint32_t bytes_of(const Siblings& s) {
  uint32_t b = 0;
  for (const auto& v : s)
    b += v.bytes();
  return b;
}

VClock context_of(const Siblings& s) {
  VClock c;
  for (const auto& v : s) {
    c.join(v.past);
    c.add(v.dot);
  }
  return c;
}

uint64_t max_counter(const Siblings& s, uint64_t actor) {
  uint64_t m = 0;
  for (const auto& v : s) {
    if (v.dot.actor == actor) m = std::max(m, v.dot.counter);
    m = std::max(m, v.past.get(actor));
  }
  return m;
}

bool same_versions(const Siblings& a, const Siblings& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].dot != b[i].dot) return false;
  }
  return true;
}

uint64_t hash_of(const Siblings& s) {
  uint64_t h = mix64(s.size());
  for (const auto& v : s) {
    h = mix64(h ^ v.dot.actor);
    h = mix64(h ^ v.dot.counter);
    h = mix64(h ^ static_cast<uint64_t>(v.ts));
    for (int64_t e : v.value.elements())
      h = mix64(h ^ static_cast<uint64_t>(e));
  }
  return h;
}

namespace {

bool older(const Version& a, const Version& b) {
  return std::tie(a.ts, a.dot) < std::tie(b.ts, b.dot);
}

}  // namespace

MergeResult merge(const Siblings& a, const Siblings& b, Versioning mode, size_t max_siblings) {
  MergeResult r;
  // Every distinct version of both, by dot.
  std::vector<const Version*> all;
  all.reserve(a.size() + b.size());
  for (const auto& v : a)
    all.push_back(&v);
  for (const auto& v : b)
    all.push_back(&v);
  std::sort(all.begin(), all.end(),
            [](const Version* x, const Version* y) { return x->dot < y->dot; });
  all.erase(std::unique(all.begin(), all.end(),
                        [](const Version* x, const Version* y) { return x->dot == y->dot; }),
            all.end());
  if (all.empty()) return r;
  if (mode == Versioning::kLww) {
    const Version* win = all[0];
    for (const Version* v : all) {
      if (older(*win, *v)) win = v;
    }
    for (const Version* v : all) {
      if (v != win && !v->obsoleted_by(*win)) ++r.lww_discarded;
    }
    r.merged.push_back(*win);
    return r;
  }
  for (const Version* v : all) {
    bool obsolete = false;
    for (const Version* o : all) {
      if (o != v && v->obsoleted_by(*o)) {
        obsolete = true;
        break;
      }
    }
    if (!obsolete) r.merged.push_back(*v);
  }
  std::sort(r.merged.begin(), r.merged.end(), older);
  if (max_siblings > 0 && r.merged.size() > max_siblings) {
    r.capped = static_cast<uint32_t>(r.merged.size() - max_siblings);
    r.merged.erase(r.merged.begin(), r.merged.begin() + static_cast<ptrdiff_t>(r.capped));
  }
  return r;
}

kv::KvValue union_value(const Siblings& s) {
  if (s.size() == 1) return s[0].value;
  kv::KvValue out;
  std::set<int64_t> seen;
  for (const auto& v : s) {
    const uint32_t per = v.value.size() > 0 ? v.value.bytes() / v.value.size() : 0;
    for (int64_t e : v.value.elements()) {
      if (seen.insert(e).second) out.append(e, per);
    }
  }
  return out;
}

namespace {

struct Reader {
  std::string_view in;
  size_t at = 0;
  bool ok = true;
  uint64_t u64() {
    uint64_t x = 0;
    if (!get_u64(in, at, x)) ok = false;
    return x;
  }
};

}  // namespace

std::string encode(const Siblings& s) {
  std::string out;
  put_u64(out, s.size());
  for (const auto& v : s) {
    put_u64(out, v.dot.actor);
    put_u64(out, v.dot.counter);
    put_u64(out, static_cast<uint64_t>(v.ts));
    put_u64(out, v.past.size());
    for (const auto& [a, n] : v.past.entries()) {
      put_u64(out, a);
      put_u64(out, n);
    }
    put_u64(out, v.value.size());
    put_u64(out, v.value.bytes());
    for (int64_t e : v.value.elements())
      put_u64(out, static_cast<uint64_t>(e));
  }
  return out;
}

std::optional<Siblings> decode(std::string_view bytes) {
  Reader r{bytes};
  Siblings s;
  const uint64_t n = r.u64();
  for (uint64_t i = 0; i < n && r.ok; ++i) {
    Version v;
    v.dot.actor = r.u64();
    v.dot.counter = r.u64();
    v.ts = static_cast<int64_t>(r.u64());
    const uint64_t entries = r.u64();
    std::vector<VClock::Entry> past;
    for (uint64_t j = 0; j < entries && r.ok; ++j) {
      const uint64_t a = r.u64();
      past.emplace_back(a, r.u64());
    }
    v.past = VClock::of(std::move(past));
    const uint64_t size = r.u64();
    const auto total = static_cast<uint32_t>(r.u64());
    for (uint64_t j = 0; j < size && r.ok; ++j) {
      const auto e = static_cast<int64_t>(r.u64());
      // The value's size on the wire is kept whole on its first element.
      if (j == 0) {
        v.value = kv::KvValue::single(e, total);
      } else {
        v.value.append(e, 0);
      }
    }
    s.push_back(std::move(v));
  }
  if (!r.ok || r.at != bytes.size()) return std::nullopt;
  return s;
}

}  // namespace dsim::quorum
