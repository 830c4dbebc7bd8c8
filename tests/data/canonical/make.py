#!/usr/bin/env python3
"""Generates the canonicalisation test corpus (tests/data/canonical/<group>/*.eml).

Each group has a base.eml. Every other file whose name does not start with "diff_" is the
same message as it arrives by another route (a relay hop, LF line ends, a re-encoded
attachment, ...) and must have base.eml's canonical hash. Every "diff_" file changes one
thing a reader sees and must have a hash of its own. Expected hashes live in expected.txt
(written by mime_tests with NOTARY_UPDATE_GOLDEN=1, reviewed in git).

Deterministic: run `python3 make.py` in this folder; the .eml files are committed.
"""
import base64
import hashlib
import os
import quopri
from email.utils import encode_rfc2231

HERE = os.path.dirname(os.path.abspath(__file__))


def attachment_bytes(seed, n):
    """Deterministic binary content including CR, LF, NUL and 8-bit bytes."""
    out = bytearray(b"%PDF-1.4\r\n")
    block = seed.encode()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def b64(data):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\n"


def qp_binary(data):
    """Quoted-printable for binary data: CR and LF are encoded too (RFC 2045 §6.7 (4))."""
    lines, cur = [], ""
    for byte in data:
        if (33 <= byte <= 126 and byte != 61) or byte == 32:
            tok = chr(byte)
        else:
            tok = "=%02X" % byte
        if len(cur) + len(tok) > 75:
            lines.append(cur + "=")
            cur = ""
        cur += tok
    if cur.endswith(" "):
        cur = cur[:-1] + "=20"
    lines.append(cur)
    return "\n".join(lines) + "\n"


def enc_word(text, charset, q=False):
    """One RFC 2047 encoded word (B, or Q when q) of `text` in `charset`."""
    raw = text.encode(charset)
    if not q:
        return "=?%s?b?%s?=" % (charset, base64.b64encode(raw).decode())
    body = "".join(
        chr(c) if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) else "=%02X" % c
        for c in raw)
    return "=?%s?q?%s?=" % (charset, body)


def write(group, name, text, crlf=True, encoding="ascii"):
    d = os.path.join(HERE, group)
    os.makedirs(d, exist_ok=True)
    data = text.encode(encoding) if isinstance(text, str) else text
    data = data.replace(b"\r\n", b"\n")
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- group "contract"
PDF = attachment_bytes("contract", 6000)
BODY = ("Dear Bob,\n\nplease find the signed contract attached.\n"
        "Payment is due on 1 August.\n\nRegards,\nAlice\n")

TRACE = ("Return-Path: <alice@example.com>\n"
         "Delivered-To: bob@example.org\n"
         "X-Original-To: bob@example.org\n"
         "Received: from mx.example.com (mx.example.com [192.0.2.10])\n"
         "\tby mail.example.org (Postfix) with ESMTPS id 4ABC123\n"
         "\tfor <bob@example.org>; Tue, 01 Jul 2025 10:00:03 +0200 (CEST)\n")
FILTERS = ("X-Spam-Status: No, score=-0.1 required=5.0\n"
           "X-Spam-Score: -0.1\n"
           "Authentication-Results: mail.example.org; dkim=pass header.d=example.com;\n"
           " spf=pass smtp.mailfrom=example.com\n"
           "Received-SPF: pass (example.com: 192.0.2.10 is authorized)\n"
           "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to:subject;\n"
           " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==\n"
           "ARC-Seal: i=1; a=rsa-sha256; d=example.org; s=arc; cv=none; b=dGVzdA==\n"
           "ARC-Message-Signature: i=1; a=rsa-sha256; d=example.org; s=arc; b=dGVzdA==\n"
           "ARC-Authentication-Results: i=1; mail.example.org; dkim=pass\n")


