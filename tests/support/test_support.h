// Helpers shared by the tests: paths, temporary folders, subprocesses and a fresh
// PostgreSQL database per test on the private test cluster (the `pg` CTest fixture).
#pragma once

#include <string>
#include <vector>

namespace testsupport {

std::string SourceDir();  // the repository
std::string BinaryDir();  // the build tree
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);
// A new empty folder under the build tree's tmp/, removed by the caller or left for review.
std::string MakeTempDir(const std::string& prefix);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr, interleaved
};
// Runs `argv` (no shell) with optional stdin; waits at most `timeout_s` seconds.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                         int timeout_s = 120);
// A loopback TCP port that was free a moment ago.
int FreePort();

// A fresh, empty database on the private cluster. The constructor creates it; the destructor
// drops it. Skips nothing: when the cluster is missing the test fails with a clear message.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  std::string SuperUrl() const;  // postgres superuser
  std::string OwnerUrl() const;  // notary_owner (runs migrations)
  std::string AppUrl() const;    // notary_app (what notaryd uses)

 private:
  std::string base_;  // postgresql://USER@127.0.0.1:PORT/
  std::string name_;
};

}  // namespace testsupport
