// The README's Quick start as a new user meets it: scripts/run starts notaryd and prints a
// block to paste into another terminal; pasted as printed (bash), the block sends a message
// with swaks, downloads its evidence bundle with curl and verifies it with notary-verify
// against the printed fingerprint and TSA root. Ctrl-C (SIGINT to the terminal's process
// group) stops notaryd and says how to stop the database. Issue 24, "First start".
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "support/test_support.h"

namespace {

using testsupport::RunCommand;

TEST(QuickStartTest, ThePrintedBlockSendsDownloadsAndVerifiesAndCtrlCStopsNotaryd) {
  testsupport::TestDatabase db;
  const std::string dir = testsupport::MakeTempDir("quick-start");
  const std::string out = dir + "/run.out";
  // Its own session, so that the whole group gets the SIGINT a terminal's Ctrl-C sends.
  const std::string env = "BUILD_DIR='" + testsupport::BinaryDir() + "' NOTARY_DATABASE_URL='" +
                          db.AppUrl() + "' NOTARY_OWNER_DATABASE_URL='" + db.OwnerUrl() +
                          "' NOTARY_DATA_DIR='" + dir + "/data'";
  auto started = RunCommand(
      {"sh", "-c",
       "cd '" + testsupport::SourceDir() + "' && env " + env +
           " setsid scripts/run --smtp-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 > '" + out +
           "' 2> '" + dir + "/run.err' < /dev/null & echo $!"});
  ASSERT_EQ(started.exit_code, 0);
  const pid_t pid = static_cast<pid_t>(std::stol(started.out));
  auto printed = [&] { return testsupport::ReadFile(out); };
  const bool up = testsupport::WaitUntil(
      [&] { return printed().find("notary-verify evidence.zip") != std::string::npos; },
      std::chrono::seconds(240));
  if (!up) kill(-pid, SIGINT);
  ASSERT_TRUE(up) << printed() << testsupport::ReadFile(dir + "/run.err");

  // The block, from "KEY=" to the notary-verify line, pasted into bash elsewhere.
  const std::string all = printed();
  const size_t from = all.find("\nKEY=") + 1;
  const size_t to = all.find('\n', all.find("notary-verify evidence.zip"));
  const std::string block = all.substr(from, to - from);
  EXPECT_EQ(block.find('<'), std::string::npos) << "a placeholder is left:\n" << block;
  testsupport::WriteFile(dir + "/block.sh", block + "\n");
  auto pasted = RunCommand({"bash", "-c", "cd '" + dir + "' && bash block.sh"}, "", 120);
  EXPECT_EQ(pasted.exit_code, 0) << block << "\n" << pasted.out;
  EXPECT_NE(pasted.out.find("VERDICT: VALID"), std::string::npos) << pasted.out;
  EXPECT_EQ(pasted.out.find("NOTE: the notary key was taken from the bundle"), std::string::npos)
      << "the fingerprint is pinned";

  // Ctrl-C: notaryd stops, and the script says so.
  ASSERT_EQ(kill(-pid, SIGINT), 0);
  EXPECT_TRUE(testsupport::WaitUntil([&] { return kill(pid, 0) != 0; }, std::chrono::seconds(30)));
  EXPECT_NE(printed().find("notaryd stopped."), std::string::npos) << printed();
}

}  // namespace
