#!/usr/bin/env python3
"""Generates the test vectors of canonical form version 2 (tests/data/canonical-v2/*.eml).

Each <name>.eml is one case. The C++ test (tests/mime/golden_v2_test.cc) writes
<name>.canonical and expected.json from them with NOTARY_UPDATE_GOLDEN=1; those are reviewed
and committed. This script also writes intended.tsv: for the charset cases, the text each
header, body or file name was made from (encoded here with Python's codecs), which the test
compares with what the WHATWG decoders give: "<case> TAB header|text|filename TAB <name or
position> TAB <hex of the UTF-8 text>".

Deterministic, Python 3 standard library only: run `python3 make.py` in this folder.
"""
import base64
import hashlib
import os
import quopri

HERE = os.path.dirname(os.path.abspath(__file__))
INTENDED = []
HEAD = ("From: Alice Example <alice@example.com>\n"
        "To: Bob Example <bob@example.org>\n"
        "Date: Tue, 01 Jul 2025 10:00:00 +0200\n")


def write(name, data, crlf=True):
    if isinstance(data, str):
        data = data.encode("latin-1")
    data = data.replace(b"\r\n", b"\n")
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    with open(os.path.join(HERE, name + ".eml"), "wb") as f:
        f.write(data)


def intend(case, kind, key, text):
    INTENDED.append("%s\t%s\t%s\t%s" % (case, kind, key, text.encode("utf-8").hex()))


def b64(data):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\n"


def word(text_bytes, charset, method="B"):
    """One RFC 2047 encoded word over raw bytes."""
    if method.upper() == "B":
        return "=?%s?%s?%s?=" % (charset, method, base64.b64encode(text_bytes).decode())
    body = "".join(chr(c) if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) else "=%02X" % c
                   for c in text_bytes)
    return "=?%s?%s?%s?=" % (charset, method, body)


def blob(seed, n):
    """Deterministic binary content including CR, LF, NUL and 8-bit bytes."""
    out = bytearray(b"%PDF-1.4\r\n")
    block = seed.encode()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def pct(data):
    return "".join("%%%02X" % c for c in data)


