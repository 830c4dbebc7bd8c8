#include "pkcs11_module.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "common/thread_annotations.h"

namespace signer::pkcs11 {
namespace {

using common::Error;

// The codes a caller of the functions used here can meet, by name.
struct RvNameEntry {
  CK_RV rv;
  const char* name;
};
#define NOTARY_CKR(code) \
  { code, #code }
constexpr RvNameEntry kRvNames[] = {
    NOTARY_CKR(CKR_OK),
    NOTARY_CKR(CKR_HOST_MEMORY),
    NOTARY_CKR(CKR_SLOT_ID_INVALID),
    NOTARY_CKR(CKR_GENERAL_ERROR),
    NOTARY_CKR(CKR_FUNCTION_FAILED),
    NOTARY_CKR(CKR_ARGUMENTS_BAD),
    NOTARY_CKR(CKR_ATTRIBUTE_READ_ONLY),
    NOTARY_CKR(CKR_ATTRIBUTE_SENSITIVE),
    NOTARY_CKR(CKR_ATTRIBUTE_TYPE_INVALID),
    NOTARY_CKR(CKR_ATTRIBUTE_VALUE_INVALID),
    NOTARY_CKR(CKR_ACTION_PROHIBITED),
    NOTARY_CKR(CKR_DATA_INVALID),
    NOTARY_CKR(CKR_DATA_LEN_RANGE),
    NOTARY_CKR(CKR_DEVICE_ERROR),
    NOTARY_CKR(CKR_DEVICE_MEMORY),
    NOTARY_CKR(CKR_DEVICE_REMOVED),
    NOTARY_CKR(CKR_FUNCTION_CANCELED),
    NOTARY_CKR(CKR_FUNCTION_NOT_SUPPORTED),
    NOTARY_CKR(CKR_KEY_HANDLE_INVALID),
    NOTARY_CKR(CKR_KEY_TYPE_INCONSISTENT),
    NOTARY_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED),
    NOTARY_CKR(CKR_MECHANISM_INVALID),
    NOTARY_CKR(CKR_MECHANISM_PARAM_INVALID),
    NOTARY_CKR(CKR_OBJECT_HANDLE_INVALID),
    NOTARY_CKR(CKR_OPERATION_ACTIVE),
    NOTARY_CKR(CKR_OPERATION_NOT_INITIALIZED),
    NOTARY_CKR(CKR_PIN_INCORRECT),
    NOTARY_CKR(CKR_PIN_INVALID),
    NOTARY_CKR(CKR_PIN_LEN_RANGE),
    NOTARY_CKR(CKR_PIN_EXPIRED),
    NOTARY_CKR(CKR_PIN_LOCKED),
    NOTARY_CKR(CKR_SESSION_CLOSED),
    NOTARY_CKR(CKR_SESSION_COUNT),
    NOTARY_CKR(CKR_SESSION_HANDLE_INVALID),
    NOTARY_CKR(CKR_SESSION_READ_ONLY),
    NOTARY_CKR(CKR_SIGNATURE_INVALID),
    NOTARY_CKR(CKR_TEMPLATE_INCOMPLETE),
    NOTARY_CKR(CKR_TEMPLATE_INCONSISTENT),
    NOTARY_CKR(CKR_TOKEN_NOT_PRESENT),
    NOTARY_CKR(CKR_TOKEN_NOT_RECOGNIZED),
    NOTARY_CKR(CKR_TOKEN_WRITE_PROTECTED),
    NOTARY_CKR(CKR_USER_ALREADY_LOGGED_IN),
    NOTARY_CKR(CKR_USER_NOT_LOGGED_IN),
    NOTARY_CKR(CKR_USER_PIN_NOT_INITIALIZED),
    NOTARY_CKR(CKR_USER_TYPE_INVALID),
    NOTARY_CKR(CKR_DOMAIN_PARAMS_INVALID),
    NOTARY_CKR(CKR_CURVE_NOT_SUPPORTED),
    NOTARY_CKR(CKR_BUFFER_TOO_SMALL),
    NOTARY_CKR(CKR_CRYPTOKI_NOT_INITIALIZED),
    NOTARY_CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED),
};
#undef NOTARY_CKR

// CK_TOKEN_INFO.label: UTF-8, padded with blanks to 32 bytes, not NUL-terminated.
bool LabelIs(const CK_UTF8CHAR (&field)[32], const std::string& want) {
  if (want.size() > sizeof field) return false;
  for (size_t i = 0; i < sizeof field; ++i) {
    const auto c = static_cast<CK_UTF8CHAR>(i < want.size() ? want[i] : ' ');
    if (field[i] != c) return false;
  }
  return true;
}

}  // namespace

