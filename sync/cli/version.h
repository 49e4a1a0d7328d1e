// What `freshet --version` prints: the release version (CMake's project
// version) and the git revision the binary was built from ("unknown" for a
// tree without .git unless FRESHET_GIT_REVISION named it). Defined in a file
// generated at build time by cmake/VersionStamp.cmake.
#pragma once

namespace freshet {

extern const char* const kVersion;
extern const char* const kGitRevision;

}  // namespace freshet
