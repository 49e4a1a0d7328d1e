// The copy layer against real servers: RelayCopy moves every value of every
// type exactly, failures on either side name the table and the server's
// message and leave the target as it was with both connections usable, and
// connection errors never reveal a password.
#include "copy/copy_relay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "copy/connection.h"
#include "copy/conninfo.h"
#include "copy/error.h"
#include "tests/support/pg_cluster.h"

namespace freshet {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::PgCluster;
using testing::SharedClusters;

constexpr const char* kCreateTable = R"sql(
CREATE TABLE public.items (
  id int PRIMARY KEY,
  label text,
  amount numeric,
  doc jsonb,
  payload bytea,
  happened_at timestamptz,
  tags text[],
  scores int[],
  ratio double precision,
  flag boolean
);
)sql";

// Awkward values on purpose, then enough ordinary rows to span many buffers.
constexpr const char* kRows = R"sql(
INSERT INTO public.items VALUES
  (1, 'plain', 1.5, '{"a": 1}', '\x00ff10', '2024-01-02 03:04:05.123456+00',
   ARRAY['x', 'y'], ARRAY[1, 2], 0.1, true),
  (2, 'it''s "quoted", with \ backslash', -0.000001,
   '{"nested": {"list": [1, "two", null, true]}, "quote": "\""}', '\x', 'infinity',
   ARRAY['a,b', 'c"d', NULL, '', 'NULL'], ARRAY[NULL, 3]::int[], 'NaN', false),
  (3, E'line one\nline two\r\n\ttabbed', 'NaN', '[]', decode('000102035c0a', 'hex'),
   '-infinity', '{}', '{}', '-Infinity', NULL),
  (4, 'unicode: héllo ✓ 日本語 🎉', 12345678901234567890.123456789, '"just a string"',
   '\xdeadbeef', '1999-12-31 23:59:59.999999-08', ARRAY['🎉', 'ü'], ARRAY[[1, 2], [3, 4]],
   1e308, true),
  (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (6, '', 0, 'null', '\x00', '1970-01-01 00:00:00+00', ARRAY[NULL]::text[],
   ARRAY[-2147483648, 2147483647], -0.0, false);
INSERT INTO public.items
SELECT i, repeat('row ' || i || ' ', i % 50), i * 1.25,
       jsonb_build_object('i', i, 'tags', jsonb_build_array('t' || i % 7)),
       sha256(i::text::bytea), timestamptz '2024-01-01' + i * interval '1 second',
       ARRAY['tag' || i % 5], ARRAY[i, i * 2], i / 7.0, i % 2 = 0
FROM generate_series(100, 20099) i;
)sql";
constexpr uint64_t kRowCount = 6 + 20000;

constexpr const char* kColumns =
    "id, label, amount, doc, payload, happened_at, tags, scores, ratio, flag";

std::string CopyOut(const std::string& select_list = kColumns,
                    const std::string& table = "public.items") {
  return "COPY (SELECT " + select_list + " FROM ONLY " + table + ") TO STDOUT (FORMAT binary)";
}

std::string CopyIn() {
  return std::string("COPY public.items (") + kColumns + ") FROM STDIN (FORMAT binary)";
}

// Row count and an order-independent digest of every row's text form, so
// equal checksums mean equal tables.
std::string Checksum(const PgCluster& cluster, const std::string& db) {
  return cluster.Psql(db,
                      "SET TimeZone = 'UTC'; SET extra_float_digits = 3; "
                      "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, E'\\n' "
                      "ORDER BY t::text)), '-') FROM public.items t");
}

void ExpectUsable(Connection& connection) {
  EXPECT_EQ(connection.Exec("SELECT 1").Get(0, 0), "1") << connection.Describe();
}

class CopyRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_db_ = Source().CreateUniqueDatabase("src");
    target_db_ = Target().CreateUniqueDatabase("dst");
    Source().Psql(source_db_, std::string(kCreateTable) + kRows);
    Target().Psql(target_db_, kCreateTable);
  }
  void TearDown() override {
    Source().DropDatabase(source_db_);
    Target().DropDatabase(target_db_);
  }

  static PgCluster& Source() { return SharedClusters::Source(); }
  static PgCluster& Target() { return SharedClusters::Target(); }
  Connection OpenSource() { return Connection::Open(Source().Url(source_db_), "source"); }
  Connection OpenTarget() { return Connection::Open(Target().Url(target_db_), "target"); }

  // A target row that must survive every failed relay.
  void AddExistingTargetRow(int id) {
    Target().Psql(target_db_, "INSERT INTO public.items (id, label) VALUES (" + std::to_string(id) +
                                  ", 'existing')");
  }

  std::string source_db_;
  std::string target_db_;
};

TEST_F(CopyRelayTest, RelaysEveryRowAndValueExactly) {
  Connection source = OpenSource();
  Connection target = OpenTarget();
  StreamCounters counters;
  RelayResult result =
      RelayCopy(source, CopyOut(), target, CopyIn(), "public.items", &counters, std::stop_token());

  EXPECT_EQ(result.rows, kRowCount);
  EXPECT_GT(result.bytes, 0u);
  EXPECT_EQ(counters.bytes.load(), result.bytes);
  EXPECT_GE(counters.messages.load(), kRowCount);
  EXPECT_EQ(Checksum(Target(), target_db_), Checksum(Source(), source_db_));
  EXPECT_EQ(Checksum(Target(), target_db_).substr(0, 6), "20006 ");
  ExpectUsable(source);
  ExpectUsable(target);
}

TEST_F(CopyRelayTest, AwkwardValuesArriveUnchanged) {
  Connection source = OpenSource();
  Connection target = OpenTarget();
  RelayCopy(source, CopyOut(), target, CopyIn(), "public.items", nullptr, std::stop_token());
  const std::string query =
      "SELECT label || '|' || payload::text || '|' || tags::text || '|' || doc::text "
      "FROM public.items WHERE id = ";
  for (int id : {2, 3, 4}) {
    std::string sql = query + std::to_string(id);
    EXPECT_EQ(Target().Psql(target_db_, sql), Source().Psql(source_db_, sql)) << "id " << id;
  }
  EXPECT_EQ(Target().Psql(target_db_, "SELECT label FROM public.items WHERE id = 4"),
            "unicode: héllo ✓ 日本語 🎉");
  EXPECT_EQ(Target().Psql(target_db_,
                          "SELECT num_nulls(label, amount, doc, payload, happened_at, tags, "
                          "scores, ratio, flag) FROM public.items WHERE id = 5"),
            "9");
}

TEST_F(CopyRelayTest, TargetUniqueViolationNamesTableAndLeavesTargetUnchanged) {
  AddExistingTargetRow(150);  // collides with a source row early in the stream
  std::string before = Checksum(Target(), target_db_);
  Connection source = OpenSource();
  Connection target = OpenTarget();
  try {
    RelayCopy(source, CopyOut(), target, CopyIn(), "public.items", nullptr, std::stop_token());
    FAIL() << "relay succeeded despite a duplicate key";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(),
                AllOf(HasSubstr("public.items"), HasSubstr("target"),
                      HasSubstr("duplicate key value violates unique constraint \"items_pkey\"")));
    EXPECT_EQ(error.sqlstate(), "23505");
  }
  EXPECT_EQ(Checksum(Target(), target_db_), before);
  EXPECT_EQ(Target().Psql(target_db_, "SELECT count(*) FROM public.items"), "1");
  ExpectUsable(source);
  ExpectUsable(target);
}

TEST_F(CopyRelayTest, TargetNotNullViolationNamesTableAndLeavesTargetUnchanged) {
  Target().Psql(target_db_, "ALTER TABLE public.items ALTER COLUMN doc SET NOT NULL");
  Target().Psql(target_db_,
                "INSERT INTO public.items (id, label, doc) VALUES (1000000, 'existing', '{}')");
  std::string before = Checksum(Target(), target_db_);
  Connection source = OpenSource();
  Connection target = OpenTarget();
  try {
    RelayCopy(source, CopyOut(), target, CopyIn(), "public.items", nullptr, std::stop_token());
    FAIL() << "relay succeeded despite a NULL in a NOT NULL column";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("public.items"), HasSubstr("target"),
                                    HasSubstr("null value in column \"doc\"")));
    EXPECT_EQ(error.sqlstate(), "23502");
  }
  EXPECT_EQ(Checksum(Target(), target_db_), before);
  ExpectUsable(source);
  ExpectUsable(target);
}

