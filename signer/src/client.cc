#include "signer/client.h"

#include <openssl/crypto.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "signer/key_wrap_body.h"
#include "signer/service.h"

namespace signer {
namespace {

using SteadyClock = std::chrono::steady_clock;

int RemainingMs(SteadyClock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

common::Error Down(const std::string& what) {
  return common::Error::Unavailable("notary-signer unreachable: " + what);
}

// Waits for `events` on `fd` until the deadline.
common::Status WaitFor(int fd, short events, SteadyClock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, RemainingMs(deadline));
    if (r > 0) return common::Ok();
    if (r == 0) return Down("no answer in time");
    if (errno != EINTR) return Down(std::string("poll: ") + std::strerror(errno));
  }
}

}  // namespace

common::Result<std::string> ParseSignerAddress(std::string_view address) {
  if (!address.starts_with("unix:/") || address.size() > 5 + sizeof(sockaddr_un::sun_path) - 1) {
    return common::Error::InvalidInput("--signer takes unix:/absolute/path/to/socket");
  }
  return std::string(address.substr(5));
}

Client::~Client() {
  common::MutexLock lock(mu_);
  CloseLocked();
}

void Client::CloseLocked() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

common::Result<Frame> Client::Call(Kind kind, std::string_view body) {
  common::MutexLock lock(mu_);
  const bool reused = fd_ >= 0;
  auto r = CallLocked(kind, body);
  if (!r.ok() && r.error().code() == common::ErrorCode::kUnavailable && reused) {
    // A connection kept from before may be to a signer since restarted: one fresh attempt.
    // Safe for every kind: the signer signs the same block header again as a retry.
    CloseLocked();
    r = CallLocked(kind, body);
  }
  // After a failure the stream may hold half an answer: start afresh next time.
  if (!r.ok() && r.error().code() == common::ErrorCode::kUnavailable) CloseLocked();
  return r;
}

common::Result<Frame> Client::CallLocked(Kind kind, std::string_view body) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(options_.timeout_ms);
  ASSIGN_OR_RETURN(const std::string request, EncodeFrame(kind, body));
  if (fd_ < 0) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (options_.socket_path.size() >= sizeof addr.sun_path) return Down("socket path too long");
    std::memcpy(addr.sun_path, options_.socket_path.c_str(), options_.socket_path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Down(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return Down(options_.socket_path + ": " + why);
    }
    fd_ = fd;
  }
  size_t off = 0;
  while (off < request.size()) {
    RETURN_IF_ERROR(WaitFor(fd_, POLLOUT, deadline));
    const ssize_t n =
        ::send(fd_, request.data() + off, request.size() - off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return Down(std::string("send: ") + std::strerror(errno));
    off += static_cast<size_t>(n);
  }
  FrameReader reader;
  char buf[16 * 1024];
  while (true) {
    if (auto frame = reader.Next()) {
      if (frame->kind == Kind::kRefused) return RefusalError(frame->body);
      return std::move(*frame);
    }
    RETURN_IF_ERROR(WaitFor(fd_, POLLIN, deadline));
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n == 0) return Down("connection closed");
    if (n < 0) return Down(std::string("recv: ") + std::strerror(errno));
    if (auto st = reader.Feed(std::string_view(buf, static_cast<size_t>(n))); !st.ok()) {
      return Down("bad answer: " + st.error().message());
    }
  }
}

common::Result<KeyList> Client::ListKeys() {
  ASSIGN_OR_RETURN(Frame answer, Call(Kind::kListKeys, ""));
  if (answer.kind != Kind::kKeys) return Down("unexpected answer to list-keys");
  return ParseKeyList(answer.body);
}

common::Result<KeyList> Client::RotateKey() {
  ASSIGN_OR_RETURN(Frame answer, Call(Kind::kRotateKey, ""));
  if (answer.kind != Kind::kKeys) return Down("unexpected answer to rotate-key");
  return ParseKeyList(answer.body);
}

common::Result<notary::Ed25519PublicKey> Client::CurrentKey() {
  ASSIGN_OR_RETURN(KeyList list, ListKeys());
  const KeyInfo* k = list.Current("log");
  if (k == nullptr || k->algorithm != "ed25519") {
    return common::Error::Unavailable("notary-signer lists no current Ed25519 log key");
  }
  common::MutexLock lock(mu_);
  current_ = k->public_key;
  return k->public_key;
}

common::Result<std::optional<std::string>> Client::LastSignedHeader() {
  ASSIGN_OR_RETURN(KeyList list, ListKeys());
  return list.last_block_header;
}

