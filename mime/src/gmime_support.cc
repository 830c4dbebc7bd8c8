#include "gmime_support.h"

#include <mutex>

namespace mime::internal {

void EnsureGMimeInitialized() {
  static std::once_flag once;
  // g_mime_init is not idempotent-safe across threads; call_once makes it so. GMime is
  // never shut down: other threads may still be canonicalising at exit.
  std::call_once(once, [] { g_mime_init(); });
}

}  // namespace mime::internal