TEST_F(CopyRelayTest, SourceErrorMidStreamNamesSourceAndLeavesTargetUnchanged) {
  AddExistingTargetRow(1000000);
  std::string before = Checksum(Target(), target_db_);
  Connection source = OpenSource();
  Connection target = OpenTarget();
  // Fails at id 150, after the rows before it have been relayed.
  std::string failing_columns = std::string("id + 0 * (1 / (id - 150)) AS id") +
                                std::string(kColumns).substr(std::string("id").size());
  try {
    RelayCopy(source, CopyOut(failing_columns), target, CopyIn(), "public.items", nullptr,
              std::stop_token());
    FAIL() << "relay succeeded despite a division by zero on the source";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("public.items"), HasSubstr("source"),
                                    HasSubstr("division by zero")));
    EXPECT_EQ(error.sqlstate(), "22012");
  }
  EXPECT_EQ(Checksum(Target(), target_db_), before);
  ExpectUsable(source);
  ExpectUsable(target);
}

TEST_F(CopyRelayTest, MissingSourceTableNamesSourceAndLeavesTargetUnchanged) {
  AddExistingTargetRow(1000000);
  std::string before = Checksum(Target(), target_db_);
  Connection source = OpenSource();
  Connection target = OpenTarget();
  try {
    RelayCopy(source, CopyOut(kColumns, "public.no_such_table"), target, CopyIn(), "public.items",
              nullptr, std::stop_token());
    FAIL() << "relay succeeded from a missing table";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("public.items"), HasSubstr("source"),
                                    HasSubstr("relation \"public.no_such_table\" does not exist")));
    EXPECT_EQ(error.sqlstate(), "42P01");
  }
  EXPECT_EQ(Checksum(Target(), target_db_), before);
  ExpectUsable(source);
  ExpectUsable(target);
}

TEST_F(CopyRelayTest, StopRequestCancelsAndLeavesTargetUnchanged) {
  AddExistingTargetRow(1000000);
  std::string before = Checksum(Target(), target_db_);
  Connection source = OpenSource();
  Connection target = OpenTarget();
  std::stop_source stop;
  stop.request_stop();
  try {
    RelayCopy(source, CopyOut(), target, CopyIn(), "public.items", nullptr, stop.get_token());
    FAIL() << "relay succeeded despite a stop request";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("public.items"), HasSubstr("cancelled")));
  }
  EXPECT_EQ(Checksum(Target(), target_db_), before);
  ExpectUsable(source);
  ExpectUsable(target);
}

// A statement waiting on a lock is cancelled by a stop requested on another
// thread (the stop only wakes the waiting thread, which sends the cancel),
// and the connection is usable afterwards. Event-driven: the stop is
// requested once the server shows the statement waiting for its lock.
TEST_F(CopyRelayTest, StopCancelsAStatementWaitingOnALock) {
  Connection holder = OpenTarget();
  holder.Exec("BEGIN; LOCK TABLE public.items IN ACCESS EXCLUSIVE MODE");
  Connection waiter = OpenTarget();
  int waiter_pid = PQbackendPID(waiter.handle());
  std::stop_source stop;
  std::optional<Error> failure;
  std::thread thread([&] {
    CancelOnStop cancel(waiter, stop.get_token());
    try {
      waiter.Exec("SELECT count(*) FROM public.items");
    } catch (const Error& error) {
      failure = error;
    }
  });
  Connection probe = OpenTarget();
  for (;;) {  // a readiness probe, not a time window: ends when the wait shows
    Result waiting = probe.Exec(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
        {std::to_string(waiter_pid)});
    if (waiting.GetInt(0, 0) == 1) break;
    probe.Exec("SELECT pg_stat_clear_snapshot()");
  }
  stop.request_stop();
  thread.join();
  ASSERT_TRUE(failure) << "the statement was not cancelled";
  EXPECT_EQ(failure->sqlstate(), "57014");
  EXPECT_THAT(failure->what(), HasSubstr("canceling statement due to user request"));
  holder.Exec("COMMIT");
  ExpectUsable(waiter);
  // Unbound again: later statements run whatever the stop says.
  EXPECT_EQ(waiter.Exec("SELECT count(*) FROM public.items").Get(0, 0), "0");
}

