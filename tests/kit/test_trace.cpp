// The trace reader: each form of each column, the optional header, comments and blank
// lines, the order check, and every error with its exact message.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "models/kit/trace.h"
#include "sim/core/rng.h"
#include "tests/support/temp_dir.h"

using namespace dsim;
using namespace dsim::kit;

namespace {

std::vector<TraceRow> parse_ok(const std::string& text) {
  std::string error;
  const auto rows = parse_trace(text, "trace.csv", &error);
  INFO(error);
  REQUIRE(rows);
  CHECK(error.empty());
  return *rows;
}

std::string parse_error(const std::string& text) {
  std::string error;
  const auto rows = parse_trace(text, "trace.csv", &error);
  CHECK_FALSE(rows);
  return error;
}

}  // namespace

TEST_CASE("trace: times as durations with units or plain seconds, exactly") {
  const auto ok = parse_ok(
      "0,1,1\n"
      "250us,1,1\n"
      "1.5ms,1,1\n"
      ".5,1,1\n"
      "0.500000001,1,1\n"
      "1.,1,1\n"
      "2s,1,1\n"
      "1min,1,1\n"
      "1h,1,1\n"
      "3600.123456789,1,1\n");
  REQUIRE(ok.size() == 10);
  CHECK(ok[0].time.ns() == 0);
  CHECK(ok[1].time.ns() == 250'000);
  CHECK(ok[2].time.ns() == 1'500'000);
  CHECK(ok[3].time.ns() == 500'000'000);
  CHECK(ok[4].time.ns() == 500'000'001);
  CHECK(ok[5].time.ns() == 1'000'000'000);
  CHECK(ok[6].time.ns() == 2'000'000'000);
  CHECK(ok[7].time.ns() == 60'000'000'000);
  CHECK(ok[8].time.ns() == 3'600'000'000'000);
  CHECK(ok[9].time.ns() == 3'600'123'456'789);
}

TEST_CASE("trace: keys as numbers or hashed text") {
  const auto rows = parse_ok(
      "0,42,1\n"
      "0,007,1\n"
      "0,18446744073709551615,1\n"
      "0,18446744073709551616,1\n"  // past 2^64 - 1: hashed
      "0,user:17,1\n"
      "0, spaced key ,1\n");
  REQUIRE(rows.size() == 6);
  CHECK(rows[0].key == 42);
  CHECK(rows[1].key == 7);
  CHECK(rows[2].key == 18446744073709551615ULL);
  CHECK(rows[3].key == stable_hash("18446744073709551616"));
  CHECK(rows[4].key == stable_hash("user:17"));
  CHECK(rows[5].key == stable_hash("spaced key"));  // cells are trimmed
  CHECK(trace_key("-1") == stable_hash("-1"));
}

TEST_CASE("trace: sizes as plain bytes or with a unit, op defaulting to get") {
  const auto rows = parse_ok(
      "0,1,0\n"
      "0,1,4096,put\n"
      "0,1,4KiB,delete\n"
      "0,1,1.5KB,get\n"
      "0,1,2MiB\n");
  REQUIRE(rows.size() == 5);
  CHECK(rows[0].size == 0);
  CHECK(rows[0].op == TraceOp::kGet);
  CHECK(rows[1].size == 4096);
  CHECK(rows[1].op == TraceOp::kPut);
  CHECK(rows[2].size == 4096);
  CHECK(rows[2].op == TraceOp::kDelete);
  CHECK(rows[3].size == 1500);
  CHECK(rows[3].op == TraceOp::kGet);
  CHECK(rows[4].size == 2 * 1024 * 1024);
  CHECK(trace_op_name(TraceOp::kDelete) == "delete");
}

TEST_CASE("trace: a header, comments, blank lines and CRLF line ends") {
  for (const char* header :
       {"time,key,size\n", "time,key,size,op\n", " time , key , size \n", ""}) {
    INFO(header);
    const std::string text = std::string("# a trace\n\n") + header +
                             "# requests\r\n"
                             "1s,5,10\r\n"
                             "   \n"
                             "  # indented comment\n"
                             "2s,6,20,put";  // no final newline
    const auto rows = parse_ok(text);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].time == SimTime::zero() + seconds(1));
    CHECK(rows[0].key == 5);
    CHECK(rows[1].size == 20);
    CHECK(rows[1].op == TraceOp::kPut);
  }
  CHECK(parse_ok("").empty());
  CHECK(parse_ok("time,key,size\n# nothing\n").empty());
}

TEST_CASE("trace: equal times keep file order, an earlier time is an error") {
  const auto rows = parse_ok("1s,1,1\n1s,2,1\n1000ms,3,1\n");
  REQUIRE(rows.size() == 3);
  CHECK(rows[2].key == 3);
  CHECK(parse_error("time,key,size\n1s,1,1\n1.5s,1,1\n\n# x\n1.2s,1,1\n") ==
        "trace.csv:6: time 1.2s is earlier than the previous row's 1.5s");
  CHECK(parse_error("0.002,1,1\n1500us,1,1\n") ==
        "trace.csv:2: time 1.5ms is earlier than the previous row's 2ms");
}

TEST_CASE("trace: every malformed row is an error naming the file and line") {
  CHECK(parse_error("1s,1\n") == "trace.csv:1: expected 3 or 4 cells (time,key,size[,op]), got 2");
  CHECK(parse_error("# c\n1s,1,1,get,x\n") ==
        "trace.csv:2: expected 3 or 4 cells (time,key,size[,op]), got 5");
  CHECK(parse_error("soon,1,1\n") ==
        "trace.csv:1: time: expected a duration such as 150ms or 2.5s, got 'soon'");
  CHECK(parse_error("5parsecs,1,1\n") ==
        "trace.csv:1: time: unknown time unit 'parsecs' in '5parsecs' (valid: ns, us, ms, s, "
        "min, h, d)");
  CHECK(parse_error("-1s,1,1\n") == "trace.csv:1: time: '-1s' is negative");
  CHECK(parse_error("-0.5,1,1\n") == "trace.csv:1: time: '-0.5' is negative");
  CHECK(parse_error("0.0000000001,1,1\n") ==
        "trace.csv:1: time: '0.0000000001' is finer than the clock's resolution (1ns)");
  CHECK(parse_error("99999999999,1,1\n") ==
        "trace.csv:1: time: '99999999999' is out of range (at most 292 years)");
  CHECK(parse_error("1s,,1\n") == "trace.csv:1: the key is empty");
  CHECK(parse_error("1s,1,-5\n") ==
        "trace.csv:1: size: expected a size such as 512B or 64KiB, got '-5'");
  CHECK(parse_error("1s,1,4Kb\n") ==
        "trace.csv:1: size: unknown size unit 'Kb' in '4Kb' (valid: B, KB, MB, GB, TB, KiB, MiB, "
        "GiB, TiB)");
  CHECK(parse_error("1s,1,99999999999999999999\n") ==
        "trace.csv:1: size: size '99999999999999999999' is out of range");
  CHECK(parse_error("1s,1,1,post\n") == "trace.csv:1: unknown op 'post' (valid: get, put, delete)");
  CHECK(parse_error("1s,1,1,\n") == "trace.csv:1: unknown op '' (valid: get, put, delete)");
  CHECK(parse_error("time,key,bytes\n") ==
        "trace.csv:1: the header must be time,key,size or time,key,size,op");
  CHECK(parse_error("\n#\ntime,key,size,op,extra\n") ==
        "trace.csv:3: the header must be time,key,size or time,key,size,op");
  // A header after the first data line is a malformed row.
  CHECK(parse_error("1s,1,1\ntime,key,size\n") ==
        "trace.csv:2: time: expected a duration such as 150ms or 2.5s, got 'time'");
}

TEST_CASE("trace: read from a file, a missing file is an error naming it") {
  test::TempDir dir("trace");
  const std::string path = dir.write("t.csv", "time,key,size,op\n0,1,100,put\n1ms,1,100,get\n");
  std::string error;
  const auto rows = read_trace(path, &error);
  REQUIRE(rows);
  CHECK(rows->size() == 2);
  CHECK((*rows)[1].time.ns() == 1'000'000);

  const std::string bad = dir.write("bad.csv", "0,1,1\n0,1\n");
  CHECK_FALSE(read_trace(bad, &error));
  CHECK(error == bad + ":2: expected 3 or 4 cells (time,key,size[,op]), got 2");

  const std::string missing = (dir.path / "none.csv").string();
  CHECK_FALSE(read_trace(missing, &error));
  CHECK(error == "cannot read '" + missing + "': No such file or directory");

  CHECK_FALSE(read_trace(path, &error, 10));
  CHECK(error.rfind("cannot read '" + path + "': ", 0) == 0);
}

TEST_CASE("trace: rows take 32 bytes and are reserved exactly") {
  STATIC_REQUIRE(sizeof(TraceRow) <= 32);
  std::string text = "# header comment\ntime,key,size\n";
  for (int i = 0; i < 1'000; ++i)
    text += std::to_string(i) + "ms,k" + std::to_string(i % 17) + ",64\n# c\n";
  const auto rows = parse_ok(text);
  CHECK(rows.size() == 1'000);
  CHECK(rows.capacity() <= 1'001);  // the header line is counted too
}