def normalise(text):
    """The line normalisation of the spec (§V2.7), for intended texts."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out, pending = [], 0
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines:
        line = line.rstrip(" \t")
        if not line:
            pending += 1
            continue
        out.extend([""] * pending)
        pending = 0
        out.append(line)
    return "".join(l + "\n" for l in out)


# ------------------------------------------------------------------ the v1 worked example
with open(os.path.join(HERE, "..", "canonical", "contract", "base.eml"), "rb") as f:
    write("contract_base", f.read())

# ------------------------------------------------------------------ input preparation
write("empty", b"", crlf=False)
write("mbox_lf_line_ends",
      "From alice@example.com Tue Jul  1 10:00:03 2025\n" + HEAD +
      "Subject: LF only\n\nfirst line\nsecond line\n", crlf=False)
write("no_empty_line", HEAD + "Subject: headers only\n folded", crlf=True)

# ------------------------------------------------------------------ CJK charsets


def cjk(case, charset, codec, subject, body, filename, cte="base64", subject_method="B",
        subject_split=False, seed=None):
    seed = seed or case
    raw_subject = subject.encode(codec)
    if subject_split:
        # Two words of the same charset, split in the middle of the bytes (possibly inside a
        # character): joined as bytes before decoding.
        cut = len(raw_subject) // 2 + 1
        subj = (word(raw_subject[:cut], charset, subject_method) + "\n " +
                word(raw_subject[cut:], charset.upper(), "Q"))
    else:
        subj = word(raw_subject, charset, subject_method)
    raw_body = body.replace("\n", "\r\n").encode(codec)
    if cte == "base64":
        body_text = b64(raw_body)
    elif cte == "quoted-printable":
        body_text = quopri.encodestring(raw_body).decode().replace("\r\n", "\n") + "\n"
    else:
        body_text = raw_body.decode("latin-1")
    att = blob(seed, 700)
    msg = (HEAD + "Subject: %s\nMessage-ID: <%s@example.com>\nMIME-Version: 1.0\n"
           "Content-Type: multipart/mixed; boundary=\"cjk\"\n\n"
           "--cjk\nContent-Type: text/plain; charset=\"%s\"\n"
           "Content-Transfer-Encoding: %s\n\n%s\n"
           "--cjk\nContent-Type: application/pdf\n"
           "Content-Disposition: attachment;\n filename*=%s''%s\n"
           "Content-Transfer-Encoding: base64\n\n%s--cjk--\n") % (
               subj, seed, charset, cte, body_text, charset, pct(filename.encode(codec)), b64(att))
    write(case, msg)
    intend(case, "header", "subject", subject)
    intend(case, "text", "1", normalise(body))
    intend(case, "filename", "2", filename)


KO_SUBJECT = "계약서 송부의 건 (똠방각하)"
KO_BODY = "안녕하세요.\n첨부한 계약서를 확인해 주십시오.\n똠방각하 드림\n"
# The same message in two labels of one WHATWG encoding (windows-949 bytes: 똠 is outside
# KS X 1001), in base64 and 8bit, B and Q: one canonical form.
cjk("korean_ks_c_5601_1987", "ks_c_5601-1987", "cp949", KO_SUBJECT, KO_BODY, "계약서.pdf",
    seed="korean")
cjk("korean_euc_kr", "euc-kr", "cp949", KO_SUBJECT, KO_BODY, "계약서.pdf", cte="8bit",
    subject_method="Q", seed="korean")
ZH_SUBJECT = "关于合同的通知（朱镕基、陶喆）"
ZH_BODY = "您好：\n请查收附件中的合同。\n镕喆\n"
cjk("chinese_gb2312", "gb2312", "gbk", ZH_SUBJECT, ZH_BODY, "合同.pdf")
cjk("chinese_gb18030", "gb18030", "gb18030", "合同 𠮷野家", "您好：\n𠮷野家的合同。\n",
    "𠮷.pdf", cte="quoted-printable")
JA_SUBJECT = "契約書の送付"
JA_BODY = "お世話になっております。\n契約書を添付いたします。\n"
cjk("japanese_iso_2022_jp", "iso-2022-jp", "iso2022_jp", JA_SUBJECT, JA_BODY, "契約書.pdf",
    cte="7bit")
cjk("japanese_shift_jis", "shift_jis", "cp932", "契約書の送付①髙～", JA_BODY + "①髙～\n",
    "契約書.pdf", cte="8bit", subject_split=True)

# ------------------------------------------------------------------ RFC 2047
write("split_multibyte_words",
      HEAD + "Subject: " + word("café ".encode("utf-8")[:4], "utf-8", "Q") + " " +
      word("café ".encode("utf-8")[4:] + b"au lait", "UTF-8", "B") + "\n"
      "Cc: " + word("가".encode("euc-kr")[:1], "euc-kr", "Q") + "\n\t" +
      word("가".encode("euc-kr")[1:], "ks_c_5601-1987", "Q") + " <ko@example.kr>\n"
      "Content-Type: application/octet-stream;\n name=\"" +
      word("résumé".encode("utf-8")[:2], "utf-8", "B") + " " +
      word("résumé".encode("utf-8")[2:] + b".pdf", "utf-8", "B") + "\"\n\nx\n")
intend("split_multibyte_words", "header", "subject", "café au lait")
intend("split_multibyte_words", "header", "cc", "가 <ko@example.kr>")
intend("split_multibyte_words", "filename", "1", "résumé.pdf")

write("adjacent_encoded_words",
      "From: \"=?utf-8?q?Jos=C3=A9?= Example\" <jose@example.com>\n"
      "To: =?utf-8?q?Ren=C3=A9e?=<renee@example.org>\n"
      "Date: Tue, 01 Jul 2025 10:00:00 +0200\n"
      "Subject: Re:=?utf-8?q?caf=C3=A9?==?utf-8?b?IGF1?=_lait =?utf-8?q?x?=y (=?utf-8?q?z?=)\n"
      "\nbody\n")
intend("adjacent_encoded_words", "header", "from", "\"José Example\" <jose@example.com>")
intend("adjacent_encoded_words", "header", "to", "Renée<renee@example.org>")
intend("adjacent_encoded_words", "header", "subject", "Re:café au_lait xy (z)")

write("unknown_charset",
      HEAD + "Subject: =?x-klingon?q?Qapla=27?= and =?utf-8?q?ok?= =?x-klingon?b?UWFwbGE=?=\n"
      "Content-Type: text/plain; charset=\"X-Klingon\"\n\nQapla' \xff  \nbatlh\n\n")
write("replacement_charset",
      HEAD + "Subject: =?iso-2022-kr?q?x?= =?csiso2022kr?b?eA==?= =?hz-gb-2312?q?y?=\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/alternative; boundary=r\n\n"
      "--r\nContent-Type: text/plain; charset=ISO-2022-KR\n\n\x1b$)C\x0e8!\x0f\n"
      "--r\nContent-Type: text/plain; charset=utf-7\n\n+AKM-1\n--r--\n")
write("encoded_word_syntax",
      HEAD + "Subject: =?utf-8?Q?a=3Db=zz=4_?= =?utf-8?b?YQ?= =?utf-8?b?Y?= =?utf-8?x?q?= "
      "=?utf-8*en?q?lang?= =??q?x?= =?utf-8?q?sp ace?= =?utf-8?b?YQ=?= =?windows-1252?q?=80?=\n"
      "\nbody\n")
intend("encoded_word_syntax", "header", "subject",
       "a=b=zz=4 a =?utf-8?b?Y?= =?utf-8?x?q?= lang =??q?x?= =?utf-8?q?sp ace?= "
       "=?utf-8?b?YQ=?= €")

# ------------------------------------------------------------------ 8-bit header bytes
write("header_8bit_utf8",
      ("From: Jörg Müller <joerg@example.de>\n"
       "To: bob@example.org\nDate: Tue, 01 Jul 2025 10:00:00 +0200\n"
       "Subject: Grüße aus Köln — 東京\n"
       "Content-Type: application/pdf; name=\"Übersicht.pdf\"\n\nx\n").encode("utf-8"))
intend("header_8bit_utf8", "header", "subject", "Grüße aus Köln — 東京")
intend("header_8bit_utf8", "filename", "1", "Übersicht.pdf")
write("header_8bit_windows_1252",
      b"From: J\xf6rg M\xfcller <joerg@example.de>\n"
      b"To: bob@example.org\nDate: Tue, 01 Jul 2025 10:00:00 +0200\n"
      b"Subject: Gr\xfc\xdfe \x80 \x81 \x9d caf\xc3\xa9\n"
      b"Content-Type: application/pdf; name=\"\xdcbersicht.pdf\"\n\nx\n")
intend("header_8bit_windows_1252", "header", "subject", "Grüße € \x81 \x9d cafÃ©")
intend("header_8bit_windows_1252", "filename", "1", "Übersicht.pdf")

# ------------------------------------------------------------------ header block syntax
write("header_block_syntax",
      "from : Alice <alice@example.com>\n"
      "TO: bob@example.org,\n\t carol@example.org\n"
      "Date: Tue, 01 Jul 2025\n  10:00:00 +0200\n"
      "Subject:   spaced \t out  \n   and folded   \n"
      "Subject: second subject\n"
      "Subject: with\x00nul\n"
      "X-Not-Allowed: ignored\n"
      "this line has no colon and starts the body\n"
      "Cc: not a header any more\n\nrest\n")

# ------------------------------------------------------------------ Content-Type defaults
write("missing_content_type", HEAD + "Subject: no MIME at all\n\nplain ASCII\ncaf\xc3\xa9\n")
write("text_without_charset",
      HEAD + "Subject: sniffing\nContent-Type: multipart/mixed; boundary=s\n\n"
      "--s\nContent-Type: text/plain\n\ncaf\xc3\xa9 UTF-8\n"
      "--s\nContent-Type: TEXT/plain; format=flowed\n\ncaf\xe9 latin-1\n"
      "--s--\n")
intend("text_without_charset", "text", "1", "café UTF-8\n")
intend("text_without_charset", "text", "2", "café latin-1\n")
write("invalid_content_type",
      HEAD + "Subject: invalid type\nContent-Type: text; charset=utf-8\n\ncaf\xc3\xa9\n")
write("multipart_digest",
      HEAD + "Subject: digest\nContent-Type: multipart/digest; boundary=\"d\"\n\n"
      "--d\n\nFrom: one@example.com\nSubject: first\n\nfirst body\n\n"
      "--d\nContent-Transfer-Encoding: base64\n\n" +
      b64(b"From: two@example.com\r\nSubject: second\r\n\r\nsecond body\r\n") +
      "--d\nContent-Type: text/plain; charset=us-ascii\n\nexplicit text\n"
      "--d\nContent-Type: text/\n\ninvalid type: text/plain\n"
      "--d--\n")
write("content_type_parameters",
      HEAD + "Subject: parameters\n"
      "Content-Type: multipart/mixed (comment) ; boundary = \"p(1)\" ;\n"
      " boundary=ignored; junk; charset\n\n"
      "--p(1)\nContent-Type: Text/Plain (x); Charset = \" UTF-8 \"; charset=latin1\n\n"
      "caf\xc3\xa9\n"
      "--p(1)\nContent-Type: application/pdf; name=a.pdf; name=b.pdf;\n"
      " bad=\"x;y\" tail; name*=utf-8''c%2Epdf\n\nx\n"
      "--p(1)--\n")

# ------------------------------------------------------------------ multipart splitting
write("message_rfc822",
      HEAD + "Subject: forwarded\nMIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=\"fw\"\n\n"
      "--fw\nContent-Type: text/plain; charset=utf-8\n\nSee the forwarded message.\n"
      "--fw\nContent-Type: message/rfc822; name=\"fwd.eml\"\n"
      "Content-Disposition: attachment; filename=\"fwd.eml\"\n\n"
      "From: carol@example.net\nSubject: original\nContent-Type: text/plain\n\n"
      "original body  \n\n"
      "--fw\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename=fwd.eml\n"
      "Content-Transfer-Encoding: base64\n\n" +
      b64(b"From: carol@example.net\r\nSubject: original\r\nContent-Type: text/plain\r\n\r\n"
          b"original body  \r\n") +
      "--fw--\n")
write("missing_close_delimiter",
      HEAD + "Subject: cut off\nContent-Type: multipart/mixed; boundary=cut\n\n"
      "--cut\nContent-Type: text/plain\n\nfirst\n"
      "--cut\nContent-Type: multipart/alternative; boundary=inner\n\n"
      "--inner\nContent-Type: text/plain\n\ninner first\n"
      "--inner\nContent-Type: application/octet-stream\n\nrunning to the end\n")
write("nested_prefix_boundaries",
      HEAD + "Subject: boundaries that prefix each other\n"
      "Content-Type: multipart/mixed; boundary=\"=_a\"\n\n"
      "preamble --=_a is not at the start of a line\n"
      "--=_a\nContent-Type: multipart/alternative; boundary=\"=_a_b\"\n\n"
      "--=_a_b\nContent-Type: multipart/related; boundary=\"=_a-\"\n\n"
      "--=_a-\nContent-Type: text/plain\n\ninnermost\n--=_a_bc\n--=_a---x\n"
      "--=_a---\n"
      "--=_a_b\nContent-Type: text/html\n\n<p>html</p>\n"
      "--=_a_b--\nepilogue of =_a_b\n--=_a_b\n"
      "--=_a \t\nContent-Type: application/octet-stream\n\nlast\n"
      "--=_a--\nepilogue\n--=_a\n")
write("delimiter_edge_cases",
      HEAD + "Subject: delimiter edge cases\nContent-Type: multipart/mixed; boundary=e\n"
      "--e\n"
      "--e\n"
      "Content-Type: application/pdf\n"
      "--e\n"
      "not a header: first body line\n"
      " --e\n--e x\n--E\n--e\r\r\n"
      "--e\n"
      "\n"
      "--e--\n")
write("multipart_without_boundary",
      HEAD + "Subject: no boundary\nContent-Type: multipart/mixed\n\n--x\n\nhello\n--x--\n")
depth = []
for i in range(101):
    depth.append("Content-Type: multipart/mixed; boundary=\"d%d\"\n\n--d%d\n" % (i, i))
write("depth_limit", HEAD + "Subject: 101 nested multiparts\n" + "".join(depth) +
      "Content-Type: text/plain\n\ndeepest\n" +
      "".join("--d%d--\n" % i for i in range(100, -1, -1)))
parts = "".join("--many\n\n" for _ in range(10001))
write("too_many_parts",
      HEAD + "Subject: 10001 parts\nContent-Type: multipart/mixed; boundary=many\n\n" + parts +
      "--many--\n")

# ------------------------------------------------------------------ transfer decoding
QP_TEXT = ("Soft line breaks join th=\n"
           "is line, =3d and =3D are '=', invalid =ZZ and =4 stay,  \n"
           "trailing spaces go   \t\n"
           "caf=C3=A9 =\n"
           "end=\n")
write("quoted_printable",
      HEAD + "Subject: quoted-printable\nContent-Type: multipart/mixed; boundary=q\n\n"
      "--q\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: Quoted-Printable\n\n" +
      QP_TEXT +
      "--q\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: quoted-printable\n\n"
      "bin=00=FF=0D=0A=\nline2 =\t\nline3\n"
      "--q--\n")
intend("quoted_printable", "text", "1", normalise(
    "Soft line breaks join this line, = and = are '=', invalid =ZZ and =4 stay,\n"
    "trailing spaces go\ncafé end"))
DATA = blob("base64", 300)
enc = base64.b64encode(DATA).decode()
junk = enc[:40] + " \t*!" + enc[40:80] + "\x80~" + enc[80:]
write("base64_junk",
      HEAD + "Subject: base64\nContent-Type: multipart/mixed; boundary=b\n\n"
      "--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: BASE64\n\n" +
      "\n".join(junk[i:i + 60] for i in range(0, len(junk), 60)) + "\n"
      "--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
      "YQ==YWI=\nYWJj\n=YWJjZA\n"
      "--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
      "YWJjZ\n"
      "--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: x-uuencode\n\n"
      "begin 644 a.txt\n#86)C\n`\nend\n"
      "--b--\n")

# ------------------------------------------------------------------ RFC 2231, dispositions
KO_NAME = "한국어 문서 (최종).pdf".encode("cp949")
write("rfc2231_parameters",
      HEAD + "Subject: RFC 2231\nContent-Type: multipart/mixed; boundary=c\n\n"
      "--c\nContent-Type: application/pdf; name=\"ignored.pdf\"\n"
      "Content-Disposition: attachment;\n"
      " filename*0*=ks_c_5601-1987'ko'" + pct(KO_NAME[:8]) + ";\n"
      " filename*1*=" + pct(KO_NAME[8:11]) + ";\n"
      " filename*2=\" (\";\n"
      " filename*3*=" + pct(KO_NAME[13:]) + "; filename*5=gap;\n"
      " filename=\"plain.pdf\"\n\nx\n"
      "--c\nContent-Type: application/pdf;\n name*=UTF-8''%C3%BCber%20alles.pdf; name=plain.pdf\n\ny\n"
      "--c\nContent-Type: application/pdf\n"
      "Content-Disposition: attachment; filename*=x-unknown''%C3%A9t%E9.pdf\n\nz\n"
      "--c\nContent-Type: application/pdf; name*0=\"a \"; name*1=\"=?utf-8?q?b=C3=A9?=\"; "
      "name*2=.pdf\n\nw\n"
      "--c--\n")
intend("rfc2231_parameters", "filename", "1", "한국어 문서 (최종).pdf")
intend("rfc2231_parameters", "filename", "2", "über alles.pdf")
intend("rfc2231_parameters", "filename", "3", "Ã©té.pdf")
intend("rfc2231_parameters", "filename", "4", "a bé.pdf")
write("dispositions",
      HEAD + "Subject: dispositions\nContent-Type: multipart/mixed; boundary=x\n\n"
      "--x\nContent-Type: text/plain\nContent-Disposition: INLINE\n\ninline text\n"
      "--x\nContent-Type: text/plain\nContent-Disposition: attachment\n\nattached text\n"
      "--x\nContent-Type: text/plain\nContent-Disposition: form-data; name=f\n\nunknown type\n"
      "--x\nContent-Type: text/plain\nContent-Disposition: filename=\"no-type.txt\"\n\nno type\n"
      "--x\nContent-Type: text/plain\nContent-Disposition:\n\nempty\n"
      "--x\nContent-Type: text/plain; name=\"named.txt\"\n\nnamed text\n"
      "--x--\n")

# ------------------------------------------------------------------ text decoding
write("text_charsets",
      HEAD + "Subject: text charsets\nContent-Type: multipart/mixed; boundary=t\n\n"
      "--t\nContent-Type: text/plain; charset=utf-8\n\n\xef\xbb\xbfBOM dropped\n"
      "--t\nContent-Type: text/plain; charset=utf-16le\nContent-Transfer-Encoding: base64\n\n" +
      b64(b"\xff\xfe" + "UTF-16LE ☃\r\nline 2\r\n".encode("utf-16-le")) +
      "--t\nContent-Type: text/plain; charset=latin1\n\ncaf\xe9 \x80\n"
      "--t\nContent-Type: text/plain; charset=utf-8\n\nmalformed \xc3\x28 \xed\xa0\x80 end\n"
      "--t\nContent-Type: text/html; charset=windows-1251\n\n\xcf\xf0\xe8\xe2\xe5\xf2\r\rCR\n"
      "--t\nContent-Type: text/plain; charset=utf-8\n\nnul\x00byte\n"
      "--t--\n")
intend("text_charsets", "text", "1", "BOM dropped\n")
intend("text_charsets", "text", "2", "UTF-16LE ☃\nline 2\n")
intend("text_charsets", "text", "3", "café €\n")
intend("text_charsets", "text", "4", "malformed \ufffd( \ufffd\ufffd\ufffd end\n")
intend("text_charsets", "text", "5", "Привет\n\nCR\n")
intend("text_charsets", "text", "6", "nul\x00byte\n")

with open(os.path.join(HERE, "intended.tsv"), "w", encoding="ascii", newline="\n") as f:
    f.write("# <case>\t<header|text|filename>\t<header name or part position>\t"
            "<hex of the UTF-8 text>; written by make.py\n")
    for line in INTENDED:
        f.write(line + "\n")
