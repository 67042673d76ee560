// Text from the user: bounded file reads, and the checks on names that reach paths, CSV
// cells and JSON strings.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "sim/core/text_input.h"

#include "tests/support/temp_dir.h"

using namespace dsim;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

using test::TempDir;

}  // namespace

TEST_CASE("text input: a regular file is read whole within its bound") {
  TempDir dir("read");
  const std::string file = dir.write("a.txt", "hello\nworld\n");
  std::string err;
  const auto text = read_text_file(file, 12, &err);
  REQUIRE(text);
  CHECK(*text == "hello\nworld\n");
  CHECK(read_text_file(dir.write("empty.txt", ""), 0, &err) == std::string());
  // One byte over the bound: refused, saying how large it is and what the bound is.
  CHECK_FALSE(read_text_file(file, 11, &err));
  CHECK(contains(err, "12B"));
  CHECK(contains(err, "more than the 11B dsim reads"));
}

TEST_CASE("text input: what is not a regular file is refused without reading it") {
  TempDir dir("special");
  std::string err;
  CHECK_FALSE(read_text_file((dir.path / "missing").string(), 100, &err));
  CHECK(contains(err, "No such file"));
  CHECK_FALSE(read_text_file(dir.path.string(), 100, &err));
  CHECK(err == "it is a directory, not a file");
  CHECK_FALSE(read_text_file("/dev/zero", 100, &err));
  CHECK(err == "it is a device, not a file");
  // A pipe with no writer: refused at once (opening it must not wait for one).
  const std::string fifo = (dir.path / "fifo").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_FALSE(read_text_file(fifo, 100, &err));
  CHECK(err == "it is a pipe, not a file");
}

TEST_CASE("text input: UTF-8 validity") {
  CHECK_FALSE(invalid_utf8_at(""));
  CHECK_FALSE(invalid_utf8_at("plain ascii"));
  CHECK_FALSE(invalid_utf8_at("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // é € 😀
  CHECK(invalid_utf8_at("ab\xFF") == 2u);
  CHECK(invalid_utf8_at("\xC3") == 0u);               // cut short
  CHECK(invalid_utf8_at("a\xC0\xAF") == 1u);          // overlong '/'
  CHECK(invalid_utf8_at("\xED\xA0\x80") == 0u);       // a UTF-16 surrogate
  CHECK(invalid_utf8_at("x\xF4\x90\x80\x80") == 1u);  // past U+10FFFF
  CHECK(invalid_utf8_at("\xE2\x28\xA1") == 0u);       // a continuation byte missing
}

TEST_CASE("text input: one line of text and prose") {
  CHECK(one_line_problem("web-tier_2") == "");
  CHECK(one_line_problem("caf\xC3\xA9") == "");
  CHECK(one_line_problem("two\nlines") == "holds the control character U+000A");
  CHECK(one_line_problem("tab\there") == "holds the control character U+0009");
  CHECK(one_line_problem("del\x7F") == "holds the control character U+007F");
  CHECK(one_line_problem("c1 \xC2\x85") == "holds the control character U+0085");
  CHECK(one_line_problem(std::string("nul\0x", 5)) == "holds the control character U+0000");
  CHECK(one_line_problem("bad \xFF") == "is not valid UTF-8 (at byte 5)");
  // Prose may span lines and hold tabs, nothing else.
  CHECK(prose_problem("two\nlines\tand a tab") == "");
  CHECK(prose_problem("bell\a") == "holds the control character U+0007");
  CHECK(prose_problem("\xFE") == "is not valid UTF-8 (at byte 1)");
}
