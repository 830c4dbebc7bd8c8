#include "mail_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

namespace plugintest {

using testsupport::RunCommand;
namespace fs = std::filesystem;

bool PortOpen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

namespace {

HttpResult Curl(std::vector<std::string> args) {
  std::vector<std::string> argv = {"curl", "-s", "-m", "20", "-w", "\n%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunCommand(argv, "", 30);
  HttpResult out;
  size_t nl = r.out.rfind('\n');
  if (nl == std::string::npos) return out;
  out.status = std::atoi(r.out.substr(nl + 1).c_str());
  out.body = r.out.substr(0, nl);
  return out;
}

// The file's bytes; "" when it does not exist (yet).
std::string ReadAll(const std::string& path) {
  try {
    return testsupport::ReadFile(path);
  } catch (const std::runtime_error&) {
    return "";
  }
}

}  // namespace

HttpResult HttpGet(const std::string& url, const std::string& api_key) {
  return Curl({"-H", "Authorization: Bearer " + api_key, url});
}

HttpResult HttpPost(const std::string& url, const std::string& api_key, const std::string& body,
                    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string file = testsupport::MakeTempDir("post") + "/body";
  testsupport::WriteFile(file, body);
  std::vector<std::string> args = {"-H",
                                   "Authorization: Bearer " + api_key,
                                   "-H",
                                   "Content-Type: message/rfc822",
                                   "--data-binary",
                                   "@" + file};
  for (const auto& [k, v] : headers) {
    args.push_back("-H");
    args.push_back(k + ": " + v);
  }
  args.push_back(url);
  auto r = Curl(args);
  fs::remove_all(fs::path(file).parent_path());
  return r;
}

std::string Binary(const std::string& rel) {
  std::string path = testsupport::BinaryDir() + "/" + rel;
  if (access(path.c_str(), X_OK) != 0) {
    throw std::runtime_error(path +
                             " is missing: build the notaryd, notaryctl and notary-milter "
                             "targets first");
  }
  return path;
}

Notary::Notary(const std::string& dir) : dir_(dir) {
  auto r = RunCommand({Binary("cli/notaryctl"), "--database-url", db_.AppUrl(),
                       "--owner-database-url", db_.OwnerUrl(), "migrate"});
  if (r.exit_code != 0) throw std::runtime_error("notaryctl migrate: " + r.out);
  api_key_ = CreateKey("ingest,read,relay");
  key_file_ = dir_ + "/api-key";
  testsupport::WriteFile(key_file_, api_key_ + "\n");
  chmod(key_file_.c_str(), 0600);
}

Notary::~Notary() { Stop(); }

std::string Notary::CreateKey(const std::string& scopes) {
  auto r = RunCommand({Binary("cli/notaryctl"), "--database-url", db_.AppUrl(), "apikey", "create",
                       "--tenant", "default", "--scope", scopes});
  if (r.exit_code != 0) throw std::runtime_error("notaryctl apikey: " + r.out);
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out.substr(out.rfind('\n') + 1);
}

void Notary::Start(const std::vector<std::string>& flags) {
  if (proc_ && proc_->Alive()) return;
  fs::create_directories(dir_ + "/notaryd");
  std::vector<std::string> argv{Binary("notaryd/notaryd"),
                                "--database-url",
                                db_.AppUrl(),
                                "--owner-database-url",
                                db_.OwnerUrl(),
                                "--data-dir",
                                dir_ + "/notaryd",
                                "--smtp-listen",
                                "127.0.0.1:" + std::to_string(smtp_port_),
                                "--http-listen",
                                "127.0.0.1:" + std::to_string(http_port_)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  testsupport::AppendSenderChecksOffUnlessAsked(argv, flags);
  proc_ = std::make_unique<testsupport::ChildProcess>(argv, dir_ + "/notaryd.log");
  auto line = proc_->WaitForLine("event=listening ", std::chrono::seconds(30));
  auto ports = line ? testsupport::ParseListeningLine(*line) : std::nullopt;
  if (!ports) throw std::runtime_error("notaryd did not start: " + ReadAll(dir_ + "/notaryd.log"));
  smtp_port_ = ports->smtp;
  http_port_ = ports->http;
}

std::string Notary::url() const {
  // Asked before any Start() (tests of "notaryd is down"): a port nothing listens on, which a
  // later Start() then binds, so that the clients already holding the URL reach it.
  if (http_port_ == 0) http_port_ = testsupport::FreePort();
  return "http://127.0.0.1:" + std::to_string(http_port_);
}

void Notary::Stop() {
  if (proc_) proc_->Stop(std::chrono::seconds(5));
  proc_.reset();
}

std::vector<std::string> Notary::Search(const std::string& query) {
  auto r = HttpGet(url() + "/v1/messages?" + query, api_key_);
  std::vector<std::string> out;
  if (r.status != 200) return out;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return out;
  for (const auto& item : j["items"]) out.push_back(item.dump());
  return out;
}

Sink::Sink(const std::string& dir) : dir_(dir + "/sink") {
  fs::create_directories(dir_);
  chown(dir_.c_str(), 0, 0);
  chmod(dir_.c_str(), 0777);  // smtp-sink drops to the postfix user before writing
  port_ = testsupport::FreePort();
  proc_ = std::make_unique<testsupport::ChildProcess>(
      std::vector<std::string>{"/usr/sbin/smtp-sink", "-u", "postfix", "-d", dir_ + "/%M.",
                               "127.0.0.1:" + std::to_string(port_), "64"},
      dir + "/smtp-sink.log");
  if (!WaitUntil([this] { return PortOpen(port_); }, std::chrono::seconds(10))) {
    throw std::runtime_error("smtp-sink did not start");
  }
}

Sink::~Sink() { proc_->Stop(); }

std::vector<std::string> Sink::Messages() const {
  std::vector<std::string> out;
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir_)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::string data = ReadAll(f.string());
    // smtp-sink's dump: its X-* records, a three-line Received header, the message, then an
    // empty line (smtp-sink(1), MESSAGE DUMP FORMAT).
    size_t rec = data.find("\nReceived: from ");
    if (rec == std::string::npos) rec = data.rfind("Received: from ", 0) == 0 ? 0 : rec;
    if (rec == std::string::npos) continue;
    size_t pos = data.find('\n', rec + 1);
    // Skip the Received header's continuation lines.
    while (pos != std::string::npos && pos + 1 < data.size() &&
           (data[pos + 1] == ' ' || data[pos + 1] == '\t')) {
      pos = data.find('\n', pos + 1);
    }
    if (pos == std::string::npos) continue;
    std::string msg = data.substr(pos + 1);
    if (msg.size() >= 1 && msg.back() == '\n') msg.pop_back();  // the dump's empty line
    out.push_back(msg);
  }
  return out;
}

Milter::Milter(const std::string& dir, const Notary& notary, std::vector<std::string> flags,
               Socket socket)
    : dir_(dir) {
  port_ = testsupport::FreePort();
  status_port_ = testsupport::FreePort();
  if (socket == Socket::kUnix) unix_path_ = dir + "/milter.sock";
  argv_ = {Binary("plugin/notary-milter"),
           "--listen",
           unix_path_.empty() ? "inet:127.0.0.1:" + std::to_string(port_) : "unix:" + unix_path_,
           "--notary-url",
           notary.url(),
           "--api-key-file",
           notary.key_file(),
           "--status-listen",
           "127.0.0.1:" + std::to_string(status_port_),
           "--timeout-ms",
           "3000"};
  argv_.insert(argv_.end(), flags.begin(), flags.end());
}

Milter::~Milter() {
  if (proc_) proc_->Stop();
}

void Milter::Start() {
  proc_ = std::make_unique<testsupport::ChildProcess>(argv_, dir_ + "/milter.log");
  auto listening = [this] {
    if (unix_path_.empty()) return PortOpen(port_);
    struct stat st {};
    return stat(unix_path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
  };
  if (!WaitUntil([&] { return listening() || !proc_->Alive(); }, std::chrono::seconds(10)) ||
      !proc_->Alive()) {
    throw std::runtime_error("notary-milter did not start: " + Log());
  }
  // Postfix's smtpd runs as the postfix user; the milter here runs as root.
  if (!unix_path_.empty()) chmod(unix_path_.c_str(), 0666);
}

std::string Milter::postfix_spec() const {
  return unix_path_.empty() ? "inet:127.0.0.1:" + std::to_string(port_) : "unix:" + unix_path_;
}

void Milter::Kill9() {
  proc_->Kill(SIGKILL);  // reaps it
  proc_.reset();
}

pid_t Milter::pid() const { return proc_ ? proc_->pid() : -1; }

std::string Milter::Log() const { return ReadAll(dir_ + "/milter.log"); }

std::string Milter::Metrics() const {
  return Curl({"http://127.0.0.1:" + std::to_string(status_port_) + "/metrics"}).body;
}

Postfix::Postfix(const std::string& dir, const std::string& milter_spec, int sink_port,
                 const std::string& extra_main_cf, const std::string& extra_master_cf)
    : dir_(dir + "/postfix"), conf_dir_(dir + "/postfix/conf") {
  smtp_port_ = testsupport::FreePort();
  for (const char* sub : {"conf", "queue", "data"}) fs::create_directories(dir_ + "/" + sub);
  // The postfix user must reach its directories.
  for (fs::path p = dir_; p != p.root_path(); p = p.parent_path()) {
    struct stat st {};
    if (stat(p.c_str(), &st) == 0) chmod(p.c_str(), (st.st_mode & 07777) | 0111);
  }
  RunCommand({"chown", "postfix", dir_ + "/data"});
  std::string main_cf =
      "compatibility_level = 3.6\n"
      "queue_directory = " +
      dir_ +
      "/queue\n"
      "data_directory = " +
      dir_ +
      "/data\n"
      "mail_owner = postfix\n"
      "setgid_group = postdrop\n"
      "inet_interfaces = 127.0.0.1\n"
      "inet_protocols = ipv4\n"
      "myhostname = mta.notary.test\n"
      "mydomain = notary.test\n"
      "myorigin = notary.test\n"
      "mydestination =\n"
      "mynetworks = 127.0.0.0/8\n"
      "relayhost = [127.0.0.1]:" +
      std::to_string(sink_port) +
      "\n"
      "smtp_dns_support_level = disabled\n"
      "smtp_tls_security_level = none\n"
      "smtpd_tls_security_level = none\n"
      "alias_maps =\nalias_database =\nlocal_recipient_maps =\nbiff = no\n"
      "maillog_file_prefixes = /\n"
      "maillog_file = " +
      dir_ +
      "/maillog\n"
      "smtpd_milters = " +
      milter_spec +
      "\n"
      "milter_default_action = tempfail\n"
      "milter_command_timeout = 10s\n"
      "milter_content_timeout = 20s\n"
      "smtpd_authorized_xclient_hosts = 127.0.0.0/8\n"
      "smtp_connection_cache_on_demand = no\n"
      "default_process_limit = 40\n";
  main_cf += extra_main_cf;
  testsupport::WriteFile(dir_ + "/conf/main.cf", main_cf);
  std::string master_cf = "127.0.0.1:" + std::to_string(smtp_port_) +
                          " inet n - n - - smtpd\n"
                          "pickup unix n - n 60 1 pickup\n"
                          "cleanup unix n - n - 0 cleanup\n"
                          "qmgr unix n - n 300 1 qmgr\n"
                          "rewrite unix - - n - - trivial-rewrite\n"
                          "bounce unix - - n - 0 bounce\n"
                          "defer unix - - n - 0 bounce\n"
                          "trace unix - - n - 0 bounce\n"
                          "verify unix - - n - 1 verify\n"
                          "flush unix n - n 1000? 0 flush\n"
                          "proxymap unix - - n - - proxymap\n"
                          "smtp unix - - n - - smtp\n"
                          "relay unix - - n - - smtp\n"
                          "showq unix n - n - - showq\n"
                          "error unix - - n - - error\n"
                          "retry unix - - n - - error\n"
                          "discard unix - - n - - discard\n"
                          "anvil unix - - n - 1 anvil\n"
                          "scache unix - - n - 1 scache\n"
                          "postlog unix-dgram n - n - 1 postlogd\n";
  master_cf += extra_master_cf;
  testsupport::WriteFile(dir_ + "/conf/master.cf", master_cf);
  auto r = RunCommand({"/usr/sbin/postfix", "-c", dir_ + "/conf", "start"}, "", 60);
  if (r.exit_code != 0) throw std::runtime_error("postfix start failed: " + r.out + Log());
  started_ = true;
  if (!WaitUntil([this] { return PortOpen(smtp_port_); }, std::chrono::seconds(20))) {
    throw std::runtime_error("postfix smtpd did not listen: " + Log());
  }
}

Postfix::~Postfix() {
  if (!started_) return;
  auto r = RunCommand({"/usr/sbin/postfix", "-c", dir_ + "/conf", "stop"}, "", 30);
  std::string pidfile = dir_ + "/queue/pid/master.pid";
  auto master_alive = [&] {
    std::ifstream in(pidfile);
    int pid = 0;
    return (in >> pid) && pid > 0 && kill(pid, 0) == 0;
  };
  if (!WaitUntil([&] { return !master_alive(); }, std::chrono::seconds(10))) {
    RunCommand({"/usr/sbin/postfix", "-c", dir_ + "/conf", "abort"}, "", 30);
  }
}

std::string Postfix::Log() const { return ReadAll(dir_ + "/maillog"); }

void Postfix::Reload() {
  auto r = RunCommand({"/usr/sbin/postfix", "-c", conf_dir_, "reload"}, "", 30);
  if (r.exit_code != 0) throw std::runtime_error("postfix reload failed: " + r.out);
}

testsupport::CommandResult Swaks(int port, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"swaks", "--server", "127.0.0.1:" + std::to_string(port),
                                   "--timeout", "40"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, "", 90);
}

}  // namespace plugintest
