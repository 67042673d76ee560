// Messages between simulated nodes.
//
// A model declares each message as a plain struct with a name and, when its size on the
// wire is not sizeof(T), a size_bytes() member:
//
//   struct Ping {
//     static constexpr std::string_view kName = "ping";
//     uint64_t id;
//     std::string describe() const { return "ping " + std::to_string(id); }  // optional
//   };
//
// A Message holds one such struct by value, in place when it fits kInlineBytes (no heap
// allocation on the hot path) and on the heap otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace dsim {

/// The operations of one message type; one constant instance per type, whose address is
/// the type's identity.
struct MessageType {
  std::string_view name;
  bool inline_storage;
  /// Moving the message is a copy of its storage's bytes (a trivially copyable payload in
  /// place, or the pointer to one on the heap): no call through `relocate`.
  bool relocates_by_copy;
  /// ... and the first this many bytes hold it (32, 64 or kInlineBytes), so small payloads
  /// move with fewer register moves than the largest one.
  uint8_t copy_bytes;
  /// Destroying it does nothing (a trivially destructible payload in place).
  bool trivially_destroyed;
  void (*destroy)(void* storage);
  void (*relocate)(void* dst, void* src);  // move-construct into dst, destroy src
  void (*copy)(void* dst, const void* src);
  std::string (*describe)(const void* storage);
  uint32_t (*size_bytes)(const void* storage);
};

class Message {
 public:
  // 96: the key-value contract's requests (a call header, the key, values, session and
  // idempotency keys: 88 bytes) and responses (64 bytes) travel on every client operation.
  static constexpr size_t kInlineBytes = 96;

  Message() = default;
  template <class T, class = std::enable_if_t<!std::is_same_v<std::decay_t<T>, Message>>>
  Message(T&& value) {  // NOLINT(google-explicit-constructor): messages convert implicitly
    emplace<std::decay_t<T>>(std::forward<T>(value));
  }
  Message(Message&& o) noexcept { take(o); }
  Message(const Message& o) { copy_from(o); }
  Message& operator=(Message&& o) noexcept {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }
  Message& operator=(const Message& o) {
    if (this != &o) {
      reset();
      copy_from(o);
    }
    return *this;
  }
  ~Message() { reset(); }

  bool empty() const { return type_ == nullptr; }
  /// Destroys the payload: the message is empty.
  void clear() { reset(); }
  const MessageType* type() const { return type_; }
  std::string_view name() const { return type_ ? type_->name : std::string_view("none"); }
  uint32_t size_bytes() const { return type_ ? type_->size_bytes(storage()) : 0; }
  std::string describe() const { return type_ ? type_->describe(storage()) : "none"; }

  template <class T>
  bool is() const {
    return type_ == &kTypeOf<T>;
  }
  /// The payload if it is a T, else nullptr.
  template <class T>
  const T* get() const {
    return is<T>() ? object<T>(storage()) : nullptr;  // in place, or behind the pointer
  }
  template <class T>
  T* get_mut() {
    return is<T>() ? object<T>(storage()) : nullptr;
  }

  template <class T>
  static constexpr const MessageType* type_of() {
    return &kTypeOf<T>;
  }

 private:
  template <class T>
  static constexpr bool kFitsInline =
      sizeof(T) <= kInlineBytes &&
      alignof(T) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<T>;

  template <class T>
  static T* object(void* s) {
    if constexpr (kFitsInline<T>) {
      return std::launder(static_cast<T*>(s));
    } else {
      return *static_cast<T**>(s);
    }
  }
  template <class T>
  static const T* object(const void* s) {
    return object<T>(const_cast<void*>(s));
  }

  template <class T>
  static std::string describe_of(const void* s) {
    if constexpr (requires(const T& t) { t.describe(); }) {
      return object<T>(s)->describe();
    } else {
      return std::string(T::kName);
    }
  }
  template <class T>
  static uint32_t size_of(const void* s) {
    if constexpr (requires(const T& t) { t.size_bytes(); }) {
      return static_cast<uint32_t>(object<T>(s)->size_bytes());
    } else {
      return static_cast<uint32_t>(sizeof(T));
    }
  }

  template <class T>
  static constexpr uint8_t copy_bytes_of() {
    const size_t held = kFitsInline<T> ? sizeof(T) : sizeof(T*);
    return held <= 32 ? 32 : held <= 64 ? 64 : static_cast<uint8_t>(kInlineBytes);
  }

  template <class T>
  static constexpr MessageType kTypeOf = {
      T::kName,
      kFitsInline<T>,
      !kFitsInline<T> || std::is_trivially_copyable_v<T>,
      copy_bytes_of<T>(),
      kFitsInline<T>&& std::is_trivially_destructible_v<T>,
      [](void* s) {
        if constexpr (kFitsInline<T>) {
          object<T>(s)->~T();
        } else {
          delete object<T>(s);
        }
      },
      [](void* dst, void* src) {
        if constexpr (kFitsInline<T>) {
          ::new (dst) T(std::move(*object<T>(src)));
          object<T>(src)->~T();
        } else {
          std::memcpy(dst, src, sizeof(T*));
        }
      },
      [](void* dst, const void* src) {
        if constexpr (kFitsInline<T>) {
          ::new (dst) T(*object<T>(src));
        } else {
          T* p = new T(*object<T>(src));
          std::memcpy(dst, &p, sizeof(T*));
        }
      },
      &describe_of<T>,
      &size_of<T>,
  };

  template <class T, class U>
  void emplace(U&& value) {
    static_assert(std::is_same_v<decltype(T::kName), const std::string_view>,
                  "a message type needs `static constexpr std::string_view kName`");
    if constexpr (kFitsInline<T>) {
      ::new (storage()) T(std::forward<U>(value));
    } else {
      T* p = new T(std::forward<U>(value));
      std::memcpy(storage(), &p, sizeof(T*));
    }
    type_ = &kTypeOf<T>;
  }

  void* storage() { return buf_; }
  const void* storage() const { return buf_; }
  void reset() {
    if (type_ && !type_->trivially_destroyed) type_->destroy(storage());
    type_ = nullptr;
  }
  void take(Message& o) {
    if (o.type_) {
      if (o.type_->relocates_by_copy) {
        // Fixed sizes: a few register moves each.
        if (o.type_->copy_bytes <= 32) {
          std::memcpy(buf_, o.buf_, 32);
        } else if (o.type_->copy_bytes <= 64) {
          std::memcpy(buf_, o.buf_, 64);
        } else {
          std::memcpy(buf_, o.buf_, kInlineBytes);
        }
      } else {
        o.type_->relocate(storage(), o.storage());
      }
      type_ = o.type_;
      o.type_ = nullptr;
    }
  }
  void copy_from(const Message& o) {
    if (o.type_) {
      o.type_->copy(storage(), o.storage());
      type_ = o.type_;
    }
  }

  const MessageType* type_ = nullptr;
  alignas(std::max_align_t) unsigned char buf_[kInlineBytes];
};

}  // namespace dsim
