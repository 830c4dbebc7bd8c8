// notary-witness: a C2SP tlog-witness (c2sp.org/tlog-witness). It cosigns a log's checkpoint
// only when it is consistent with the last one it cosigned for that log, so a log that shows
// two versions of its history to two parties is caught by whoever holds both cosignatures
// (docs/witness.md).
//
//   notary-witness --listen HOST:PORT --data-dir DIR --name NAME --log ORIGIN=VKEY [...]
//   notary-witness --data-dir DIR --name NAME --print-vkey
//
// DIR holds the witness's Ed25519 key (generated on first use, mode 0600), one state file
// per log and refused checkpoints kept as evidence; one witness per DIR (a lock file).
// Exit codes: 0 stopped by SIGTERM/SIGINT (or --print-vkey done), 1 a start-up failure,
// 2 a usage error.
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <thread>

#include "common/clock.h"
#include "log/cosignature.h"
#include "witness/data_dir.h"
#include "witness/http_server.h"
#include "witness/state_store.h"
#include "witness/witness.h"

namespace {

int Fail(const std::string& why) {
  std::cerr << "notary-witness: " << why << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "notary-witness: a C2SP tlog-witness. It cosigns a transparency log's checkpoint only "
      "when a consistency proof shows that it extends the last checkpoint it cosigned for that "
      "log, and keeps that last checkpoint per log, durably, in its data directory. Protocol: "
      "POST /add-checkpoint (c2sp.org/tlog-witness); see docs/witness.md."};
  std::string listen, data_dir, name;
  std::vector<std::string> log_flags;
  bool print_vkey = false;
  witness::HttpServerOptions http;
  app.add_option("--data-dir", data_dir,
                 "Directory of the witness's key (witness-key.pem, mode 0600, generated on first "
                 "use), its per-log state (state/) and kept evidence (evidence/); one witness "
                 "per directory")
      ->required();
  app.add_option("--name", name,
                 "The witness's key name, e.g. witness.example.org/w1: part of its verifier key "
                 "and of every cosignature line")
      ->required();
  app.add_flag("--print-vkey", print_vkey,
               "Print the witness's cosigner verifier key (C2SP signed-note, type 0x04) and exit");
  app.add_option("--listen", listen, "HOST:PORT to serve HTTP on (port 0: any free port)");
  app.add_option("--log", log_flags,
                 "ORIGIN=VKEY: a log to witness, with a C2SP signed-note Ed25519 verifier key "
                 "(NAME+HEX+BASE64) of its checkpoints; repeat for several logs or several keys "
                 "of one log");
  app.add_option("--threads", http.threads, "HTTP worker threads")->check(CLI::Range(1, 256));
  app.add_option("--max-body-bytes", http.max_body_bytes, "Largest request body accepted")
      ->check(CLI::Range(1024, 1024 * 1024));
  app.add_option("--timeout-s", http.read_timeout_s, "Read and write timeout of a connection")
      ->check(CLI::Range(1, 300));
  app.footer(
      "Status codes of POST /add-checkpoint: 200 cosigned; 400 malformed or old > size; 403 no "
      "valid signature by a trusted key; 404 unknown origin; 409 old size is not the stored "
      "size (body: the stored size, Content-Type text/x.tlog.size) or same size, other root; "
      "422 the consistency proof does not verify. Stop it with SIGTERM.");
  CLI11_PARSE(app, argc, argv);
  http.write_timeout_s = http.read_timeout_s;

  // --print-vkey takes no lock: it may run beside the serving witness.
  if (auto st = witness::MakeDataDir(data_dir); !st.ok()) return Fail(st.error().message());
  if (!print_vkey) {
    auto lock = witness::LockDataDir(data_dir);
    if (!lock.ok()) return Fail(lock.error().message());
  }
  auto key = witness::LoadOrCreateKey(data_dir);
  if (!key.ok()) return Fail(key.error().message());
  auto vkey = notary::MakeCosignerKey(name, key->public_key());
  if (!vkey.ok()) return Fail("--name: " + vkey.error().message());
  if (print_vkey) {
    std::cout << vkey->ToString() << "\n";
    return 0;
  }

  if (listen.empty()) return Fail("--listen is required (or --print-vkey)");
  auto address = witness::ParseListenAddress(listen);
  if (!address.ok()) return Fail(address.error().message());
  http.host = address->first;
  http.port = address->second;
  std::vector<std::pair<std::string, notary::NoteVerifierKey>> logs;
  for (const auto& f : log_flags) {
    auto parsed = witness::ParseLogFlag(f);
    if (!parsed.ok()) return Fail(parsed.error().message());
    logs.push_back(std::move(*parsed));
  }
  if (logs.empty()) return Fail("no log to witness: give --log ORIGIN=VKEY");

  spdlog::set_default_logger(spdlog::stderr_logger_mt("notary-witness"));
  witness::StateStoreOptions so;
  so.dir = data_dir;
  auto store = witness::StateStore::Open(so);
  if (!store.ok()) return Fail(store.error().message());
  witness::WitnessOptions wo;
  wo.name = name;
  wo.logs = witness::GroupLogs(logs);
  for (const auto& [loaded_origin, state] : (*store)->loaded()) {
    const std::string& origin = loaded_origin;  // (clang 14 cannot capture a binding)
    const bool configured = std::any_of(wo.logs.begin(), wo.logs.end(),
                                        [&](const auto& l) { return l.origin == origin; });
    if (!configured) {
      spdlog::warn("event=state_of_unconfigured_log file=state/{} size={}",
                   witness::StateFileName(origin), state.size);
    }
  }
  auto w = witness::Witness::Create(std::move(wo), *key, **store, common::Clock::System());
  if (!w.ok()) return Fail(w.error().message());

  // Signals go to one thread, which stops the server; every thread started later inherits
  // the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  witness::HttpServer server(**w, http);
  if (auto st = server.Bind(); !st.ok()) return Fail(st.error().message());
  std::jthread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    server.Stop();
  });
  // The readiness line tests and supervisors wait for.
  spdlog::info("event=listening addr={}:{} vkey={} logs={}", http.host, server.port(),
               vkey->ToString(), logs.size());
  spdlog::default_logger()->flush();
  const common::Status served = server.Serve();
  ::kill(::getpid(), SIGTERM);  // wakes the waiter when Serve ended on its own
  waiter.join();
  if (!served.ok()) return Fail(served.error().message());
  spdlog::info("event=stopped");
  return 0;
}
