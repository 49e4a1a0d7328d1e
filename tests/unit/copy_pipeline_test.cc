// RunCopyPipeline on in-memory sources and sinks: what reaches each sink is
// exactly the stream (or its transformed rows), the digest is of what was
// sent, and every way a stream can end early (a source error, a bad row, a
// failing sink under either policy, a stop) ends every sink's stream with an
// error and says which stage failed. Sinks that report a backlog make the
// pipeline wait before it reads more.
#include "copy/copy_pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "copy/row_transforms.h"
#include "tests/unit/big_endian.h"

namespace freshet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Stage = PipelineFailure::Stage;

std::string BinaryRow(const std::vector<std::string>& fields) {
  std::string row = testing::Int16(static_cast<int>(fields.size()));
  for (const std::string& field : fields)
    row += testing::Int32(static_cast<int32_t>(field.size())) + field;
  return row;
}

// The messages a server sends for `rows`: the header in front of the first
// row, the trailer alone at the end.
std::vector<std::string> ServerMessages(const std::vector<std::string>& rows) {
  std::vector<std::string> messages;
  std::string header(BinaryCopyHeader());
  for (const std::string& row : rows) {
    messages.push_back(header + row);
    header.clear();
  }
  messages.push_back(header + std::string(BinaryCopyTrailer()));
  return messages;
}

std::string Joined(const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& piece : pieces) out += piece;
  return out;
}

// Yields `pieces`; may fail at one (throwing, or ending with an error that
// End reports, as a server does), or say kWait once on a readable socket.
class MemorySource final : public CopySource {
 public:
  MemorySource(std::vector<std::string> pieces, bool framed)
      : pieces_(std::move(pieces)), framed_(framed) {}

  std::optional<size_t> throw_at;         // Read throws at this piece
  std::optional<size_t> fail_at;          // the stream ends here; End throws
  std::optional<uint64_t> reported_rows;  // what End returns
  int wait_socket = -1;                   // Read says kWait once, before the first piece
  bool aborted = false;
  std::vector<std::string>* log = nullptr;

  void Begin(const StopWaker&) override {}
  ReadStatus Read(std::string_view* piece) override {
    if (wait_socket >= 0 && !waited_) {
      waited_ = true;
      return ReadStatus::kWait;
    }
    if (throw_at && next_ == *throw_at) throw Error("the file is corrupt");
    if (next_ == pieces_.size() || (fail_at && next_ == *fail_at)) return ReadStatus::kEnd;
    if (log) log->push_back("read");
    *piece = pieces_[next_++];
    return ReadStatus::kData;
  }
  int socket() const override { return wait_socket; }
  bool message_framed() const override { return framed_; }
  std::optional<uint64_t> End(const StopWaker&) override {
    if (fail_at) throw Error("division by zero", "22012");
    return reported_rows;
  }
  void Abort() noexcept override { aborted = true; }

 private:
  std::vector<std::string> pieces_;
  bool framed_;
  size_t next_ = 0;
  bool waited_ = false;
};

class MemorySink final : public CopySink {
 public:
  std::string data;
  std::optional<size_t> fail_write;  // the Nth Write (0-based) throws
  bool fail_finish = false;
  std::stop_source* stop_at_write = nullptr;  // requests a stop in the first Write
  int backlog = 0;                            // Backlogged() says true this many times
  int backlog_socket = -1;
  bool ended = false;
  std::optional<std::string> abort_reason;
  bool abort_cancelled = false;
  std::vector<std::string>* log = nullptr;

  void Begin(const StopWaker&) override {}
  void Write(std::string_view piece) override {
    if (stop_at_write) stop_at_write->request_stop();
    if (fail_write && writes_++ == *fail_write) throw Error("disk full");
    if (log) log->push_back("write");
    data.append(piece);
  }
  bool Backlogged() override {
    if (backlog == 0) return false;
    --backlog;
    if (log) log->push_back("backlogged");
    return true;
  }
  int socket() const override { return backlog_socket; }
  void EndStream() override { ended = true; }
  uint64_t Finish(const StopWaker&) override {
    if (fail_finish) throw Error("duplicate key value", "23505");
    return 42;
  }
  void Abort(const char* reason, bool cancel) noexcept override {
    abort_reason = reason;
    abort_cancelled = cancel;
  }

