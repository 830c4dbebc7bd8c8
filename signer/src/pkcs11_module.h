// The PKCS#11 plumbing under the Pkcs11*Key classes (signer/pkcs11_key.h): a module loaded
// and initialised once per process, and a logged-in session on the token found by its label.
//
// A Module is shared by everyone in the process who loads the same path: C_Initialize and
// C_Finalize are process-wide in PKCS#11, so the first Load initialises (with
// CKF_OS_LOCKING_OK: the module may be called from several threads) and the last holder's
// release finalises, both under one process-wide mutex so that a Load never races a
// finalisation. A module somebody else in the process had already initialised
// (CKR_CRYPTOKI_ALREADY_INITIALIZED) is used and never finalised by us. The library is never
// dlclose'd: SoftHSM2 and the OpenSSL inside it leave atexit handlers behind.
//
// Errors name the function that failed and the CKR_ code (name and hex); the PIN never
// appears in them.
//
// Thread-safety: Module is thread-safe (its function list is immutable). A Session is not:
// PKCS#11 allows one operation at a time per session; its owner serialises calls.
#pragma once

// p11-kit's copy of the OASIS header (Debian: libp11-kit-dev); it has the PKCS#11 3.0 EdDSA
// values (CKK_EC_EDWARDS, CKM_EDDSA). Spelled with its folder so that no include path is needed.
#include <p11-kit-1/p11-kit/pkcs11.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace signer::pkcs11 {

// "CKR_PIN_INCORRECT (0xa0)"; unnamed codes as hex only.
std::string RvName(CK_RV rv);
// `what` failed with `rv`, as an Error whose code says what a caller can do about it: a wrong
// or locked PIN is kInvalidInput / kPermissionDenied, a token gone or a closed session
// kUnavailable, anything else kInternal.
common::Error RvError(std::string_view what, CK_RV rv);
// True for the codes after which a new session (and login) may succeed: the session was
// closed, the user logged out, the token was removed and put back.
bool SessionLost(CK_RV rv);

class Module {
 public:
  static common::Result<std::shared_ptr<Module>> Load(const std::string& path);

  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* f() const { return f_; }
  const std::string& path() const { return path_; }

  // The slot holding the initialised token labelled `label` (slot ids change across restarts
  // and re-plugs; labels do not). kNotFound when no token has it, kConflict when two do.
  common::Result<CK_SLOT_ID> FindSlot(const std::string& label) const;

 private:
  friend struct ModuleRegistry;
  Module(std::string path, CK_FUNCTION_LIST* f, bool owns_init)
      : path_(std::move(path)), f_(f), owns_init_(owns_init) {}
  ~Module() = default;

  std::string path_;
  CK_FUNCTION_LIST* f_;
  bool owns_init_;  // we called C_Initialize, so the last release calls C_Finalize
};

// One read/write session on the token, logged in as the user.
class Session {
 public:
  // Finds the token by label, opens a session and logs in with `pin`. A user already logged in
  // to the token by another session of this process (PKCS#11 login state is per application
  // and token) is accepted as it is: the PIN is then not checked again.
  static common::Result<std::unique_ptr<Session>> Open(std::shared_ptr<Module> module,
                                                       const std::string& token_label,
                                                       const std::string& pin);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  CK_FUNCTION_LIST* f() const { return module_->f(); }
  CK_SESSION_HANDLE handle() const { return handle_; }
  CK_SLOT_ID slot() const { return slot_; }

  // Every object matching `tmpl`.
  common::Result<std::vector<CK_OBJECT_HANDLE>> Find(std::span<CK_ATTRIBUTE> tmpl) const;
  // The value of one attribute; a sensitive one fails with CKR_ATTRIBUTE_SENSITIVE.
  common::Result<std::string> Attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;
  common::Result<bool> BoolAttribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;
  // Single-part C_SignInit + C_Sign (CKM_EDDSA and CKM_ECDSA have no multi-part form in
  // SoftHSM2). `rv` gets the failing code so that the caller can tell a lost session.
  common::Result<std::string> Sign(CK_MECHANISM_TYPE mechanism, CK_OBJECT_HANDLE key,
                                   std::span<const uint8_t> data, size_t max_signature,
                                   CK_RV& rv) const;

 private:
  Session(std::shared_ptr<Module> module, CK_SLOT_ID slot, CK_SESSION_HANDLE handle)
      : module_(std::move(module)), slot_(slot), handle_(handle) {}

  std::shared_ptr<Module> module_;
  CK_SLOT_ID slot_;
  CK_SESSION_HANDLE handle_;
};

}  // namespace signer::pkcs11
