// certificate.pdf of one bundle: laid out from certificate.html's own view, so that the two
// state the same facts with the same labels; what only the PDF says (the operator, the check
// at issue, what is proven) is in the words below, in the bundle's language.
#include "pipeline/bundle_certificate.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "certificate_parts.h"
#include "evidence/evidence_json.h"
#include "pdf/archival.h"
#include "pdf/document.h"

namespace pipeline {
namespace {

using certificate_parts::Table;
using nlohmann::json;
using pdf::Block;
using pdf::Field;

// The PDF's own words; the certificate's labels come from the view ("l").
struct Words {
  const char* signed_intro;
  const char* unsigned_intro;
  const char* op;
  const char* op_name;
  const char* op_address;
  const char* op_contact;
  const char* unstated;
  const char* op_note;
  const char* headers_note;
  const char* issued_at;
  const char* checked;
  const char* result;
  const char* passed;
  const char* failed;
  const char* key;
  const char* checked_note;
  const char* block;
  const char* whose;
  const char* own;
  const char* independent;
  const char* signature_stamp;
  const char* built_in;
  const char* no_stamp;
  const char* proven_title;
  const char* proven;
  const char* sender_proven;
  const char* not_proven;
  const char* footer;
};

constexpr Words kEnglish{
    "This PDF is the operator's signed copy of certificate.html in the same evidence file. A PDF "
    "reader's signature panel, or pdfsig, shows the signer and whether it was changed after "
    "signing. The proof is the evidence file itself, which anyone can check offline with "
    "notary-verify; this PDF adds the operator's signature and identity.",
    "This PDF is NOT signed: the operator has configured no document certificate (notaryd "
    "--document-cert), so nothing binds it but its agreement with the evidence file it came "
    "with, which notary-verify checks.",
    "Operator",
    "Name",
    "Address",
    "Contact",
    "(not stated by the operator)",
    "The operator states its identity; the signature's certificate, issued by the authority "
    "named in it, is what binds that identity to this document.",
    "As the message's own headers state them: bound only through the hash of the message.",
    "Issued at (UTC)",
    "Checked at issue",
    "Result",
    "passed every check of notary-verify",
    "FAILED: ",
    "Notary key (SHA-256 fingerprint)",
    "Checked with the keys and authorities the evidence file carries. Anyone can repeat the "
    "check offline with notary-verify, pinning the notary's published key fingerprint "
    "(--fingerprint) and the authorities' roots (--tsa-ca).",
    "Block",
    "Whose",
    "the operator's own",
    "independent of the operator",
    "This document's signature is time-stamped by ",
    "the notary's built-in authority",
    "no authority (PAdES B-B)",
    "What this proves, and what it does not",
    "Proven, by the signed log and the time-stamps: that the notary received exactly the bytes "
    "whose SHA-256 is given above no later than the time its block was time-stamped, and that "
    "no record of the log has been changed or removed since.",
    "Proven by the sender's own DKIM signature and DNSSEC answers, where the evidence file "
    "carries them: that the sending domain signed the message.",
    "Not proven: that the message's content is true, or that its From, To or Date headers tell "
    "who really wrote or received it, or when (they are what the message states).",
    "Receipt ",
};

constexpr Words kKorean{
    "이 PDF는 같은 증거 파일에 있는 certificate.html을 운영자가 서명한 사본입니다. PDF 뷰어의 "
    "서명 패널이나 pdfsig로 서명자와 서명 후 변경 여부를 확인할 수 있습니다. 증명은 증거 파일 "
    "자체이며 누구나 notary-verify로 오프라인에서 검사할 수 있습니다. 이 PDF는 운영자의 서명과 "
    "신원을 더합니다.",
    "이 PDF는 서명되지 않았습니다. 운영자가 문서 인증서(notaryd --document-cert)를 설정하지 "
    "않았으므로, 함께 제공된 증거 파일과 일치한다는 점(notary-verify가 검사) 외에는 아무것도 이 "
    "문서를 구속하지 않습니다.",
    "운영자",
    "이름",
    "주소",
    "연락처",
    "(운영자가 밝히지 않음)",
    "신원은 운영자가 밝힌 것이며, 그 신원을 이 문서에 결부시키는 것은 서명 인증서(그 안에 명시된 "
    "기관이 발급)입니다.",
    "메시지 헤더에 적힌 그대로이며, 메시지의 해시를 통해서만 구속됩니다.",
    "발급 시각 (UTC)",
    "발급 시 검사",
    "결과",
    "notary-verify의 모든 검사 통과",
    "실패: ",
    "공증 키 (SHA-256 지문)",
    "증거 파일에 담긴 키와 기관으로 검사했습니다. 누구나 공증 시스템이 공개한 키 지문"
    "(--fingerprint)과 기관의 루트 인증서(--tsa-ca)를 지정하여 notary-verify로 오프라인에서 다시 "
    "검사할 수 있습니다.",
    "블록",
    "소속",
    "운영자 자체",
    "운영자와 독립",
    "이 문서의 서명에 대한 시점 확인: ",
    "공증 시스템 내장 기관",
    "없음 (PAdES B-B)",
    "증명하는 것과 증명하지 않는 것",
    "서명된 로그와 시점 확인 토큰으로 증명되는 것: 공증 시스템이 위에 적힌 SHA-256을 가진 바로 그 "
    "바이트를 블록의 시점 확인 시각 이전에 수신했다는 것, 그리고 그 이후 로그의 어떤 기록도 "
    "변경되거나 삭제되지 않았다는 것.",
    "증거 파일에 발신자의 DKIM 서명과 DNSSEC 응답이 있는 경우 그것으로 증명되는 것: 발신 "
    "도메인이 메시지에 서명했다는 것.",
    "증명되지 않는 것: 메시지 내용이 사실이라는 것, 또는 From, To, Date 헤더가 실제 작성자, "
    "수신자, "
    "시각을 말한다는 것(메시지에 적힌 내용일 뿐임).",
    "수신 ",
};

constexpr Words kChinese{
    "本 PDF 是运营方对同一证据文件中 certificate.html 的签名副本。PDF 阅读器的签名面板或 pdfsig "
    "可显示签名者以及签名后是否被修改。证明本身是证据文件，任何人都可以用 notary-verify 离线检查；"
    "本 PDF 增加的是运营方的签名和身份。",
    "本 PDF 未签名：运营方未配置文档证书（notaryd --document-cert），因此除了与随附证据文件一致"
    "（由 notary-verify 检查）之外，没有任何东西约束它。",
    "运营方",
    "名称",
    "地址",
    "联系方式",
    "（运营方未说明）",
    "身份由运营方自行说明；将该身份与本文件绑定的是签名证书（由其中载明的机构签发）。",
    "按邮件自身的头部所述：仅通过邮件的哈希值受到约束。",
    "签发时间（UTC）",
    "签发时的检查",
    "结果",
    "通过 notary-verify 的全部检查",
    "未通过：",
    "存证密钥（SHA-256 指纹）",
    "检查使用的是证据文件所带的密钥和机构。任何人都可以用 notary-verify 离线重复检查，并指定存证"
    "系统公布的密钥指纹（--fingerprint）和机构的根证书（--tsa-ca）。",
    "区块",
    "归属",
    "运营方自有",
    "独立于运营方",
    "本文件签名的时间戳机构：",
    "存证系统内置机构",
    "无（PAdES B-B）",
    "证明了什么，未证明什么",
    "由签名日志和时间戳证明：存证系统最迟在其区块加盖时间戳之时收到了上述 SHA-256 所对应的确切"
    "字节，且此后日志中没有任何记录被修改或删除。",
    "在证据文件载有发件人自身的 DKIM 签名和 DNSSEC 应答时，由其证明：发件域对该邮件进行了签名。",
    "未证明：邮件内容属实，或其 From、To、Date 头部反映了真实的作者、收件人或时间（它们只是邮件"
    "所述）。",
    "接收 ",
};

const Words& WordsFor(const std::string& lang) {
  if (lang == "ko") return kKorean;
  if (lang == "zh") return kChinese;
  return kEnglish;
}

std::string Str(const json& v, const char* key) {
  auto it = v.find(key);
  return it != v.end() && it->is_string() ? it->get<std::string>() : "";
}

// A label of the certificate, from the view.
std::string Label(const json& view, const char* key) { return Str(view["l"], key); }

std::string OrUnstated(const std::string& s, const Words& w) { return s.empty() ? w.unstated : s; }

void MessageSection(const json& v, const Words& w, pdf::Document& d) {
  if (v.value("full", false)) {
    d.blocks.push_back(Block::Heading(Label(v, "section_message")));
    d.blocks.push_back(Block::Fields({{Label(v, "subject"), Str(v, "subject")},
                                      {Label(v, "header_from"), Str(v, "from")},
                                      {Label(v, "header_to"), Str(v, "to")},
                                      {Label(v, "header_date"), Str(v, "date")}}));
    d.blocks.push_back(Block::Note(w.headers_note));
  }
  if (v["erased"].is_object()) {
    const json& e = v["erased"];
    d.blocks.push_back(Block::Heading(Label(v, "erased")));
    d.blocks.push_back(Block::Paragraph(Label(v, "erased_note")));
    d.blocks.push_back(Block::Fields({{Label(v, "erased"), Str(e, "at")},
                                      {Label(v, "erased_by"), Str(e, "by")},
                                      {Label(v, "erasure_record"), Str(e, "leaf_hash"), true}}));
  }
}

void SealSection(const json& v, const Words& w, pdf::Document& d) {
  d.blocks.push_back(Block::Heading(Label(v, "section_seal")));
  std::vector<Field> seal = {
      {Label(v, "block_height"), Str(v, "block_height")},
      {Label(v, "block_hash"), Str(v, "block_hash"), true},
      {Label(v, "leaf_index"), Str(v, "leaf_index")},
      {Label(v, "leaf_hash"), Str(v, "leaf_hash"), true},
      {Label(v, "checkpoint"), Str(v, "checkpoint_origin") + " · " + Str(v, "checkpoint_size")}};
  if (v.value("has_witnesses", false)) {
    std::string names;
    for (const auto& n : v["witnesses"]) names += (names.empty() ? "" : "\n") + Str(n, "name");
    seal.push_back({Label(v, "witnesses"), names});
  }
  d.blocks.push_back(Block::Fields(std::move(seal)));
  if (v.value("has_witnesses", false))
    d.blocks.push_back(Block::Note(Label(v, "witnesses_unchecked")));

  d.blocks.push_back(Block::Heading(Label(v, "section_timestamps")));
  Block tokens = Table({w.block, Label(v, "tsa"), Label(v, "time_utc"), w.whose},
                       {0.12, 0.38, 0.3, 0.2}, {false, false, false, false});
  for (const auto& t : v["tokens"]) {
    const std::string tsa = Str(t, "tsa");
    const bool own = tsa == "local";
    tokens.rows.push_back({Str(t, "height"), own ? std::string(w.built_in) : tsa, Str(t, "time"),
                           own ? w.own : w.independent});
  }
  if (tokens.rows.empty()) tokens.rows.push_back({Label(v, "none"), "", "", ""});
  d.blocks.push_back(std::move(tokens));
}

void SenderSection(const json& v, pdf::Document& d) {
  const json& s = v["sender"];
  if (!s.is_object()) return;
  d.blocks.push_back(Block::Heading(Label(v, "section_sender")));
  std::vector<Field> f;
  for (const auto& k : s["dkim"]) {
    std::string value = Str(k, "verdict") + " · " + Label(v, "key") + " " + Str(k, "key_record");
    if (!Str(k, "dnssec").empty()) value += " · " + Str(k, "dnssec");
    f.push_back({Label(v, "dkim_signature") + " d=" + Str(k, "domain"), value});
  }
  if (s["spf"].is_object()) {
    f.push_back({Label(v, "spf"), Str(s["spf"], "verdict") + " · " + Str(s["spf"], "domain")});
  }
  if (s["dmarc"].is_object()) {
    f.push_back({Label(v, "dmarc"), Str(s["dmarc"], "verdict") + " · " + Str(s["dmarc"], "domain") +
                                        " · " + Label(v, "policy") + " " +
                                        Str(s["dmarc"], "policy")});
  }
  f.push_back({Label(v, "sender_checked_at"), Str(s, "checked_at")});
  d.blocks.push_back(Block::Fields(std::move(f)));
  d.blocks.push_back(Block::Note(Label(v, "sender_note")));
}

}  // namespace

common::Result<std::string> BundleCertificatePdf(const notary::BundleInput& in,
                                                 const notary::VerifyReport& report,
                                                 const CertificateOptions& o) {
  ASSIGN_OR_RETURN(std::string view_json, notary::CertificateViewJson(in));
  const json v = json::parse(view_json, nullptr, false);
  if (!v.is_object() || !v["l"].is_object()) {
    return common::Error::Internal("the certificate's view did not parse");
  }
  const Words& w = WordsFor(in.lang);
  const bool signed_pdf = static_cast<bool>(o.signer.sign);

  pdf::Document d;
  d.lang = in.lang;
  d.title = Label(v, "title");
  d.author = o.op.name.empty() ? "operator not stated" : o.op.name;
  d.footer = std::string(w.footer) + in.receipt.id;
  d.created_us = in.issued_at_us;
  d.blocks.push_back(Block::Paragraph(signed_pdf ? w.signed_intro : w.unsigned_intro));
  d.blocks.push_back(Block::Paragraph(Label(v, "intro")));

  d.blocks.push_back(Block::Heading(w.op));
  d.blocks.push_back(Block::Fields({{w.op_name, OrUnstated(o.op.name, w)},
                                    {w.op_address, OrUnstated(o.op.address, w)},
                                    {w.op_contact, OrUnstated(o.op.contact, w)}}));
  d.blocks.push_back(Block::Note(w.op_note));

  d.blocks.push_back(Block::Heading(Label(v, "section_receipt")));
  d.blocks.push_back(Block::Fields({{Label(v, "receipt_id"), Str(v, "receipt_id"), true},
                                    {Label(v, "received_at"), Str(v, "received_at")},
                                    {Label(v, "issued"), Str(v, "issued_to")},
                                    {w.issued_at, Str(v, "issued_at")}}));
  MessageSection(v, w, d);

  d.blocks.push_back(Block::Heading(Label(v, "section_provenance")));
  d.blocks.push_back(
      Block::Fields({{Label(v, "envelope_from"), Str(v, "envelope_from")},
                     {Label(v, "envelope_to"), Str(v, "envelope_to")},
                     {Label(v, "client"), Str(v, "client")},
                     {Label(v, "tls"), Str(v, "tls").empty() ? Label(v, "none") : Str(v, "tls")},
                     {Label(v, "source"), Str(v["provenance"], "source")}}));

  d.blocks.push_back(Block::Heading(Label(v, "section_hashes")));
  d.blocks.push_back(
      Block::Fields({{Label(v, "raw_sha256"), Str(v, "raw_sha256"), true},
                     {Label(v, "canonical_sha256"), Str(v, "canonical_sha256"), true},
                     {Label(v, "parts_root"), Str(v, "parts_root"), true}}));
  if (v.value("has_parts", false)) {
    d.blocks.push_back(Block::Heading(Label(v, "section_attachments")));
    Block parts = Table(
        {Label(v, "position"),
         Label(v, "file_name") + " · " + Label(v, "type") + " · " + Label(v, "size"), "SHA-256"},
        {0.12, 0.33, 0.55}, {false, false, true});
    for (const auto& p : v["parts"]) {
      const bool shown = p.value("shown", false);
      const std::string name = Str(p, "filename");
      parts.rows.push_back({Str(p, "position"),
                            shown ? (name.empty() ? "" : name + " · ") + Str(p, "content_type") +
                                        " · " + Str(p, "size")
                                  : Label(v, "not_disclosed"),
                            shown ? Str(p, "sha256") : ""});
    }
    d.blocks.push_back(std::move(parts));
  }
  SealSection(v, w, d);
  SenderSection(v, d);

  d.blocks.push_back(Block::Heading(w.checked));
  std::string result = w.passed;
  if (!report.valid) {
    result = w.failed;
    for (const auto& c : report.checks) {
      if (c.status == notary::CheckStatus::kFail) result += c.id + " ";
    }
  }
  d.blocks.push_back(Block::Fields(
      {{w.result, result},
       {w.key, report.key_fingerprint.empty() ? Label(v, "none") : report.key_fingerprint, true}}));
  d.blocks.push_back(Block::Note(w.checked_note));
  if (signed_pdf) {
    d.blocks.push_back(Block::Note(std::string(w.signature_stamp) +
                                   (o.signature_tsa == "local" ? std::string(w.built_in)
                                    : o.signature_tsa.empty()  ? std::string(w.no_stamp)
                                                               : o.signature_tsa)));
  }

  d.blocks.push_back(Block::Heading(w.proven_title));
  d.blocks.push_back(Block::Paragraph(w.proven));
  if (v["sender"].is_object()) d.blocks.push_back(Block::Paragraph(w.sender_proven));
  d.blocks.push_back(Block::Paragraph(w.not_proven));

  ASSIGN_OR_RETURN(std::string rendered, pdf::RenderPdf(d));
  pdf::ArchivalInfo info{d.title, d.author,   "Receipt " + in.receipt.id,
                         d.lang,  o.producer, in.issued_at_us};
  ASSIGN_OR_RETURN(std::string archival, pdf::MakeArchival(rendered, info));
  if (!signed_pdf) return archival;
  return pdf::SignPades(
      archival, o.signer,
      {o.op.name, d.title + ": " + in.receipt.id, o.op.address, o.op.contact, in.issued_at_us});
}

common::Result<std::string> BuildBundleZipWithPdf(const notary::BundleInput& in,
                                                  const CertificateOptions& options) {
  ASSIGN_OR_RETURN(std::string plain, notary::BuildBundleZip(in));
  ASSIGN_OR_RETURN(notary::Bundle bundle, notary::ReadBundleZip(plain));
  const notary::VerifyReport report = notary::VerifyBundle(bundle, notary::VerifyOptions{});
  ASSIGN_OR_RETURN(std::string pdf, BundleCertificatePdf(in, report, options));
  // The bundle just checked, with the PDF added: its entries are not built again.
  return notary::AddCertificatePdf(plain, pdf, in.issued_at_us);
}

}  // namespace pipeline
