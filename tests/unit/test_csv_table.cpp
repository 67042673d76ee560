// Reading back CSV as dsim writes it: comments skipped, quoted cells, ragged rows refused.
#include <catch2/catch.hpp>

#include "sim/core/csv.h"
#include "sim/core/csv_table.h"

TEST_CASE("parse_csv_table reads what csv_cell writes") {
  const std::string text =
      "# dsim 0.1.0 scenario=x seed=1 schema_version=1\n"
      "group,op,metric,value\n"
      "clients," +
      dsim::csv_cell("a,\"b\"") +
      ",latency_ms_p50,1.5\r\n"
      "run,,events,120\n";
  const auto t = dsim::parse_csv_table(text);
  REQUIRE(t);
  REQUIRE(t->columns == std::vector<std::string>{"group", "op", "metric", "value"});
  REQUIRE(t->rows.size() == 2);
  CHECK(t->rows[0][1] == "a,\"b\"");
  CHECK(t->rows[1][1].empty());
  CHECK(t->column("value") == 3u);
  CHECK_FALSE(t->column("nope"));
  CHECK(dsim::CsvTable::number(t->rows[0][3]) == 1.5);
  CHECK_FALSE(dsim::CsvTable::number(t->rows[1][1]));
  CHECK_FALSE(dsim::CsvTable::number("12x"));
}

TEST_CASE("parse_csv_table refuses ragged rows and open quotes") {
  std::string error;
  CHECK_FALSE(dsim::parse_csv_table("a,b\n1,2,3\n", &error));
  CHECK(error == "line 2: 3 cells where the header has 2");
  CHECK_FALSE(dsim::parse_csv_table("a,b\n\"1,2\n", &error));
  CHECK(error.find("not closed") != std::string::npos);
}