 private:
  size_t writes_ = 0;
};

class UpperCaseFirstField final : public RowTransform {
 public:
  void Apply(std::string_view row, std::string& out) override {
    if (row.find("poison") != std::string_view::npos) throw Error("cannot mask this value");
    out.append(row);
    if (row.size() > 6) out[out.size() - row.size() + 6] = 'X';
  }
};

CopyPipelineResult RunPipeline(CopySource& source, std::vector<CopySink*> sinks,
                               const CopyPipelineOptions& options = {}, std::stop_token stop = {}) {
  return RunCopyPipeline(source, sinks, options, std::move(stop));
}

TEST(CopyPipelineTest, SmallMessagesAreBatchedAndLargeOnesPassAsTheyAre) {
  std::string big(300000, 'x');
  std::vector<std::string> messages =
      ServerMessages({BinaryRow({"a"}), BinaryRow({"b"}), BinaryRow({big}), BinaryRow({"c"})});
  MemorySource source(messages, true);
  std::vector<std::string> log;
  MemorySink sink;
  sink.log = &log;
  ASSERT_FALSE(RunPipeline(source, {&sink}).failure);
  EXPECT_EQ(sink.data, Joined(messages));
  // The two small rows before the large one, the large one, the rest.
  EXPECT_THAT(log, ElementsAre("write", "write", "write"));
}

TEST(CopyPipelineTest, PassesTheStreamUnchangedToEverySinkAndCountsIt) {
  std::vector<std::string> messages = ServerMessages({BinaryRow({"a"}), BinaryRow({"bb", ""})});
  MemorySource source(messages, true);
  source.reported_rows = 2;
  MemorySink first, second;
  StreamCounters counters;
  CopyPipelineOptions options;
  options.counters = &counters;
  CopyPipelineResult result = RunPipeline(source, {&first, &second}, options);
  ASSERT_FALSE(result.failure);
  EXPECT_EQ(first.data, Joined(messages));
  EXPECT_EQ(second.data, Joined(messages));
  EXPECT_TRUE(first.ended && second.ended);
  EXPECT_EQ(result.bytes, Joined(messages).size());
  EXPECT_EQ(counters.bytes.load(), result.bytes);
  EXPECT_EQ(counters.messages.load(), messages.size());
  EXPECT_EQ(result.source_rows, 2u);
  EXPECT_EQ(result.sinks[0].rows, 42u);
  EXPECT_FALSE(first.abort_reason);
}

TEST(CopyPipelineTest, DigestIsOfTheRowsWhetherMessagesOrPiecesOfAFile) {
  std::vector<std::string> rows = {BinaryRow({"1", "x"}), BinaryRow({"2", ""}), BinaryRow({})};
  RowDigest expected;
  for (const std::string& row : rows) expected.Add(row);

  MemorySource server(ServerMessages(rows), true);
  RowDigest from_messages;
  CopyPipelineOptions options;
  options.digest = &from_messages;
  ASSERT_FALSE(RunPipeline(server, {}, options).failure);
  EXPECT_EQ(from_messages, expected);

  // A file read in pieces that cut rows anywhere.
  std::string stream = Joined(ServerMessages(rows));
  std::vector<std::string> pieces;
  for (size_t at = 0; at < stream.size(); at += 5) pieces.push_back(stream.substr(at, 5));
  MemorySource file(pieces, false);
  MemorySink sink;
  RowDigest from_pieces;
  options.digest = &from_pieces;
  ASSERT_FALSE(RunPipeline(file, {&sink}, options).failure);
  EXPECT_EQ(from_pieces, expected);
  EXPECT_EQ(sink.data, stream);
}

