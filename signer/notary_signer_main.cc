// notary-signer: holds the notary's signing keys and does nothing else (docs/signer.md).
//
//   notary-signer --socket /run/notary-signer/socket --state-dir /var/lib/notary-signer
//                 --origin ORIGIN [--user notary-signer] [--socket-group notary]
//                 [--pkcs11-module PATH --pkcs11-token LABEL --pkcs11-pin-file FILE]
//                 [--key-label notary-log] [--max-clock-skew-s 300]
//   notary-signer --state-dir DIR --origin ORIGIN [...key source...] --list-keys
//
// Keys come from files in <state-dir>/keys.d (mode 0600, generated on first start) or from a
// PKCS#11 token (generated in the token, never extractable). The socket is created mode 0660
// so only the owner and --socket-group (notaryd's group) can ask. Started as root with
// --user, it binds the socket and opens the keys, then drops to that user for good.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "common/bytes.h"
#include "common/clock.h"
#include "signer/document_signing.h"
#include "signer/key_ring.h"
#include "signer/pkcs11_key.h"
#include "signer/policy.h"
#include "signer/server.h"
#include "signer/service.h"
#include "signer/tsa_key.h"
#include "vault/key_wrapper.h"

#if defined(__SANITIZE_ADDRESS__)
// Sanitizer builds only: a PKCS#11 module's own leaks are suppressed by its name
// (tests/lsan.supp), which LeakSanitizer sees only with the slow unwinder (the modules and
// libcrypto have no frame pointers).
extern "C" const char* __lsan_default_options() { return "fast_unwind_on_malloc=0"; }
#endif

namespace {

int g_stop_pipe[2] = {-1, -1};

void OnSignal(int) {
  const char c = 1;
  [[maybe_unused]] ssize_t n = ::write(g_stop_pipe[1], &c, 1);
}

int Fail(const std::string& why) {
  std::cerr << "notary-signer: " << why << "\n";
  return 1;
}

// PKCS#11 keys: the ring's names are token labels.
class Pkcs11KeySource final : public signer::KeySource {
 public:
  explicit Pkcs11KeySource(signer::Pkcs11Options base) : base_(std::move(base)) {}
  common::Result<Opened> OpenOrCreate(const std::string& name) override {
    signer::Pkcs11Options o = base_;
    o.key_label = name;
    ASSIGN_OR_RETURN(auto key, signer::Pkcs11Ed25519Key::Open(o));
    Opened out;
    out.where = key->uri();
    out.created = key->generated();
    out.key = std::move(key);
    return out;
  }

