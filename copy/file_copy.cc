#include "copy/file_copy.h"

namespace freshet {

CopySource::ReadStatus FileCopySource::Read(std::string_view* piece) {
  if (!reader_.Read(piece_)) return ReadStatus::kEnd;
  *piece = piece_;
  return ReadStatus::kData;
}

}  // namespace freshet