def contract(subject="Signed contract", body=BODY, pdf=PDF, filename="contract.pdf",
             att_encoding="base64", reorder=False, headers=None, trailing_ws=False):
    h = headers or ("From: Alice Example <alice@example.com>\n"
                    "To: Bob Example <bob@example.org>\n"
                    "Cc: carol@example.net\n"
                    "Subject: %s\n"
                    "Date: Tue, 01 Jul 2025 10:00:00 +0200\n"
                    "Message-ID: <20250701100000.1@example.com>\n" % subject)
    if trailing_ws:
        body = body.replace("\n", "   \n").replace("Alice   \n", "Alice\t\n") + "\n\n  \n"
    text_part = ("Content-Type: text/plain; charset=us-ascii\n"
                 "Content-Transfer-Encoding: 7bit\n\n" + body)
    if att_encoding == "base64":
        content = b64(pdf)
    else:
        content = qp_binary(pdf)
    att_part = ("Content-Type: application/pdf; name=\"%s\"\n"
                "Content-Disposition: attachment; filename=\"%s\"\n"
                "Content-Transfer-Encoding: %s\n\n%s" % (filename, filename, att_encoding,
                                                         content))
    parts = [att_part, text_part] if reorder else [text_part, att_part]
    mime = ("MIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=\"=_b1\"\n\n"
            "This is a multi-part message in MIME format.\n")
    for p in parts:
        mime += "--=_b1\n" + p
    mime += "--=_b1--\n"
    return h + mime


write("contract", "base.eml", contract())
write("contract", "postfix_hop.eml", TRACE + contract())
write("contract", "lf_line_ends.eml", contract(), crlf=False)
write("contract", "attachment_quoted_printable.eml", contract(att_encoding="quoted-printable"))
write("contract", "refolded_headers.eml", contract(headers=(
    "from:   Alice Example\n\t<alice@example.com>\n"
    "TO: Bob Example\n  <bob@example.org>\n"
    "CC:carol@example.net\n"
    "SUBJECT: Signed\n   contract  \n"
    "date: Tue, 01 Jul 2025\n 10:00:00 +0200\n"
    "MESSAGE-ID:\n <20250701100000.1@example.com>\n")))
write("contract", "mbox_from_line.eml",
      "From alice@example.com Tue Jul  1 10:00:03 2025\n" + contract(), crlf=False)
write("contract", "filter_headers.eml", FILTERS + TRACE + contract())
write("contract", "trailing_whitespace.eml", contract(trailing_ws=True))
write("contract", "subject_encoded_word.eml",
      contract(subject="=?utf-8?q?Signed_contract?="))
write("contract", "diff_body_char.eml", contract(body=BODY.replace("1 August", "7 August")))
write("contract", "diff_subject_char.eml", contract(subject="Signed contracts"))
write("contract", "diff_attachment_byte.eml",
      contract(pdf=PDF[:3000] + bytes([PDF[3000] ^ 1]) + PDF[3001:]))
write("contract", "diff_filename.eml", contract(filename="contract2.pdf"))
write("contract", "diff_parts_reordered.eml", contract(reorder=True))
write("contract", "diff_from_char.eml", contract().replace("alice@example.com>", "alica@example.com>", 1))
write("contract", "diff_date.eml", contract().replace("10:00:00 +0200", "10:00:01 +0200", 1))
write("contract", "diff_inner_space.eml", contract(body=BODY.replace("signed contract", "signed  contract")))

# ---------------------------------------------------------------- non-ASCII groups


