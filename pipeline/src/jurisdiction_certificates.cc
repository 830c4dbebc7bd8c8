// The certificates shaped for a court (docs/cases.md, "Jurisdiction templates"). Each states
// only what the notary computed or checked, in the terms the rule uses, and leaves blank what
// a person must fill in and sign; none claims a legal effect the operator's status may not
// give (a Korean certified centre's presumption, a qualified trust service's).
#include <map>
#include <string>

#include "certificate_parts.h"
#include "common/bytes.h"

namespace pipeline::certificate_parts {
namespace {

using pdf::Block;

constexpr size_t kMaxHeaderShown = 300;
constexpr char kClippedKo[] = " … (이하 생략: index.csv에 전체)";
using pdf::Field;

std::string Or(const std::string& s, const std::string& otherwise) {
  return s.empty() ? otherwise : s;
}

// A header a message states, cut to `max` bytes at a character boundary with `more` after
// it: a To header of thousands of recipients would make a table row taller than a page,
// and the rest of the row would fall off it. index.csv and loadfile.dat keep it whole.
std::string Clipped(const std::string& s, size_t max, const std::string& more) {
  if (s.size() <= max) return s;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + more;
}

// How many messages arrived by each channel, and how many of those over TLS.
struct Channels {
  std::map<std::string, size_t> by_source;
  size_t observed = 0, tls = 0;
};
Channels ChannelsOf(const ProductionCertificateInput& in) {
  Channels c;
  for (const auto& m : in.messages) {
    ++c.by_source[m.source.empty() ? "unknown" : m.source];
    c.observed += m.observed ? 1 : 0;
    c.tls += m.tls.empty() ? 0 : 1;
  }
  return c;
}

}  // namespace

pdf::Document UsFre902Certificate(const ProductionCertificateInput& in,
                                  const CertificateOptions& o) {
  const Counts n = CountOf(in);
  pdf::Document d;
  d.lang = "en";
  d.title = "Certification of records under Federal Rules of Evidence 902(11), 902(13) and 902(14)";
  d.footer = "Case " + in.c.name + ", production " + Utc(in.issued_at_us);
  const std::string op = Or(o.op.name, "____________________ (the operator)");
  d.blocks.push_back(Block::Paragraph(
      "Case: " + in.c.name + (in.c.reference.empty() ? "" : " (" + in.c.reference + ")") +
      ". Production of " + std::to_string(n.messages) + " e-mail messages, Bates " + n.first_bates +
      " to " + n.last_bates + ", made " + Utc(in.issued_at_us) + "."));
  d.blocks.push_back(Block::Paragraph("I, ______________________________ (name), declare:"));
  const std::vector<std::string> paragraphs = {
      "1. I am ______________________ (title) of " + op + ", " +
          Or(o.op.address, "____________________ (address)") +
          ", which operates the e-mail evidence notary that made the records described below. "
          "I am familiar with how the notary receives, stores and seals e-mail, and I am a "
          "qualified person to make this certification.",
      "2. The process. The organisation's mail servers forward a copy of each message they send "
      "or receive to the notary (over SMTP or HTTP) as they handle it. The notary stores the "
      "exact bytes it receives and, at that time, computes their SHA-256 hash (FIPS 180-4). It "
      "records each message's hash in an append-only log whose entries are gathered into "
      "Merkle trees (RFC 6962); each tree is sealed in a block signed with the notary's Ed25519 "
      "key and time-stamped by RFC 3161 time-stamp authorities. An entry cannot be altered, "
      "removed or back-dated without the change being detected by the checks in paragraph 4.",
      "3. The records. Each file natives/<Bates number>.eml of the production is an exact copy "
      "of a message as the notary received it. When the production was made, the notary "
      "checked each message's evidence bundle with every check of its verifier, each against its "
      "native file: " +
          std::to_string(n.passed) + " of " + std::to_string(n.messages) +
          " passed. The SHA-256 hash of each message, which identifies it by a process of "
          "digital identification (Rule 902(14)), is listed below with the time of receipt the "
          "notary recorded.",
      "4. Anyone can repeat these checks without relying on the notary or on me, with the "
      "free verifier: notary-verify case.zip, pinning the notary's published key fingerprints "
      "(--fingerprint) and the time-stamp authorities' roots (--tsa-ca). The notary keys that "
      "signed the blocks have the SHA-256 fingerprints listed under \"Keys\" below.",
      "5. The notary made these records at the time each message passed through the mail "
      "servers, in the course of its regularly conducted activity, and making them is a regular "
      "practice of that activity.",
  };
  for (const std::string& p : paragraphs) d.blocks.push_back(Block::Paragraph(p));
  d.blocks.push_back(Block::Paragraph(
      "I declare under penalty of perjury under the laws of the United States of America that "
      "the foregoing is true and correct (28 U.S.C. § 1746)."));
  d.blocks.push_back(Block::Fields({{"Executed on (date)", "______________________"},
                                    {"At (place)", "______________________"},
                                    {"Signature", "______________________"},
                                    {"Printed name", "______________________"}}));
  d.blocks.push_back(Block::Note(
      "This certification goes to authenticity only: it does not address hearsay or the truth "
      "of any message's content. The proponent must give an adverse party reasonable written "
      "notice and make the record and this certification available for inspection (Rule "
      "902(11)). The PDF's digital signature is the operator's; it does not replace the "
      "declarant's signature above."));
  d.blocks.push_back(Block::Heading("Keys and files"));
  std::vector<Field> files = {
      {"Notary keys (SHA-256 fingerprints)", Fingerprints(in, "(none)"), true},
      {"Export record (leaf hash)", common::ToHex(in.record.leaf_hash), true}};
  for (Field& f : ListDigestFields(in)) files.push_back(std::move(f));
  d.blocks.push_back(Block::Fields(std::move(files)));
  d.blocks.push_back(Block::Heading("Messages"));
  Block list = Table({"Bates", "Received (UTC)", "SHA-256 of the message as received"},
                     {0.14, 0.34, 0.52}, {false, false, true});
  for (const auto& m : in.messages) {
    list.rows.push_back({m.bates, Utc(m.received_at_us), common::ToHex(m.raw_sha256)});
  }
  d.blocks.push_back(std::move(list));
  return d;
}

pdf::Document KoreanCertificate(const ProductionCertificateInput& in, const CertificateOptions& o) {
  const Counts n = CountOf(in);
  pdf::Document d;
  d.lang = "ko";
  d.title = "전자문서 보관 사실 증명서";
  d.footer = "사건 " + in.c.name + ", 발급 " + Utc(in.issued_at_us);
  d.blocks.push_back(Block::Paragraph(
      "아래 운영자는 아래 전자우편(전자문서)이 각 수신 시각에 전자우편 증거 공증 시스템에 "
      "수신되어 그때부터 이 증명서를 발급할 때까지 변경 없이 보관되어 왔음을, 수신 당시 기록한 "
      "해시값과 시각 인증(타임스탬프)으로 증명합니다."));
  d.blocks.push_back(Block::Heading("운영자"));
  d.blocks.push_back(Block::Fields({{"명칭", Or(o.op.name, "(운영자가 밝히지 않음)")},
                                    {"주소", Or(o.op.address, "(운영자가 밝히지 않음)")},
                                    {"연락처", Or(o.op.contact, "(운영자가 밝히지 않음)")}}));
  d.blocks.push_back(Block::Note(
      "「전자문서 및 전자거래 기본법」 제31조의7에 따른 추정은 같은 법 제31조의2에 따라 지정된 "
      "공인전자문서센터가 보관한 전자문서에 적용됩니다. 운영자가 공인전자문서센터로 지정되어 "
      "있지 않으면 이 증명서는 그 추정을 받지 않으며, 아래의 해시값, 서명 및 시각 인증으로 "
      "증명될 뿐입니다. 지정 여부: ______________"));
  d.blocks.push_back(Block::Heading("사건 및 제출"));
  std::vector<Field> facts = {
      {"사건", in.c.name},
      {"사건 번호", Or(in.c.reference, "(없음)")},
      {"발급 일시", Utc(in.issued_at_us)},
      {"발급 대상", in.issued_to},
      {"전자우편 수",
       std::to_string(n.messages) +
           (n.erased ? " (삭제된 " + std::to_string(n.erased) + "건은 존재 사실만 증명)" : "")},
      {"Bates 번호", n.first_bates + " ~ " + n.last_bates},
      {"발급 시 검증", std::to_string(n.messages) + "건 중 " + std::to_string(n.passed) +
                           "건이 검증 도구(notary-verify)의 모든 검사를 통과"},
      {"공증 키 지문 (SHA-256)", Fingerprints(in, "(없음)"), true}};
  for (Field& f : ListDigestFields(in)) facts.push_back(std::move(f));
  d.blocks.push_back(Block::Fields(std::move(facts)));
  d.blocks.push_back(Block::Heading("시각 인증 기관"));
  d.blocks.push_back(AuthoritiesTable(in, {"기관", "인증서", "구분", "건수"},
                                      "공증 시스템 자체 시각 인증", "운영자 자체",
                                      "운영자와 독립된 기관", "(없음)"));
  d.blocks.push_back(Block::Heading("보관 사실"));
  d.blocks.push_back(Block::Paragraph(
      "작성자와 수신자는 각 전자우편의 From, To 헤더에 적힌 대로이며, 송신 시각은 Date 헤더에 "
      "적힌 시각입니다. 이 세 항목은 전자우편이 스스로 밝힌 내용으로, 공증 시스템이 확인한 사실이 "
      "아닙니다. 수신 시각과 해시값은 공증 시스템이 수신할 때 기록하고 서명한 값이며, 각 "
      "전자우편은 수신 시각부터 이 증명서 발급 시까지 보관되어 그 해시값이 수신 당시의 값과 "
      "일치합니다."));
  Block list = Table({"Bates", "작성자 / 수신자", "송신 / 수신 시각", "SHA-256"},
                     {0.12, 0.2, 0.16, 0.52}, {false, false, false, true});
  for (const auto& m : in.messages) {
    list.rows.push_back(
        {m.bates,
         m.erased ? "(삭제됨)"
                  : Clipped(Or(m.from, "-"), kMaxHeaderShown, kClippedKo) + "\n→ " +
                        Clipped(Or(m.to, "-"), kMaxHeaderShown, kClippedKo),
         (m.date_sent_us ? Utc(*m.date_sent_us) : "-") + "\n" + Utc(m.received_at_us),
         common::ToHex(m.raw_sha256)});
  }
  d.blocks.push_back(std::move(list));
  return d;
}

pdf::Document ChineseCertificate(const ProductionCertificateInput& in,
                                 const CertificateOptions& o) {
  const Counts n = CountOf(in);
  const Channels ch = ChannelsOf(in);
  pdf::Document d;
  d.lang = "zh";
  d.title = "电子数据存证证明";
  d.footer = "案件 " + in.c.name + "，出具时间 " + Utc(in.issued_at_us);
  d.blocks.push_back(Block::Paragraph(
      "本证明由下列运营方出具，说明下列电子邮件（电子数据）的收集方式、存储方式、哈希校验结果及"
      "可信时间。"));
  d.blocks.push_back(Block::Heading("一、平台及运营方"));
  d.blocks.push_back(Block::Fields(
      {{"运营方", Or(o.op.name, "（运营方未声明）")},
       {"地址", Or(o.op.address, "（运营方未声明）")},
       {"联系方式", Or(o.op.contact, "（运营方未声明）")},
       {"运营方与案件当事人的关系", "______________________"},
       {"案件", in.c.name + (in.c.reference.empty() ? "" : "（" + in.c.reference + "）")},
       {"出具时间", Utc(in.issued_at_us)},
       {"出具对象", in.issued_to}}));
  d.blocks.push_back(Block::Note(
      "平台是否为中立第三方，由运营方在上栏声明。下列标注为“独立”的时间戳机构与运营方无关，其"
      "时间不依赖运营方。"));
  d.blocks.push_back(Block::Heading("二、数据收集方式"));
  std::string sources;
  for (const auto& [source, count] : ch.by_source) {
    sources += (sources.empty() ? "" : "；") + source + " " + std::to_string(count) + " 封";
  }
  d.blocks.push_back(Block::Paragraph(
      "各邮件服务器在收发邮件时将邮件副本转发至本平台（SMTP 或 HTTP），平台按字节原样存储并在"
      "接收时计算哈希值。本批次：" +
      sources + "。其中 " + std::to_string(ch.observed) +
      " 封的信封信息由平台在自身 SMTP 端口直接观察，其余由持有 API 密钥的转发方声明；" +
      std::to_string(ch.tls) + " 封经 TLS 加密传输。"));
  d.blocks.push_back(Block::Heading("三、哈希校验"));
  std::vector<Field> checks = {
      {"算法", "SHA-256（FIPS 180-4）"},
      {"出具时校验结果",
       "共 " + std::to_string(n.messages) + " 封，" + std::to_string(n.passed) +
           " 封通过验证工具 notary-verify 的全部检查（哈希、默克尔证明、签名、时间戳）"},
      {"平台签名密钥指纹（SHA-256）", Fingerprints(in, "（无）"), true}};
  for (Field& f : ListDigestFields(in)) checks.push_back(std::move(f));
  d.blocks.push_back(Block::Fields(std::move(checks)));
  d.blocks.push_back(Block::Heading("四、可信时间"));
  d.blocks.push_back(AuthoritiesTable(in, {"时间戳机构", "证书", "性质", "邮件数"},
                                      "平台自有时间戳服务", "运营方自有", "独立于运营方",
                                      "（无）"));
  d.blocks.push_back(Block::Heading("五、遵循的标准"));
  d.blocks.push_back(Block::Paragraph(
      "电子邮件 RFC 5321 / RFC 5322；哈希 FIPS 180-4（SHA-256）；默克尔树 RFC 6962；时间戳 RFC "
      "3161 与 RFC 5816；检查点 C2SP signed-note；本文件 PDF/A-2b（ISO 19005-2），签名 PAdES（ETSI "
      "EN 319 142-1）。"));
  d.blocks.push_back(Block::Heading("六、证明范围"));
  d.blocks.push_back(Block::Paragraph(
      "本证明证实：平台在所列接收时间收到与所列哈希值完全一致的数据，且自接收后未被修改。本证明"
      "不证实邮件内容的真实性，也不证实发件人、收件人或日期头字段所述内容属实；数据上链（入库）"
      "之前的真实性，应结合其来源、生成方式及其他证据判断。"));
  d.blocks.push_back(Block::Heading("七、邮件清单"));
  Block list = Table({"编号", "接收时间", "渠道", "SHA-256"}, {0.13, 0.25, 0.1, 0.52},
                     {false, false, false, true});
  for (const auto& m : in.messages) {
    list.rows.push_back({m.bates, Utc(m.received_at_us),
                         Or(m.source, "-") + (m.tls.empty() ? "" : "\n" + m.tls),
                         common::ToHex(m.raw_sha256)});
  }
  d.blocks.push_back(std::move(list));
  return d;
}

}  // namespace pipeline::certificate_parts