TEST(ConnectionOpenTest, UnreachableServerErrorHidesThePassword) {
  for (const std::string url : {"postgresql://u:SuperSecret123@127.0.0.1:1/db",
                                "host=127.0.0.1 port=1 user=u password=SuperSecret123 dbname=db"}) {
    try {
      Connection::Open(url, "source");
      FAIL() << "connected to a closed port";
    } catch (const Error& error) {
      EXPECT_THAT(error.what(), AllOf(HasSubstr("source"), HasSubstr("u@127.0.0.1:1/db"),
                                      Not(HasSubstr("SuperSecret123"))));
    }
  }
}

TEST(ConnectionOpenTest, MalformedConnectionStringsGiveClearErrors) {
  struct Case {
    std::string conninfo;
    std::string expected;
  };
  for (const Case& c : {
           Case{"postgresql://u:SuperSecret123@[::1/db", "malformed connection string"},
           Case{"postgresql://u:SuperSecret123@host/db?no_such_option=1", "no_such_option"},
           Case{"host=example.com dbname", "malformed connection string"},
           Case{"password='SuperSecret123 host=x", "malformed connection string"},
           Case{"postgresql://u:SuperSecret123%zz@host/db", "invalid percent-encoded token"},
       }) {
    try {
      Connection::Open(c.conninfo, "target");
      FAIL() << "accepted " << c.conninfo;
    } catch (const Error& error) {
      EXPECT_THAT(error.what(), AllOf(HasSubstr(c.expected), Not(HasSubstr("SuperSecret123"))))
          << c.conninfo;
    }
  }
}

TEST(ConnInfoTest, DescribeNamesUserHostPortAndDatabaseButNoPassword) {
  ConnInfo url = ConnInfo::Parse("postgresql://alice:SuperSecret123@db.example.com:6543/crm");
  EXPECT_EQ(url.Describe(), "alice@db.example.com:6543/crm");
  ConnInfo keywords =
      ConnInfo::Parse("host=10.1.2.3 port=5433 user=bob dbname=app password=SuperSecret123");
  EXPECT_EQ(keywords.Describe(), "bob@10.1.2.3:5433/app");
  EXPECT_EQ(url.values.at("password"), "SuperSecret123");  // kept for connecting, not shown
}

TEST(ConnInfoTest, IsLocalOnlyForSocketsAndLoopback) {
  struct Case {
    std::string conninfo;
    bool local;
  };
  for (const Case& c : {
           Case{"postgresql://u@127.0.0.1:5432/db", true},
           Case{"postgresql://u@127.1.2.3/db", true},
           Case{"postgresql://u@localhost/db", true},
           Case{"postgresql://u@[::1]:5432/db", true},
           Case{"host=/var/run/postgresql dbname=db", true},
           Case{"postgresql://u@%2Ftmp%2Fsock/db", true},
           Case{"hostaddr=127.0.0.1 host=db.example.com dbname=db", true},
           Case{"postgresql://u@db.example.com/db", false},
           Case{"host=10.0.0.5 dbname=db", false},
           Case{"postgresql://u@128.0.0.1/db", false},
           Case{"host=localhost,db.example.com dbname=db", false},
       }) {
    EXPECT_EQ(ConnInfo::Parse(c.conninfo).IsLocal(), c.local) << c.conninfo;
  }
}

}  // namespace
}  // namespace freshet