TEST(CopyPipelineTest, TransformsChainInOrderAndTheDigestIsOfTheirOutput) {
  std::vector<std::string> rows = {BinaryRow({"keep", "drop", "alsokeep"}),
                                   BinaryRow({"k", "d", "a"})};
  MemorySource source(ServerMessages(rows), true);
  ProjectRows projection(StreamFormat::kBinary, {true, false, true});
  UpperCaseFirstField mask;
  RowDigest digest;
  CopyPipelineOptions options;
  options.transforms = {&projection, &mask};
  options.digest = &digest;
  MemorySink sink;
  ASSERT_FALSE(RunPipeline(source, {&sink}, options).failure);

  std::vector<std::string> expected_rows = {BinaryRow({"Xeep", "alsokeep"}), BinaryRow({"X", "a"})};
  EXPECT_EQ(sink.data, std::string(BinaryCopyHeader()) + Joined(expected_rows) +
                           std::string(BinaryCopyTrailer()));
  RowDigest expected;
  for (const std::string& row : expected_rows) expected.Add(row);
  EXPECT_EQ(digest, expected);
}

TEST(CopyPipelineTest, ARowATransformRefusesIsNamedAndEndsEverySink) {
  MemorySource source(ServerMessages({BinaryRow({"fine"}), BinaryRow({"poison"})}), true);
  UpperCaseFirstField mask;
  CopyPipelineOptions options;
  options.transforms = {&mask};
  options.what = "public.people";
  MemorySink sink;
  CopyPipelineResult result = RunPipeline(source, {&sink}, options);
  ASSERT_TRUE(result.failure);
  EXPECT_EQ(result.failure->stage, Stage::kRows);
  EXPECT_THAT(result.failure->error.what(),
              HasSubstr("row 2 of public.people: cannot mask this value"));
  EXPECT_TRUE(source.aborted);
  EXPECT_EQ(sink.abort_reason, "the COPY stream cannot be read");
  EXPECT_FALSE(sink.ended);
}

TEST(CopyPipelineTest, ASourceFailingMidStreamReportsItsOwnErrorNotTheTruncation) {
  MemorySource source(ServerMessages({BinaryRow({"1"}), BinaryRow({"2"})}), true);
  source.fail_at = 1;
  RowDigest digest;
  CopyPipelineOptions options;
  options.digest = &digest;
  MemorySink sink;
  CopyPipelineResult result = RunPipeline(source, {&sink}, options);
  ASSERT_TRUE(result.failure);
  EXPECT_EQ(result.failure->stage, Stage::kSource);
  EXPECT_EQ(result.failure->error.sqlstate(), "22012");
  EXPECT_EQ(sink.abort_reason, "the source of the COPY stream failed");
  EXPECT_FALSE(sink.ended);
}

TEST(CopyPipelineTest, AServerThatSentFewerRowsThanItsTagSaysIsAFailure) {
  MemorySource source(ServerMessages({BinaryRow({"1"})}), true);
  source.reported_rows = 2;
  RowDigest digest;
  CopyPipelineOptions options;
  options.digest = &digest;
  MemorySink sink;
  CopyPipelineResult result = RunPipeline(source, {&sink}, options);
  ASSERT_TRUE(result.failure);
  EXPECT_THAT(result.failure->error.what(),
              HasSubstr("the server reported 2 rows but sent 1 COPY messages"));
  EXPECT_TRUE(sink.abort_reason);
}

TEST(CopyPipelineTest, AnUnreadableFileEndsEverySink) {
  MemorySource source({"abc", "def"}, false);
  source.throw_at = 1;
  MemorySink first, second;
  CopyPipelineResult result = RunPipeline(source, {&first, &second});
  ASSERT_TRUE(result.failure);
  EXPECT_EQ(result.failure->stage, Stage::kSource);
  EXPECT_THAT(result.failure->error.what(), HasSubstr("the file is corrupt"));
  EXPECT_TRUE(first.abort_reason && second.abort_reason);
}

