#include "spool_record.h"

#include <optional>

namespace milter {
namespace {

constexpr std::string_view kMagic = "notary-spool 1\n";

std::string Encode(std::string_view v) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (c <= 0x20 || c >= 0x7f || c == '%') {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> Decode(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return std::nullopt;
    int hi = HexValue(v[i + 1]);
    int lo = HexValue(v[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

std::string EncodeSpoolRecord(const SpoolRecord& r) {
  std::string out = EncodeSpoolEnvelope(r);
  out += r.message;
  return out;
}

std::string EncodeSpoolEnvelope(const SpoolRecord& r) {
  std::string out(kMagic);
  auto line = [&out](std::string_view key, std::string_view value) {
    out.append(key).append(" ").append(Encode(value)).append("\n");
  };
  line("from", r.mail_from);
  for (const auto& t : r.rcpt_to) line("to", t);
  line("client_addr", r.client_addr);
  line("client_port", r.client_port);
  line("client_name", r.client_name);
  line("helo", r.helo);
  line("tls_version", r.tls_version);
  line("tls_cipher", r.tls_cipher);
  line("auth_user", r.auth_user);
  line("queue_id", r.queue_id);
  out += "\n";
  return out;
}

common::Result<SpoolRecord> DecodeSpoolRecord(std::string_view data) {
  if (data.substr(0, kMagic.size()) != kMagic) {
    return common::Error::InvalidInput("not a notary-milter spool file");
  }
  SpoolRecord r;
  size_t pos = kMagic.size();
  while (true) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) return common::Error::InvalidInput("truncated spool file");
    std::string_view line = data.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) break;
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return common::Error::InvalidInput("bad spool line");
    std::string_view key = line.substr(0, sp);
    auto value = Decode(line.substr(sp + 1));
    if (!value) return common::Error::InvalidInput("bad spool value");
    if (key == "from")
      r.mail_from = *value;
    else if (key == "to")
      r.rcpt_to.push_back(*value);
    else if (key == "client_addr")
      r.client_addr = *value;
    else if (key == "client_port")
      r.client_port = *value;
    else if (key == "client_name")
      r.client_name = *value;
    else if (key == "helo")
      r.helo = *value;
    else if (key == "tls_version")
      r.tls_version = *value;
    else if (key == "tls_cipher")
      r.tls_cipher = *value;
    else if (key == "auth_user")
      r.auth_user = *value;
    else if (key == "queue_id")
      r.queue_id = *value;
    // Unknown keys come from a newer writer; they carry nothing this reader forwards.
  }
  r.message = std::string(data.substr(pos));
  return r;
}

}  // namespace milter
