#include "sync/cli/terminal_progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace freshet {
namespace {

// Terminal columns of `file`, or 0 when unknown.
size_t TerminalWidth(std::FILE* file) {
  winsize size{};
  if (::ioctl(fileno(file), TIOCGWINSZ, &size) == 0) return size.ws_col;
  return 0;
}

}  // namespace

std::string FitToColumns(std::string line, size_t columns) {
  if (columns == 0) return line;
  size_t seen = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) continue;
    if (seen++ == columns) {
      line.resize(i);
      break;
    }
  }
  return line;
}

TerminalProgress::TerminalProgress(bool interactive, RunObserver& log,
                                   std::chrono::seconds log_interval, std::FILE* terminal,
                                   std::function<Clock::time_point()> now)
    : interactive_(interactive),
      log_(log),
      log_interval_(std::max(log_interval, std::chrono::seconds(1))),
      terminal_(terminal),
      now_(std::move(now)),
      columns_(interactive ? TerminalWidth(terminal) : 0) {}

void TerminalProgress::Progressed(const ProgressStatus& status) {
  std::lock_guard lock(mutex_);
  if (interactive_) {
    fmt::print(terminal_, "\r{}\x1b[K", FitToColumns(status.line, columns_ > 1 ? columns_ - 1 : 0));
    std::fflush(terminal_);
    drawn_ = true;
    return;
  }
  Clock::time_point now = now_();
  if (!last_logged_) {  // the load starts: a log waits a full interval
    last_logged_ = now;
    return;
  }
  if (now - *last_logged_ < log_interval_) return;
  last_logged_ = now;
  log_.Log(LogLevel::kInfo, fmt::format("progress: {}", status.line));
}

void TerminalProgress::ProgressEnded() {
  std::lock_guard lock(mutex_);
  last_logged_.reset();
  if (!drawn_) return;
  fmt::print(terminal_, "\r\x1b[K");
  std::fflush(terminal_);
  drawn_ = false;
}

}  // namespace freshet