TEST(CopyPipelineTest, AFailingSinkEndsAllOrIsDroppedAsAsked) {
  std::string big(300000, 'x');  // rows larger than a batch: written mid-stream
  std::vector<std::string> messages = ServerMessages({BinaryRow({big}), BinaryRow({big})});
  {
    MemorySource source(messages, true);
    MemorySink good, bad;
    bad.fail_write = 0;
    CopyPipelineResult result = RunPipeline(source, {&good, &bad});
    ASSERT_TRUE(result.failure);
    EXPECT_EQ(result.failure->stage, Stage::kSink);
    EXPECT_EQ(result.failure->sink, 1u);
    EXPECT_THAT(result.sinks[1].failure->what(), HasSubstr("disk full"));
    EXPECT_EQ(good.abort_reason, "another target failed");
    EXPECT_FALSE(good.ended);
    EXPECT_TRUE(source.aborted);
  }
  {
    MemorySource source(messages, true);
    MemorySink good, bad;
    bad.fail_write = 0;
    CopyPipelineOptions options;
    options.on_sink_failure = OnSinkFailure::kDropSink;
    CopyPipelineResult result = RunPipeline(source, {&bad, &good}, options);
    EXPECT_FALSE(result.failure);
    EXPECT_THAT(result.sinks[0].failure->what(), HasSubstr("disk full"));
    EXPECT_FALSE(result.sinks[1].failure);
    EXPECT_EQ(good.data, Joined(messages));
    EXPECT_TRUE(good.ended);
    EXPECT_FALSE(good.abort_reason);
    EXPECT_EQ(bad.abort_reason, "another target failed");
  }
}

TEST(CopyPipelineTest, ASinkFailingAtItsVerdictIsReported) {
  MemorySource source(ServerMessages({BinaryRow({"1"})}), true);
  MemorySink first, failing;
  failing.fail_finish = true;
  CopyPipelineOptions options;
  options.on_sink_failure = OnSinkFailure::kDropSink;
  CopyPipelineResult result = RunPipeline(source, {&first, &failing}, options);
  EXPECT_FALSE(result.failure);
  EXPECT_EQ(result.sinks[0].rows, 42u);
  ASSERT_TRUE(result.sinks[1].failure);
  EXPECT_EQ(result.sinks[1].failure->sqlstate(), "23505");
}

TEST(CopyPipelineTest, AStopEndsEverySinkWithCancellation) {
  std::stop_source stop;
  std::string big(300000, 'x');  // rows larger than a batch: written mid-stream
  MemorySource source(ServerMessages({BinaryRow({big}), BinaryRow({big})}), true);
  MemorySink first, second;
  first.stop_at_write = &stop;
  CopyPipelineResult result = RunPipeline(source, {&first, &second}, {}, stop.get_token());
  ASSERT_TRUE(result.failure);
  EXPECT_EQ(result.failure->stage, Stage::kStopped);
  EXPECT_EQ(first.abort_reason, "freshet run cancelled");
  EXPECT_TRUE(first.abort_cancelled && second.abort_cancelled);
  EXPECT_TRUE(source.aborted);
  EXPECT_FALSE(first.ended);
}

TEST(CopyPipelineTest, AStopWakesAWaitForTheSource) {
  int sockets[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sockets), 0);  // never readable
  std::stop_source stop;
  MemorySource source(ServerMessages({BinaryRow({"1"})}), true);
  source.wait_socket = sockets[0];
  stop.request_stop();  // before the wait: WaitForSockets must not block
  MemorySink sink;
  CopyPipelineResult result = RunPipeline(source, {&sink}, {}, stop.get_token());
  close(sockets[0]);
  close(sockets[1]);
  ASSERT_TRUE(result.failure);
  EXPECT_EQ(result.failure->stage, Stage::kStopped);
}

TEST(CopyPipelineTest, ABackloggedSinkIsWaitedOutBeforeMoreIsRead) {
  int sockets[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sockets), 0);  // writable at once
  std::vector<std::string> log;
  // Rows larger than a batch go to the sinks as they come.
  std::string big(300000, 'x');
  MemorySource source(ServerMessages({BinaryRow({big}), BinaryRow({big})}), true);
  source.log = &log;
  MemorySink sink;
  sink.log = &log;
  sink.backlog = 2;
  sink.backlog_socket = sockets[0];
  CopyPipelineResult result = RunPipeline(source, {&sink});
  close(sockets[0]);
  close(sockets[1]);
  ASSERT_FALSE(result.failure);
  EXPECT_THAT(log, ElementsAre("read", "write", "backlogged", "backlogged", "read", "write", "read",
                               "write"));
}

}  // namespace
}  // namespace freshet