common::Result<notary::Ed25519Signature> Client::SignBlock(const notary::BlockHeader& header) {
  ASSIGN_OR_RETURN(const std::string encoded, header.Encode());
  ASSIGN_OR_RETURN(Frame answer, Call(Kind::kSignBlock, encoded));
  notary::Ed25519Signature sig{};
  if (answer.kind != Kind::kSignature || answer.body.size() != sig.size()) {
    return Down("unexpected answer to sign-block");
  }
  std::memcpy(sig.data(), answer.body.data(), sig.size());
  return sig;  // the caller verifies it against the key it put in the header
}

common::Result<std::string> Client::SignCheckpoint(const notary::Checkpoint& checkpoint,
                                                   std::string_view name) {
  ASSIGN_OR_RETURN(const std::string text, notary::FormatCheckpoint(checkpoint));
  ASSIGN_OR_RETURN(Frame answer, Call(Kind::kSignCheckpoint, text));
  if (answer.kind != Kind::kSignature) return Down("unexpected answer to sign-checkpoint");
  // The note must be of exactly this checkpoint and carry a good signature by the current key:
  // the one the last key list named, or (after a rotation since) the one listed now.
  std::optional<notary::Ed25519PublicKey> known;
  {
    common::MutexLock lock(mu_);
    known = current_;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!known || attempt == 1) {
      ASSIGN_OR_RETURN(known, CurrentKey());
    }
    ASSIGN_OR_RETURN(const notary::NoteVerifierKey vkey, notary::MakeNoteVerifierKey(name, *known));
    auto opened = notary::OpenNote(answer.body, vkey);
    if (opened.ok()) {
      if (*opened != text) return Down("the signed checkpoint is not the one asked for");
      return std::move(answer.body);
    }
    if (attempt == 1) return opened.error();
  }
  return Down("unreachable");
}

common::Result<std::string> Client::SignTimestamp(std::string_view signed_attrs_der,
                                                  std::string_view tst_info_der) {
  std::string body;
  const auto n = static_cast<uint32_t>(signed_attrs_der.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    body.push_back(static_cast<char>((n >> shift) & 0xff));
  body.append(signed_attrs_der);
  body.append(tst_info_der);
  ASSIGN_OR_RETURN(Frame answer, Call(Kind::kSignTimestamp, body));
  // The responder verifies the signature against the TSA certificate before using it.
  if (answer.kind != Kind::kSignature || answer.body.empty()) {
    return Down("unexpected answer to sign-timestamp");
  }
  return std::move(answer.body);
}

common::Result<std::string> Client::SignDocument(std::string_view signed_attrs_der) {
  ASSIGN_OR_RETURN(Frame answer, Call(Kind::kSignDocument, signed_attrs_der));
  if (answer.kind != Kind::kSignature || answer.body.empty()) {
    return Down("unexpected answer to sign-document");
  }
  return std::move(answer.body);
}

common::Result<vault::TenantKey> Client::PublicKeyFor(const std::string& tenant) {
  ASSIGN_OR_RETURN(Frame answer, Call(Kind::kTenantKey, EncodeTenantKeyRequest(tenant)));
  if (answer.kind != Kind::kTenantKeyIs) return Down("unexpected answer to tenant-key");
  return DecodeTenantKeyAnswer(answer.body);
}

common::Result<vault::TenantKey> Client::Rotate(const std::string& tenant) {
  ASSIGN_OR_RETURN(Frame answer, Call(Kind::kRotateTenantKey, EncodeTenantKeyRequest(tenant)));
  if (answer.kind != Kind::kTenantKeyIs) return Down("unexpected answer to rotate-tenant-key");
  return DecodeTenantKeyAnswer(answer.body);
}

common::Status Client::Destroy(const std::string& tenant, const std::string& kek_id) {
  ASSIGN_OR_RETURN(Frame answer,
                   Call(Kind::kDestroyTenantKey, EncodeDestroyKeyRequest({tenant, kek_id})));
  if (answer.kind != Kind::kTenantKeyIs) return Down("unexpected answer to destroy-tenant-key");
  return common::Ok();
}

common::Result<std::vector<vault::Key>> Client::Unwrap(const std::string& tenant,
                                                       const std::string& kek_id,
                                                       std::span<const std::string> wrapped) {
  UnwrapRequest r;
  r.tenant = tenant;
  r.kek_id = kek_id;
  r.wrapped.assign(wrapped.begin(), wrapped.end());
  ASSIGN_OR_RETURN(Frame answer, Call(Kind::kUnwrapKeys, EncodeUnwrapRequest(r)));
  if (answer.kind != Kind::kDataKeys) return Down("unexpected answer to unwrap-keys");
  auto keys = DecodeUnwrapAnswer(answer.body);
  OPENSSL_cleanse(answer.body.data(), answer.body.size());
  if (!keys.ok()) return keys.error();
  if (keys->size() != wrapped.size()) return Down("unwrap-keys answered another number of keys");
  return keys;
}

}  // namespace signer
