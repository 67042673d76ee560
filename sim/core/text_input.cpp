#include "sim/core/text_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include "sim/core/units.h"

namespace dsim {

namespace {

// Closes a file descriptor on every path out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a pipe";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "a special file";
}

// Appends the file's bytes to `out`, at most `limit` of them.
bool read_up_to(int fd, uint64_t limit, std::string& out) {
  char buf[1 << 16];
  while (out.size() < limit) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof buf, limit - out.size()));
    const ssize_t got = ::read(fd, buf, want);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return false;
    if (got == 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  return true;
}

// The code point a UTF-8 sequence starting at s[i] encodes, and its length; length 0 when
// the sequence is invalid.
std::pair<uint32_t, size_t> decode_utf8(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1};
  size_t len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
  if (len == 0 || b0 > 0xF4 || i + len > s.size()) return {0, 0};
  uint32_t cp = b0 & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {0, 0};
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr uint32_t kMinOfLength[] = {0, 0, 0x80, 0x800, 0x10000};
  const bool overlong = cp < kMinOfLength[len];
  const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  if (overlong || surrogate || cp > 0x10FFFF) return {0, 0};
  return {cp, len};
}

bool is_control(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

std::string text_problem(std::string_view text, bool prose) {
  for (size_t i = 0; i < text.size();) {
    const auto [cp, len] = decode_utf8(text, i);
    if (len == 0) return "is not valid UTF-8 (at byte " + std::to_string(i + 1) + ")";
    if (is_control(cp) && !(prose && (cp == '\n' || cp == '\t'))) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", cp);
      return std::string("holds the control character ") + code;
    }
    i += len;
  }
  return "";
}

}  // namespace

std::optional<std::string> read_text_file(const std::string& path, uint64_t max_bytes,
                                          std::string* error) {
  // O_NONBLOCK: opening a pipe must not wait for a writer; fstat then refuses it.
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  struct stat st {};
  if (f.fd < 0 || ::fstat(f.fd, &st) != 0) {
    *error = std::error_code(errno, std::generic_category()).message();
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    *error = "it is " + kind_of(st.st_mode) + ", not a file";
    return std::nullopt;
  }
  const std::string bound = "more than the " + format_bytes(max_bytes) + " dsim reads";
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    *error = "it holds " + format_bytes(static_cast<uint64_t>(st.st_size)) + ", " + bound;
    return std::nullopt;
  }
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  // One byte past the bound tells a file that grew since fstat from one that fits.
  if (!read_up_to(f.fd, max_bytes + 1, out)) {
    *error = std::error_code(errno, std::generic_category()).message();
    return std::nullopt;
  }
  if (out.size() > max_bytes) {
    *error = "it holds " + bound;
    return std::nullopt;
  }
  return out;
}

std::optional<size_t> invalid_utf8_at(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t len = decode_utf8(text, i).second;
    if (len == 0) return i;
    i += len;
  }
  return std::nullopt;
}

std::string one_line_problem(std::string_view text) {
  return text_problem(text, false);
}

std::string prose_problem(std::string_view text) {
  return text_problem(text, true);
}

}  // namespace dsim