std::string RvName(CK_RV rv) {
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(rv));
  for (const RvNameEntry& e : kRvNames) {
    if (e.rv == rv) return std::string(e.name) + " (" + hex + ")";
  }
  return hex;
}

Error RvError(std::string_view what, CK_RV rv) {
  std::string m = std::string(what) + ": " + RvName(rv);
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
      return Error::InvalidInput(std::move(m));
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
    case CKR_USER_PIN_NOT_INITIALIZED:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
      return Error::PermissionDenied(std::move(m));
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_COUNT:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_USER_NOT_LOGGED_IN:
      return Error::Unavailable(std::move(m));
    default:
      return Error::Internal(std::move(m));
  }
}

bool SessionLost(CK_RV rv) {
  switch (rv) {
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
      return true;
    default:
      return false;
  }
}

// The process-wide table of loaded modules; see the header for why it counts users itself
// instead of relying on weak_ptr expiry (a Load must not slip between the last release and
// its C_Finalize).
struct ModuleRegistry {
  struct Entry {
    Module* module = nullptr;
    int users = 0;
  };

  static ModuleRegistry& Get() {
    static ModuleRegistry* registry = new ModuleRegistry;  // never destroyed: see Release
    return *registry;
  }

  std::shared_ptr<Module> Share(Entry& e) REQUIRES(mu) {
    ++e.users;
    return std::shared_ptr<Module>(e.module, [](Module* m) { Get().Release(m); });
  }

  void Release(Module* m) EXCLUDES(mu) {
    common::MutexLock lock(mu);
    auto it = modules.find(m->path());
    if (it == modules.end() || --it->second.users > 0) return;
    if (m->owns_init_) m->f()->C_Finalize(nullptr);
    modules.erase(it);
    delete m;
  }

  common::Mutex mu;
  std::map<std::string, Entry> modules GUARDED_BY(mu);
};

common::Result<std::shared_ptr<Module>> Module::Load(const std::string& path) {
  ModuleRegistry& registry = ModuleRegistry::Get();
  common::MutexLock lock(registry.mu);
  if (auto it = registry.modules.find(path); it != registry.modules.end()) {
    return registry.Share(it->second);
  }
  // RTLD_LOCAL: the module's symbols (C_Sign ...) must not be found by anything else.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return Error::InvalidInput("cannot load the PKCS#11 module " + path + ": " +
                               (why ? why : "dlopen failed"));
  }
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  if (!get_list) {
    return Error::InvalidInput(path + " is not a PKCS#11 module (no C_GetFunctionList)");
  }
  CK_FUNCTION_LIST* f = nullptr;
  if (CK_RV rv = get_list(&f); rv != CKR_OK || !f) {
    return RvError("C_GetFunctionList of " + path, rv != CKR_OK ? rv : CKR_GENERAL_ERROR);
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;  // our threads call it; the OS's mutexes will do
  const CK_RV rv = f->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    return RvError("C_Initialize of " + path, rv);
  }
  auto& entry = registry.modules[path];
  entry.module = new Module(path, f, rv == CKR_OK);
  return registry.Share(entry);
}

common::Result<CK_SLOT_ID> Module::FindSlot(const std::string& label) const {
  if (label.empty() || label.size() > 32) {
    return Error::InvalidInput("a PKCS#11 token label has 1 to 32 bytes");
  }
  CK_ULONG n = 0;
  if (CK_RV rv = f_->C_GetSlotList(CK_TRUE, nullptr, &n); rv != CKR_OK) {
    return RvError("C_GetSlotList", rv);
  }
  std::vector<CK_SLOT_ID> slots(n);
  if (CK_RV rv = f_->C_GetSlotList(CK_TRUE, slots.data(), &n); rv != CKR_OK) {
    return RvError("C_GetSlotList", rv);
  }
  slots.resize(n);
  std::vector<CK_SLOT_ID> found;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    // A slot whose token went away between the two calls is simply not a match.
    if (f_->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if ((info.flags & CKF_TOKEN_INITIALIZED) && LabelIs(info.label, label)) found.push_back(slot);
  }
  if (found.empty()) {
    return Error::NotFound("no PKCS#11 token labelled '" + label + "' in " + path_);
  }
  if (found.size() > 1) {
    return Error::Conflict(std::to_string(found.size()) + " PKCS#11 tokens are labelled '" + label +
                           "' in " + path_ + ": which one is meant is ambiguous");
  }
  return found.front();
}

