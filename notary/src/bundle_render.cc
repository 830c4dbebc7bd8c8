// The bundle's texts for people: certificate.html (en, ko, zh) and VERIFY.md.
#include <map>
#include <sstream>

#include "bundle_internal.h"
#include "common/bytes.h"
#include "common/sha256.h"
#include "notary/block.h"

namespace notary::bundle_internal {
namespace {

// Every label of the certificate, in the three languages.
struct Labels {
  const char* html_lang;
  const char* title;
  const char* intro;
  const char* section_message;
  const char* subject;
  const char* header_from;
  const char* header_to;
  const char* header_date;
  const char* not_disclosed;
  const char* section_receipt;
  const char* receipt_id;
  const char* received_at;
  const char* envelope_from;
  const char* envelope_to;
  const char* client;
  const char* tls;
  const char* journal_report;
  const char* none;
  const char* section_hashes;
  const char* raw_sha256;
  const char* canonical_sha256;
  const char* parts_root;
  const char* section_attachments;
  const char* position;
  const char* file_name;
  const char* type;
  const char* size;
  const char* no_parts;
  const char* section_seal;
  const char* block_height;
  const char* block_hash;
  const char* leaf_index;
  const char* leaf_hash;
  const char* checkpoint;
  const char* section_timestamps;
  const char* tsa;
  const char* time_utc;
  const char* not_after;
  const char* not_before;
  const char* section_keys;
  const char* key_id;
  const char* fingerprint;
  const char* signs_block;
  const char* section_verify;
  const char* verify_text;
  const char* issued;
  const char* disclosed_note;
};

const Labels kEnglish = {
    "en",
    "Evidence certificate: e-mail receipt",
    "The e-mail described below was received by the notary, its exact bytes were hashed, and "
    "the hashes were sealed into a signed, time-stamped, append-only log. This certificate "
    "summarises the evidence file it comes with; the evidence itself is the file, which anyone "
    "can check offline.",
    "Message",
    "Subject",
    "From (header)",
    "To (header)",
    "Date (header)",
    "not disclosed in this bundle",
    "Reception",
    "Receipt ID",
    "Received at (UTC)",
    "Envelope sender (MAIL FROM)",
    "Envelope recipients (RCPT TO)",
    "Sending server",
    "Encryption (TLS)",
    "Exchange journal report",
    "none",
    "Fingerprints (SHA-256)",
    "Exact message bytes",
    "Canonical form",
    "Parts root",
    "Attachments and parts",
    "Position",
    "File name",
    "Type",
    "Size (bytes)",
    "no parts",
    "Seal",
    "Block height",
    "Block hash",
    "Leaf index",
    "Leaf hash",
    "Checkpoint",
    "Time-stamps (RFC 3161)",
    "Time-stamp authority",
    "Time (UTC)",
    "Sealed no later than",
    "Previous block time-stamped at",
    "Notary signing keys",
    "Key ID",
    "Fingerprint (SHA-256)",
    "signed this block",
    "How to verify",
    "Run <code>notary-verify evidence.zip --fingerprint &lt;published fingerprint&gt;</code>, or "
    "follow VERIFY.md in the same file with sha256sum and openssl only. Compare the key "
    "fingerprint above with the one the notary publishes.",
    "Issued to",
    "Selective disclosure: only the part at position",
};

const Labels kKorean = {
    "ko",
    "증거 증명서: 전자우편 수신 기록",
    "아래 전자우편은 공증 시스템이 수신하였으며, 수신한 그대로의 바이트를 해시하고 그 해시를 "
    "서명되고 타임스탬프가 찍힌 추가 전용 로그에 봉인하였습니다. 이 증명서는 함께 제공되는 증거 "
    "파일을 요약한 것이며, 증거 자체는 누구나 오프라인으로 검증할 수 있는 그 파일입니다.",
    "메시지",
    "제목",
    "보낸 사람(헤더)",
    "받는 사람(헤더)",
    "날짜(헤더)",
    "이 번들에서 공개되지 않음",
    "수신",
    "수신 ID",
    "수신 시각(UTC)",
    "봉투 발신자(MAIL FROM)",
    "봉투 수신자(RCPT TO)",
    "발신 서버",
    "암호화(TLS)",
    "Exchange 저널 보고서",
    "없음",
    "지문(SHA-256)",
    "메시지 원본 바이트",
    "정규화 형식",
    "파트 루트",
    "첨부 파일 및 파트",
    "위치",
    "파일 이름",
    "형식",
    "크기(바이트)",
    "파트 없음",
    "봉인",
    "블록 높이",
    "블록 해시",
    "리프 인덱스",
    "리프 해시",
    "체크포인트",
    "타임스탬프(RFC 3161)",
    "타임스탬프 기관",
    "시각(UTC)",
    "늦어도 이 시각 이전에 봉인됨",
    "이전 블록의 타임스탬프 시각",
    "공증 서명 키",
    "키 ID",
    "지문(SHA-256)",
    "이 블록에 서명함",
    "검증 방법",
    "<code>notary-verify evidence.zip --fingerprint &lt;공개된 지문&gt;</code>을 실행하거나, "
    "같은 파일의 VERIFY.md에 따라 sha256sum과 openssl만으로 검증하십시오. 위의 키 지문을 "
    "공증 기관이 공개한 지문과 비교하십시오.",
    "발급 대상",
    "선택적 공개: 다음 위치의 파트만 포함",
};

const Labels kChinese = {
    "zh",
    "证据证书：电子邮件接收记录",
    "下述电子邮件已由公证系统接收，其原始字节已被计算哈希，哈希值已封存于经签名、加盖时间戳的"
    "仅追加日志中。本证书概述随附的证据文件；证据本身即该文件，任何人均可离线验证。",
    "邮件",
    "主题",
    "发件人（邮件头）",
    "收件人（邮件头）",
    "日期（邮件头）",
    "本证据包未披露",
    "接收",
    "接收编号",
    "接收时间（UTC）",
    "信封发件人（MAIL FROM）",
    "信封收件人（RCPT TO）",
    "发送服务器",
    "加密（TLS）",
    "Exchange 日志报告",
    "无",
    "指纹（SHA-256）",
    "邮件原始字节",
    "规范形式",
    "部件根",
    "附件与部件",
    "位置",
    "文件名",
    "类型",
    "大小（字节）",
    "无部件",
    "封存",
    "区块高度",
    "区块哈希",
    "叶索引",
    "叶哈希",
    "检查点",
    "时间戳（RFC 3161）",
    "时间戳机构",
    "时间（UTC）",
    "最迟封存于",
    "前一区块的时间戳时间",
    "公证签名密钥",
    "密钥 ID",
    "指纹（SHA-256）",
    "签署了本区块",
    "验证方法",
    "运行 <code>notary-verify evidence.zip --fingerprint &lt;公布的指纹&gt;</code>，或按照同一"
    "文件中的 VERIFY.md 仅使用 sha256sum 和 openssl 进行验证。请将上述密钥指纹与公证机构公布的"
    "指纹进行比对。",
    "签发对象",
    "选择性披露：仅包含以下位置的部件",
};

const Labels& LabelsFor(std::string_view lang) {
  if (lang == "ko") return kKorean;
  if (lang == "zh") return kChinese;
  return kEnglish;
}

class Html {
 public:
  void Raw(std::string_view s) { out_ += s; }
  void Text(std::string_view s) { out_ += HtmlEscape(s); }
  void Row(const char* label, std::string_view value, bool code = false) {
    out_ += "<tr><th>";
    out_ += label;
    out_ += code ? "</th><td><code>" : "</th><td>";
    Text(value);
    out_ += code ? "</code></td></tr>\n" : "</td></tr>\n";
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += sep;
    s += v[i];
  }
  return s;
}

constexpr std::string_view kStyle = R"(
body { font-family: "Noto Sans", "Noto Sans CJK KR", "Noto Sans CJK SC", "Malgun Gothic",
  "Apple SD Gothic Neo", "Microsoft YaHei", "PingFang SC", sans-serif; color: #111;
  max-width: 48em; margin: 2em auto; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.5em; border-bottom: 2px solid #111; padding-bottom: .3em; }
h2 { font-size: 1.1em; margin-top: 1.5em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .2em .5em; border-bottom: 1px solid #ddd; }
th { width: 30%; font-weight: 600; }
code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: .85em;
  word-break: break-all; }
.note { font-size: .9em; color: #333; }
footer { margin-top: 2em; font-size: .85em; border-top: 1px solid #999; padding-top: .5em; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
  tr { break-inside: avoid; } a { color: inherit; text-decoration: none; } }
@page { size: A4; margin: 15mm; }
)";

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters other than tab and newline would garble the page.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') {
          out += "&#xFFFD;";
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string CertificateHtml(const BundleInput& in, const Display& d) {
  const Labels& L = LabelsFor(in.lang);
  Html h;
  h.Raw("<!DOCTYPE html>\n<html lang=\"");
  h.Raw(L.html_lang);
  h.Raw("\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
  h.Raw(L.title);
  h.Raw("</title>\n<style>");
  h.Raw(kStyle);
  h.Raw("</style>\n</head>\n<body>\n<h1>");
  h.Raw(L.title);
  h.Raw("</h1>\n<p class=\"note\">");
  h.Raw(L.intro);
  h.Raw("</p>\n");

  h.Raw("<h2>");
  h.Raw(L.section_message);
  h.Raw("</h2>\n<table>\n");
  if (d.message_disclosed) {
    h.Row(L.subject, d.subject);
    h.Row(L.header_from, d.from);
    h.Row(L.header_to, Join(d.to, ", "));
    h.Row(L.header_date, d.date);
  } else {
    h.Row(L.subject, L.not_disclosed);
    h.Row(L.disclosed_note, in.disclosed_part->position);
  }
  h.Raw("</table>\n");

  const Envelope& env = in.receipt.envelope;
  h.Raw("<h2>");
  h.Raw(L.section_receipt);
  h.Raw("</h2>\n<table>\n");
  h.Row(L.receipt_id, in.receipt.id, true);
  h.Row(L.received_at, FormatUtcMicros(in.receipt.received_at_us));
  h.Row(L.envelope_from, env.mail_from.empty() ? "<>" : env.mail_from);
  h.Row(L.envelope_to, Join(env.recipients, ", "));
  std::string client = env.client_ip + " port " + std::to_string(env.client_port);
  if (!in.receipt.client_name.empty()) client += " (" + in.receipt.client_name + ")";
  if (!env.helo.empty()) client += ", HELO " + env.helo;
  h.Row(L.client, client);
  h.Row(L.tls,
        env.tls_protocol.empty() ? std::string(L.none) : env.tls_protocol + " " + env.tls_cipher);
  if (in.journal_report) {
    // The envelope above is the one the report states; the report itself is in the bundle.
    h.Row(L.journal_report, std::string(kJournalReportFile) + " (SHA-256 " +
                                common::ToHex(common::Sha256Of(*in.journal_report)) + ")");
  }
  h.Raw("</table>\n");

  h.Raw("<h2>");
  h.Raw(L.section_hashes);
  h.Raw("</h2>\n<table>\n");
  h.Row(L.raw_sha256, common::ToHex(in.raw_sha256), true);
  h.Row(L.canonical_sha256,
        common::ToHex(in.canonical_sha256) + " (v" + std::to_string(in.canon_version) + ")", true);
  h.Row(L.parts_root, common::ToHex(in.parts_root), true);
  h.Raw("</table>\n");

  h.Raw("<h2>");
  h.Raw(L.section_attachments);
  h.Raw("</h2>\n");
  if (in.parts.empty()) {
    h.Raw("<p>");
    h.Raw(L.no_parts);
    h.Raw("</p>\n");
  } else {
    h.Raw("<table>\n<tr><th>");
    h.Raw(L.position);
    h.Raw("</th><th>");
    h.Raw(L.file_name);
    h.Raw(" / ");
    h.Raw(L.type);
    h.Raw("</th><th>");
    h.Raw(L.size);
    h.Raw(" / SHA-256</th></tr>\n");
    for (const auto& p : in.parts) {
      bool shown = !in.disclosed_part || in.disclosed_part->position == p.position;
      h.Raw("<tr><td>");
      h.Text(p.position);
      h.Raw("</td><td>");
      if (shown) {
        h.Text(p.filename);
        if (!p.filename.empty()) h.Raw("<br>");
        h.Text(p.content_type);
        h.Raw("</td><td>");
        h.Text(std::to_string(p.size));
        h.Raw("<br><code>");
        h.Text(common::ToHex(p.sha256));
        h.Raw("</code>");
      } else {
        h.Raw(L.not_disclosed);
        h.Raw("</td><td>");
      }
      h.Raw("</td></tr>\n");
    }
    h.Raw("</table>\n");
  }

  h.Raw("<h2>");
  h.Raw(L.section_seal);
  h.Raw("</h2>\n<table>\n");
  h.Row(L.block_height, std::to_string(d.height));
  h.Row(L.block_hash, common::ToHex(in.block.block_hash), true);
  h.Row(L.leaf_index, std::to_string(in.leaf_index));
  h.Row(L.leaf_hash, common::ToHex(in.leaf_hash), true);
  h.Row(L.checkpoint, d.checkpoint_origin + " @ " + std::to_string(d.tree_size));
  h.Raw("</table>\n");

  h.Raw("<h2>");
  h.Raw(L.section_timestamps);
  h.Raw("</h2>\n<table>\n<tr><th>");
  h.Raw(L.block_height);
  h.Raw("</th><th>");
  h.Raw(L.tsa);
  h.Raw("</th><th>");
  h.Raw(L.time_utc);
  h.Raw("</th></tr>\n");
  for (const auto& t : d.tokens) {
    h.Raw("<tr><td>");
    h.Text(std::to_string(t.height));
    h.Raw(" (");
    h.Raw(t.height == d.height ? L.not_after : L.not_before);
    h.Raw(")</td><td>");
    h.Text(t.tsa);
    h.Raw("</td><td>");
    h.Text(FormatUtcMicros(t.gen_time_us));
    h.Raw("</td></tr>\n");
  }
  h.Raw("</table>\n");

  h.Raw("<h2>");
  h.Raw(L.section_keys);
  h.Raw("</h2>\n<table>\n");
  for (const auto& k : in.keys) {
    std::string label = std::string(L.key_id) + " " + k.key_id;
    if (k.key_id == d.signing_key_id) label += " (" + std::string(L.signs_block) + ")";
    h.Raw("<tr><th>");
    h.Text(label);
    h.Raw("</th><td><code>");
    h.Text(k.fingerprint);
    h.Raw("</code></td></tr>\n");
  }
  h.Raw("</table>\n");

  h.Raw("<h2>");
  h.Raw(L.section_verify);
  h.Raw("</h2>\n<p>");
  h.Raw(L.verify_text);
  h.Raw("</p>\n<footer>");
  h.Raw(L.issued);
  h.Raw(": ");
  h.Text(in.issued_to);
  h.Raw(" &middot; ");
  h.Text(FormatUtcMicros(in.issued_at_us));
  h.Raw("</footer>\n</body>\n</html>\n");
  return h.Take();
}

std::string VerifyMarkdown(const BundleInput& in, const Display& d) {
  std::ostringstream o;
  const uint64_t h = d.height;
  auto header = BlockHeader::Decode(in.block.header);
  const std::string key_file = KeyFileName(d.signing_key_id);
  o << "# Verifying this evidence bundle by hand\n\n"
    << "Receipt `" << in.receipt.id << "`, received " << FormatUtcMicros(in.receipt.received_at_us)
    << ", sealed in block " << h << ".\n\n"
    << "`notary-verify` does every step below (and the Merkle proofs) at once. These steps need\n"
    << "only a POSIX shell, `sha256sum` and OpenSSL 3, so that nobody has to trust our software.\n"
    << "The format is specified in docs/evidence-bundle.md of the notary's sources.\n\n"
    << "Unpack the zip and enter the folder:\n\n"
    << "    unzip evidence.zip -d evidence && cd evidence\n\n";
  int step = 1;
  if (in.disclosed_part) {
    o << "## " << step++ << ". The disclosed part\n\n"
      << "    sha256sum " << PartFileName(in.disclosed_part->position) << "\n\n";
    for (const auto& p : in.parts) {
      if (p.position == in.disclosed_part->position) {
        o << "must print `" << common::ToHex(p.sha256) << "`, the `sha256` of part " << p.position
          << " in evidence.json. The other parts are withheld: only the hashes\n"
          << "of their records are given, so `parts_root` can be recomputed (a Merkle tree, see\n"
          << "docs/canonical-form.md §3) but the message's hashes cannot.\n\n";
      }
    }
  } else {
    o << "## " << step++ << ". The message\n\n"
      << "    sha256sum message.eml\n\n"
      << "must print `" << common::ToHex(in.raw_sha256) << "` (`message.raw_sha256`).\n"
      << "The canonical hash `" << common::ToHex(in.canonical_sha256)
      << "` is recomputed by notary-verify (docs/canonical-form.md).\n\n";
  }
  o << "## " << step++ << ". The leaf record\n\n"
    << "`leaf-record.bin` holds the receipt id, reception time, both message hashes,\n"
    << "`parts_root`, the envelope digest, the tenant and a random salt (layout in\n"
    << "docs/evidence-format.md; inspect it with `xxd leaf-record.bin`). Its leaf hash:\n\n"
    << "    (printf '\\000'; cat leaf-record.bin) | sha256sum\n\n"
    << "must print `" << common::ToHex(in.leaf_hash) << "` (`leaf.hash`).\n\n";
  o << "## " << step++ << ". The notary's signature on block " << h << "\n\n"
    << "The key's fingerprint, to compare with the one the notary publishes:\n\n"
    << "    openssl pkey -pubin -in " << key_file << " -outform DER | sha256sum\n\n"
    << "The signature covers the tag `email-notary/block/v1` and a newline, then the header:\n\n"
    << "    (printf 'email-notary/block/v1\\n'; cat " << BlockHeaderFileName(h) << ") > block-" << h
    << ".signed\n"
    << "    openssl pkeyutl -verify -rawin -pubin -inkey " << key_file << " -sigfile "
    << BlockSignatureFileName(h) << " -in block-" << h << ".signed\n\n"
    << "must print `Signature Verified Successfully`. The block hash:\n\n"
    << "    cat " << BlockHeaderFileName(h) << " " << BlockSignatureFileName(h)
    << " | sha256sum\n\n"
    << "must print `" << common::ToHex(in.block.block_hash) << "` (`block.hash`).\n";
  if (header.ok()) {
    o << "The header's `batch_root` (bytes 45 to 76 of the header, `xxd -s 44 -l 32 -p "
      << BlockHeaderFileName(h) << "`)\nis `" << common::ToHex(header->batch_root)
      << "`; the batch inclusion proof in evidence.json leads from the leaf hash to it.\n";
  }
  o << "\n## " << step++ << ". The time-stamps\n\n"
    << "Each token is an RFC 3161 TimeStampToken over a block hash. With the TSA's root\n"
    << "certificate `tsa-ca.pem`:\n\n";
  auto token_cmds = [&](const BundleBlock& b, uint64_t height) {
    for (size_t i = 0; i < b.tokens.size(); ++i) {
      o << "    openssl ts -verify -digest " << common::ToHex(b.block_hash) << " -in "
        << TokenFileName(height, i) << " -token_in -CAfile tsa-ca.pem";
      if (!in.tsa_chain_pem.empty()) o << " -untrusted tsa-chain.pem";
      o << "\n";
    }
  };
  token_cmds(in.block, h);
  o << "\nmust print `Verification: OK` for the tokens over block " << h
    << " (they show the block existed at their time: the message was sealed no later).\n";
  if (in.previous_block) {
    auto ph = HeaderHeight(in.previous_block->header);
    uint64_t prev = ph.ok() ? *ph : 0;
    o << "The previous block " << prev << " (its hash is `prev_block_hash` in block " << h
      << "'s header, and\n`cat " << BlockHeaderFileName(prev) << " " << BlockSignatureFileName(prev)
      << " | sha256sum` recomputes it):\n\n";
    token_cmds(*in.previous_block, prev);
    o << "\n";
  }
  o << "To read a token's time: `openssl ts -reply -in <file> -token_in -text` (`Time stamp:`).\n"
    << "OpenSSL checks the TSA certificate at the present time; an expired TSA certificate\n"
    << "needs `-attime <seconds since 1970>` at the token's time.\n\n";
  o << "## " << step++ << ". The checkpoint\n\n"
    << "`checkpoint.txt` is the log's signed checkpoint (C2SP signed note): origin, tree size,\n"
    << "root. Its signature, by the same notary key:\n\n"
    << "    head -n 3 checkpoint.txt > checkpoint.body\n"
    << "    grep '^\xe2\x80\x94 ' checkpoint.txt | head -n 1 | awk '{print $3}' | base64 -d "
       "| tail -c 64 > checkpoint.sig\n"
    << "    openssl pkeyutl -verify -rawin -pubin -inkey " << key_file
    << " -sigfile checkpoint.sig -in checkpoint.body\n\n"
    << "The leaf's inclusion in that tree (`checkpoint.inclusion_proof`) and in the batch\n"
    << "(`batch_proof`) are RFC 9162 §2.1.3.2 Merkle audit paths; notary-verify checks them,\n"
    << "and docs/evidence-bundle.md gives the algorithm for anyone who wants to script it.\n\n";
  o << "## " << step++ << ". With notary-verify\n\n"
    << "    notary-verify evidence.zip --fingerprint <the notary's published fingerprint> \\\n"
    << "        --tsa-ca <the TSA's root certificate, obtained separately>\n\n"
    << "Exit status 0 means every check passed; docs/verifying.md explains each one.\n";
  return o.str();
}

}  // namespace notary::bundle_internal
