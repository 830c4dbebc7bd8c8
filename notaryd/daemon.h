// Daemon: notaryd's components wired together, started in dependency order and stopped in
// reverse: database and migrations, keys, the built-in TSA, the ingest pipeline, the sealer,
// then the SMTP and HTTP listeners.
//
// Thread-safety: Start and Stop are called from the main thread.
#pragma once

#include <memory>

#include "common/result.h"
#include "config.h"

namespace notaryd {

class Daemon {
 public:
  static common::Result<std::unique_ptr<Daemon>> Start(const Config& config);
  ~Daemon();
  void Stop();  // stop accepting, answer what is in flight, seal what waits, close

  uint16_t smtp_port() const;
  uint16_t http_port() const;

  struct Parts;

 private:
  explicit Daemon(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace notaryd
