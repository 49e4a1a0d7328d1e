// A test fixture with a prod database on the shared source cluster and dev
// databases on the shared target cluster, for tests that run `freshet`
// between them: each test file gives its own schema and rows, configs go to
// a scratch directory, and psql reads either side.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "tests/integration/sync_helpers.h"

namespace freshet::testing {

class ProdDevTest : public ::testing::Test {
 protected:
  // A new prod database, set up by `sql` (schema and rows).
  void CreateProd(const std::string& sql) {
    prod_db_ = prod_.CreateUniqueDatabase("prod");
    prod_.Psql(prod_db_, sql);
  }

  // A new dev database, set up by `sql`; its name.
  std::string NewDev(const std::string& sql) {
    std::string db = dev_.CreateUniqueDatabase("dev");
    dev_.Psql(db, sql);
    return db;
  }

  // `text` written to a new file in the scratch directory; its path.
  std::string WriteConfig(const std::string& text) {
    std::string path = scratch_ / ("freshet-" + std::to_string(++configs_) + ".toml");
    std::ofstream(path) << text;
    return path;
  }

  std::string Dev(const std::string& db, const std::string& sql) { return dev_.Psql(db, sql); }
  std::string Prod(const std::string& sql) { return prod_.Psql(prod_db_, sql); }

  // Rows of every user table of dev database `db` whose text holds `needle`
  // (an original value that must not have reached the target).
  int64_t RowsHolding(const std::string& db, const std::string& needle) {
    int64_t found = 0;
    for (const auto& table : UserTables(dev_, db))
      found += std::stoll(
          Dev(db, "SELECT count(*) FROM " + table + " t WHERE t::text LIKE '%" + needle + "%'"));
    return found;
  }

  PgCluster& prod_ = SharedClusters::Source();
  PgCluster& dev_ = SharedClusters::Target();
  std::string prod_db_;
  ScratchDir scratch_;
  int configs_ = 0;
};

}  // namespace freshet::testing