def intl(subject, body, charset, filename, body_cte, subject_q=False, fname_charset="utf-8",
         extra_headers=""):
    subj = enc_word(subject, charset, q=subject_q)
    raw_body = body.encode(charset)
    if body_cte == "base64":
        body_text = b64(raw_body)
    elif body_cte == "quoted-printable":
        body_text = quopri.encodestring(raw_body.replace(b"\n", b"\r\n")).decode().replace("\r\n", "\n")
    else:  # 7bit (ISO-2022-JP) or 8bit
        body_text = raw_body.decode("latin-1")
    att = attachment_bytes(filename, 1500)
    fname = encode_rfc2231(filename, fname_charset)
    msg = (extra_headers +
           "From: %s <sender@example.kr>\n"
           "To: receiver@example.cn\n"
           "Subject: %s\n"
           "Date: Wed, 02 Jul 2025 09:30:00 +0900\n"
           "Message-ID: <intl-%s@example.kr>\n"
           "MIME-Version: 1.0\n"
           "Content-Type: multipart/mixed; boundary=\"intl\"\n\n"
           "--intl\n"
           "Content-Type: text/plain; charset=%s\n"
           "Content-Transfer-Encoding: %s\n\n%s\n"
           "--intl\n"
           "Content-Type: application/octet-stream\n"
           "Content-Disposition: attachment;\n filename*=%s\n"
           "Content-Transfer-Encoding: base64\n\n%s"
           "--intl--\n") % (enc_word("홍길동", "utf-8"), subj, "x", charset, body_cte,
                            body_text, fname, b64(att))
    return msg.encode("latin-1")


KO_SUBJ = "계약서 송부의 건"
KO_BODY = "안녕하세요.\n첨부한 계약서를 확인해 주십시오.\n감사합니다.\n"
KO_FILE = "계약서.pdf"
write("korean", "base.eml", intl(KO_SUBJ, KO_BODY, "utf-8", KO_FILE, "base64"))
write("korean", "euc_kr.eml",
      intl(KO_SUBJ, KO_BODY, "euc-kr", KO_FILE, "8bit", subject_q=True, fname_charset="euc-kr"))
write("korean", "euc_kr_qp_lf.eml",
      intl(KO_SUBJ, KO_BODY, "euc-kr", KO_FILE, "quoted-printable"), crlf=False)
write("korean", "postfix_hop.eml",
      intl(KO_SUBJ, KO_BODY, "utf-8", KO_FILE, "base64", extra_headers=TRACE))
write("korean", "diff_subject_char.eml",
      intl(KO_SUBJ.replace("송부", "송신"), KO_BODY, "utf-8", KO_FILE, "base64"))
write("korean", "diff_body_char.eml",
      intl(KO_SUBJ, KO_BODY.replace("감사", "감시"), "utf-8", KO_FILE, "base64"))
write("korean", "diff_filename.eml", intl(KO_SUBJ, KO_BODY, "utf-8", "계약서2.pdf", "base64"))

ZH_SUBJ = "关于合同的通知"
ZH_BODY = "您好：\n请查收附件中的合同。\n谢谢。\n"
ZH_FILE = "合同.pdf"
write("chinese", "base.eml", intl(ZH_SUBJ, ZH_BODY, "utf-8", ZH_FILE, "base64"))
write("chinese", "gb2312.eml",
      intl(ZH_SUBJ, ZH_BODY, "gb2312", ZH_FILE, "base64", fname_charset="gb2312"))
write("chinese", "gb2312_qp_subject_q.eml",
      intl(ZH_SUBJ, ZH_BODY, "gb2312", ZH_FILE, "quoted-printable", subject_q=True))
write("chinese", "diff_subject_char.eml",
      intl(ZH_SUBJ.replace("通知", "通告"), ZH_BODY, "utf-8", ZH_FILE, "base64"))
write("chinese", "diff_body_char.eml",
      intl(ZH_SUBJ, ZH_BODY.replace("谢谢", "谢过"), "gb2312", ZH_FILE, "base64"))

JA_SUBJ = "契約書の送付"
JA_BODY = "お世話になっております。\n契約書を添付いたします。\n"
JA_FILE = "契約書.pdf"
write("japanese", "base.eml", intl(JA_SUBJ, JA_BODY, "utf-8", JA_FILE, "base64"))
write("japanese", "iso_2022_jp.eml",
      intl(JA_SUBJ, JA_BODY, "iso-2022-jp", JA_FILE, "7bit", fname_charset="iso-2022-jp"))
write("japanese", "diff_body_char.eml",
      intl(JA_SUBJ, JA_BODY.replace("添付", "送付"), "iso-2022-jp", JA_FILE, "7bit"))