common::Result<std::unique_ptr<Session>> Session::Open(std::shared_ptr<Module> module,
                                                       const std::string& token_label,
                                                       const std::string& pin) {
  ASSIGN_OR_RETURN(CK_SLOT_ID slot, module->FindSlot(token_label));
  CK_FUNCTION_LIST* f = module->f();
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  // Read/write: generating a token key pair needs it.
  if (CK_RV rv =
          f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &handle);
      rv != CKR_OK) {
    return RvError("C_OpenSession on token '" + token_label + "'", rv);
  }
  std::unique_ptr<Session> session(new Session(std::move(module), slot, handle));
  std::string pin_copy = pin;  // C_Login takes a non-const pointer
  const CK_RV rv = f->C_Login(handle, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(pin_copy.data()),
                              pin_copy.size());
  std::fill(pin_copy.begin(), pin_copy.end(), '\0');
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    return RvError("C_Login as user on token '" + token_label + "'", rv);
  }
  return session;
}

Session::~Session() {
  // A failure here (the token is gone) leaves nothing to clean up on our side.
  module_->f()->C_CloseSession(handle_);
}

common::Result<std::vector<CK_OBJECT_HANDLE>> Session::Find(std::span<CK_ATTRIBUTE> tmpl) const {
  CK_FUNCTION_LIST* fl = f();
  if (CK_RV rv = fl->C_FindObjectsInit(handle_, tmpl.data(), tmpl.size()); rv != CKR_OK) {
    return RvError("C_FindObjectsInit", rv);
  }
  std::vector<CK_OBJECT_HANDLE> out;
  CK_OBJECT_HANDLE batch[16];
  CK_ULONG n = 0;
  CK_RV rv = CKR_OK;
  while ((rv = fl->C_FindObjects(handle_, batch, std::size(batch), &n)) == CKR_OK && n > 0) {
    out.insert(out.end(), batch, batch + n);
  }
  fl->C_FindObjectsFinal(handle_);
  if (rv != CKR_OK) return RvError("C_FindObjects", rv);
  return out;
}

common::Result<std::string> Session::Attribute(CK_OBJECT_HANDLE object,
                                               CK_ATTRIBUTE_TYPE type) const {
  char what[64];
  std::snprintf(what, sizeof what, "C_GetAttributeValue(0x%lx)", static_cast<unsigned long>(type));
  CK_ATTRIBUTE a{type, nullptr, 0};
  if (CK_RV rv = f()->C_GetAttributeValue(handle_, object, &a, 1); rv != CKR_OK) {
    return RvError(what, rv);
  }
  if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return RvError(what, CKR_ATTRIBUTE_SENSITIVE);
  }
  std::string value(a.ulValueLen, '\0');
  a.pValue = value.data();
  if (CK_RV rv = f()->C_GetAttributeValue(handle_, object, &a, 1); rv != CKR_OK) {
    return RvError(what, rv);
  }
  value.resize(a.ulValueLen);
  return value;
}

common::Result<bool> Session::BoolAttribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const {
  ASSIGN_OR_RETURN(std::string v, Attribute(object, type));
  if (v.size() != sizeof(CK_BBOOL)) {
    return Error::Internal("a CK_BBOOL attribute of " + std::to_string(v.size()) + " bytes");
  }
  return v[0] != CK_FALSE;
}

common::Result<std::string> Session::Sign(CK_MECHANISM_TYPE mechanism, CK_OBJECT_HANDLE key,
                                          std::span<const uint8_t> data, size_t max_signature,
                                          CK_RV& rv) const {
  CK_MECHANISM mech{mechanism, nullptr, 0};  // pure Ed25519 and raw ECDSA take no parameters
  rv = f()->C_SignInit(handle_, &mech, key);
  if (rv != CKR_OK) return RvError("C_SignInit", rv);
  std::string sig(max_signature, '\0');
  CK_ULONG len = sig.size();
  rv = f()->C_Sign(handle_, const_cast<CK_BYTE*>(data.data()), data.size(),
                   reinterpret_cast<CK_BYTE*>(sig.data()), &len);
  if (rv != CKR_OK) return RvError("C_Sign", rv);
  sig.resize(len);
  return sig;
}

}  // namespace signer::pkcs11
