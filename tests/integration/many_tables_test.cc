// Very many tables: setting aside every index and foreign key of a few
// hundred tables in one transaction takes more locks than a server's lock
// table holds ("out of shared memory", seen with about 1,500 tables on
// default settings). The target here has a lock table of about 200 entries
// (max_locks_per_transaction = 10, max_connections = 20), so 300 tables need
// the preparation split into transactions, each journaled.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int kTables = 300;

// One statement per table, each its own transaction (psql reads them from
// stdin), so that creating them fits the small lock table too.
std::string ManyTables() {
  std::string sql;
  for (int i = 1; i <= kTables; ++i) {
    std::string t = "public.t" + std::to_string(i);
    sql += "CREATE TABLE " + t + " (id int PRIMARY KEY, parent int, v text);\n";
    sql += "CREATE INDEX ON " + t + " (v);\n";
    if (i > 1)
      sql += "ALTER TABLE " + t + " ADD FOREIGN KEY (parent) REFERENCES public.t" +
             std::to_string(i - 1) + ";\n";
  }
  return sql;
}

std::string ManyRows() {
  std::string sql;
  for (int i = 1; i <= kTables; ++i)
    sql += "INSERT INTO public.t" + std::to_string(i) + " SELECT g, " + (i > 1 ? "g" : "NULL") +
           ", 'v' || g FROM generate_series(1, 5) g;\n";
  return sql;
}

TEST(ManyTables, BulkSyncOfHundredsOfTablesFitsASmallLockTable) {
  PgCluster& prod = SharedClusters::Source();
  PgCluster dev({"max_locks_per_transaction = 10", "max_connections = 20"});
  std::string prod_db = prod.CreateUniqueDatabase("prod");
  std::string dev_db = dev.CreateUniqueDatabase("dev");
  prod.Psql(prod_db, ManyTables());
  prod.Psql(prod_db, ManyRows());
  dev.Psql(dev_db, ManyTables());
  std::string indexes_sql =
      "SELECT count(*) || ' ' || md5(string_agg(indexdef, ',' ORDER BY indexdef)) FROM pg_indexes "
      "WHERE schemaname = 'public'";
  std::string indexes_before = dev.Psql(dev_db, indexes_sql);
  std::vector<std::string> fks_before = ForeignKeys(dev, dev_db);

  RunResult sync =
      Freshet({"sync", "--from", prod.Url(prod_db), "--to", dev.Url(dev_db), "--jobs", "2", "-v"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err.substr(sync.err.size() > 4000 ? sync.err.size() - 4000
                                                                         : 0);
  EXPECT_THAT(sync.err, HasSubstr("transactions"));  // prepared in several
  EXPECT_EQ(dev.Psql(dev_db, indexes_sql), indexes_before);
  EXPECT_EQ(ForeignKeys(dev, dev_db), fks_before);
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev, dev_db), IsEmpty());
  EXPECT_EQ(dev.Psql(dev_db, "SELECT count(*) FROM public.t1") + " " +
                dev.Psql(dev_db, "SELECT count(*) FROM public.t300"),
            "5 5");
  EXPECT_EQ(dev.Psql(dev_db, "SELECT count(*) FROM _freshet.journal"), "0");
}

}  // namespace
}  // namespace freshet::testing