 private:
  signer::Pkcs11Options base_;
};

common::Result<std::string> ReadSecret(const std::string& path) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) return common::Error::Unavailable("cannot read " + path);
  if ((sb.st_mode & 077) != 0) {
    return common::Error::PermissionDenied(path + " is readable by others: chmod 600 it");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return common::Error::Unavailable("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  std::string v = s.str();
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"notary-signer: holds the notary's signing keys and signs only what may be signed"};
  std::string socket_path, admin_socket, state_dir, origin, user, socket_group;
  std::string p11_module, p11_token, p11_pin_file, key_label = "notary-log";
  std::string document_key, document_cert;
  int64_t max_skew_s = 300;
  bool list_keys = false, no_tsa = false, accept_first_block = false, document_public = false;
  int64_t tsa_skew_s = 10;
  app.add_option("--socket", socket_path, "Unix socket to serve (notaryd --signer unix:PATH)");
  app.add_option("--state-dir", state_dir, "Where the signer keeps its state and key files")
      ->required();
  app.add_option("--origin", origin, "The log's checkpoint origin (notaryd --origin)")->required();
  app.add_option("--admin-socket", admin_socket,
                 "The operator's socket (mode 0600; key rotation): default <socket>.admin");
  app.add_option("--user", user, "Drop to this user after binding the socket (when root)");
  app.add_option("--socket-group", socket_group, "Group allowed to use the socket (notaryd's)");
  app.add_option("--pkcs11-module", p11_module, "PKCS#11 module (e.g. libsofthsm2.so)");
  app.add_option("--pkcs11-token", p11_token, "Label of the token holding the keys");
  app.add_option("--pkcs11-pin-file", p11_pin_file, "File holding the token's user PIN");
  app.add_option("--key-label", key_label, "Name of the first log key (token label or file)");
  app.add_option("--max-clock-skew-s", max_skew_s,
                 "Refuse blocks dated further than this from the signer's clock")
      ->check(CLI::Range(1, 86400));
  app.add_option("--tsa-clock-skew-s", tsa_skew_s,
                 "Refuse time-stamps whose genTime is further than this from the signer's clock")
      ->check(CLI::Range(1, 300));
  app.add_flag("--accept-first-block", accept_first_block,
               "The state folder lost its record of what was signed: take the next block as the "
               "first (docs/signer.md)");
  app.add_flag("--no-tsa", no_tsa,
               "Hold no key for notaryd's built-in TSA (notaryd then needs --tsa-key or none)");
  app.add_option("--document-key", document_key,
                 "The operator's document key (PEM, mode 0600): signs certificate.pdf. With "
                 "PKCS#11 the key is the token's <key-label>-document instead")
      ->check(CLI::ExistingFile);
  app.add_option("--document-cert", document_cert,
                 "Its certificate (PEM, then its chain; notaryd --document-cert gets the same)")
      ->check(CLI::ExistingFile);
  app.add_flag("--document-public-key", document_public,
               "With PKCS#11: print the token's document key's public key (PEM, generating the "
               "key in the token when it has none) for a CA to certify, and exit");
  app.add_flag("--list-keys", list_keys, "Print the keys (generating the first) and exit");
  CLI11_PARSE(app, argc, argv);
  if (!list_keys && !document_public && socket_path.empty()) {
    return Fail("--socket is required");
  }

  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (::chmod(state_dir.c_str(), 0700) != 0) return Fail("cannot chmod 700 " + state_dir);
  // One signer per state: two would each keep their own last block and could each sign a
  // different one at the same height. Held until exit (the descriptor is never closed).
  const int lock_fd =
      ::open((state_dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return Fail("another notary-signer uses " + state_dir + " (or its lock cannot be taken)");
  }

  std::unique_ptr<signer::KeySource> source;
  std::optional<signer::Pkcs11Options> p11;
  if (!p11_module.empty() || !p11_token.empty() || !p11_pin_file.empty()) {
    if (p11_module.empty() || p11_token.empty() || p11_pin_file.empty()) {
      return Fail("--pkcs11-module, --pkcs11-token and --pkcs11-pin-file go together");
    }
    auto pin = ReadSecret(p11_pin_file);
    if (!pin.ok()) return Fail(pin.error().message());
    signer::Pkcs11Options o;
    o.module_path = p11_module;
    o.token_label = p11_token;
    o.pin = std::move(*pin);
    p11 = o;
    source = std::make_unique<Pkcs11KeySource>(std::move(o));
  } else {
    const std::string dir = state_dir + "/keys.d";
    std::filesystem::create_directories(dir, ec);
    if (::chmod(dir.c_str(), 0700) != 0) return Fail("cannot chmod 700 " + dir);
    source = signer::MakeFileKeySource(dir);
  }
  const common::Clock& clock = common::Clock::System();
  const bool ring_existed = std::filesystem::exists(state_dir + "/keys");
  const bool policy_existed = std::filesystem::exists(state_dir + "/policy");
  if (ring_existed && !policy_existed && !accept_first_block) {
    // Keys but no record of what they signed: the state was lost or restored in part. Taking
    // the next block as a first one would let a fork through; the operator decides.
    return Fail(state_dir +
                "/policy is missing while keys exist: restore it from the backup, "
                "or start once with --accept-first-block");
  }
  auto ring = signer::KeyRing::Open(state_dir, key_label, std::move(source), clock);
  if (!ring.ok()) return Fail(ring.error().ToString());
  signer::PolicyOptions po;
  po.state_path = state_dir + "/policy";
  po.key_id = notary::KeyId(ring->current().public_key());
  po.origins = {origin};
  po.max_clock_skew_us = max_skew_s * 1'000'000;
  auto policy = signer::Policy::Open(po);
  if (!policy.ok()) return Fail(policy.error().ToString());
  if (!policy_existed) {
    if (auto st = policy->Persist(); !st.ok()) return Fail(st.error().ToString());
  }
  std::optional<signer::TsaSigning> tsa;
  if (!no_tsa) {
    common::Result<std::unique_ptr<signer::TsaKey>> key = common::Error::Internal("unset");
    if (p11) {
      // ECDSA P-256: the mechanism every HSM has (docs/signer.md, "Algorithms").
      signer::Pkcs11Options o = *p11;
      o.key_label = key_label + "-tsa";
      auto token_key = signer::Pkcs11EcdsaP256Key::Open(o);
      if (!token_key.ok()) return Fail(token_key.error().ToString());
      key = signer::WrapTokenTsaKey(std::move(*token_key));
    } else {
      key = signer::OpenFileTsaKey(state_dir + "/keys.d/tsa.key.pem");
    }
    if (!key.ok()) return Fail(key.error().ToString());
    auto chain = signer::LoadOrIssueTsaChain(state_dir + "/tsa-chain.pem", **key, clock);
    if (!chain.ok()) return Fail(chain.error().ToString());
    signer::TsaSigning t;
    t.cert_pem = chain->substr(0, chain->find("-----END CERTIFICATE-----\n") + 26);
    t.chain_pem = std::move(*chain);
    t.key = std::move(*key);
    t.clock = &clock;
    t.max_clock_skew_us = tsa_skew_s * 1'000'000;
    tsa = std::move(t);
  }
  // The tenants' key pairs for encryption at rest (docs/retention.md): private keys as files
  // in <state-dir>/keks.d, mode 0600, one per tenant, made on first use. In the token when
  // PKCS#11 is configured is still to come (docs/signer.md).
  const std::string kek_dir = state_dir + "/keks.d";
  std::filesystem::create_directories(kek_dir, ec);
  if (::chmod(kek_dir.c_str(), 0700) != 0) return Fail("cannot chmod 700 " + kek_dir);
  auto keks = vault::FileKeyHolder::Open(kek_dir);
  if (!keks.ok()) return Fail(keks.error().ToString());
  signer::Service service(std::move(*ring), std::move(*policy), std::move(tsa), std::move(*keks));
  if (p11) {
    // The document key in the token, as the log and TSA keys (ECDSA P-256: every HSM has it).
    if (!document_key.empty()) {
      return Fail("with PKCS#11 the document key is the token's: drop --document-key");
    }
    if (document_public || !document_cert.empty()) {
      signer::Pkcs11Options o = *p11;
      o.key_label = key_label + "-document";
      auto token_key = signer::Pkcs11EcdsaP256Key::Open(o);
      if (!token_key.ok()) return Fail(token_key.error().ToString());
      if (document_public) {
        std::cout << signer::TokenPublicKeyPem(**token_key);
        return 0;
      }
      auto document = signer::OpenTokenDocumentSigning(std::move(*token_key), document_cert);
      if (!document.ok()) return Fail(document.error().ToString());
      service.set_document(std::move(*document));
    }
  } else if (document_public) {
    return Fail("--document-public-key is for a document key in a PKCS#11 token");
  } else if (document_key.empty() != document_cert.empty()) {
    return Fail("--document-key and --document-cert go together");
  } else if (!document_key.empty()) {
    auto document = signer::OpenDocumentSigning(document_key, document_cert);
    if (!document.ok()) return Fail(document.error().ToString());
    service.set_document(std::move(*document));
  }
  if (list_keys) {
    for (const signer::KeyInfo& k : service.Keys().keys) {
      std::cout << notary::KeyId(k.public_key) << " " << k.algorithm << " "
                << notary::Fingerprint(k.public_key) << " " << (k.current ? "current" : "retired")
                << " " << k.where << "\n";
    }
    return 0;
  }

  int gid = -1;
  if (!socket_group.empty()) {
    const group* g = ::getgrnam(socket_group.c_str());
    if (g == nullptr) return Fail("no group " + socket_group);
    gid = static_cast<int>(g->gr_gid);
  }
  if (admin_socket.empty()) admin_socket = socket_path + ".admin";
  auto listen_fd = signer::Listen(socket_path, 0660, gid);
  if (!listen_fd.ok()) return Fail(listen_fd.error().ToString());
  auto admin_fd = signer::Listen(admin_socket, 0600);
  if (!admin_fd.ok()) return Fail(admin_fd.error().ToString());
  if (!user.empty()) {
    const passwd* pw = ::getpwnam(user.c_str());
    if (pw == nullptr) return Fail("no user " + user);
    // The state must stay writable by the user the signer becomes. Never through a link: a
    // link planted in the state folder must not make root chown its target.
    for (const auto& e : std::filesystem::recursive_directory_iterator(state_dir)) {
      if (e.is_symlink()) return Fail(e.path().string() + " is a symbolic link: refused");
      if (::lchown(e.path().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        return Fail("cannot chown " + e.path().string());
      }
    }
    if (::lchown(state_dir.c_str(), pw->pw_uid, pw->pw_gid) != 0 ||
        ::lchown(socket_path.c_str(), pw->pw_uid, static_cast<gid_t>(-1)) != 0 ||
        ::lchown(admin_socket.c_str(), pw->pw_uid, pw->pw_gid) != 0 ||
        ::setgroups(0, nullptr) != 0 || ::setgid(pw->pw_gid) != 0 || ::setuid(pw->pw_uid) != 0 ||
        ::setuid(0) == 0) {
      return Fail("cannot drop privileges to " + user);
    }
  }
  if (::pipe2(g_stop_pipe, O_CLOEXEC) != 0) return Fail("pipe");
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  spdlog::info("event=signer_ready socket={} admin_socket={} key_id={} keys={}", socket_path,
               admin_socket, po.key_id, service.Keys().keys.size());
  auto st = signer::Serve({}, {{*listen_fd, false}, {*admin_fd, true}}, service, g_stop_pipe[0]);
  ::unlink(socket_path.c_str());
  ::unlink(admin_socket.c_str());
  if (!st.ok()) return Fail(st.error().ToString());
  spdlog::info("event=signer_stopped");
  return 0;
}
