#!/usr/bin/env python3
"""Cross-implementation check of notary-witness's cosignatures (c2sp.org/tlog-cosignature).

Everything the witness is checked against is computed here, independently of the C++ code,
with Python's `cryptography` package (Debian: python3-cryptography):

  * the log: an Ed25519 key, an RFC 6962 tree root, a C2SP checkpoint, its signed note and
    the log's verifier key (type 0x01);
  * from `notary-witness --print-vkey`: the cosigner key ID, recomputed as
    SHA-256(name || 0x0A || 0x04 || public key)[:4];
  * from the running witness's answer: the cosignature line, whose Ed25519 signature must
    verify over "cosignature/v1\\ntime <T>\\n" || checkpoint text.

Usage: cosignature_check.py NOTARY_WITNESS_BINARY TMP_BASE_DIR      (exit 0: all good)
"""
import base64
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

EM_DASH = "\u2014"
WITNESS_NAME = "witness.test/py"
ORIGIN = "example.com/py-log"


def fail(why):
    print("cosignature_check: FAIL: " + why)
    sys.exit(1)


def key_id(name, key_type, pub):
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + pub).digest()[:4]


def raw_public(key):
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)


def rfc6962_root(leaves):
    """RFC 6962 section 2.1 MTH over the leaf data."""
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + rfc6962_root(leaves[:k]) + rfc6962_root(leaves[k:])).digest()


def post(port, body):
    req = urllib.request.Request("http://127.0.0.1:%d/add-checkpoint" % port,
                                 data=body.encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def check_cosignature(line, text, vkey_name, vkey_id, witness_pub):
    prefix = EM_DASH + " " + vkey_name + " "
    if not line.startswith(prefix):
        fail("not a cosignature line by the witness: %r" % line)
    blob = base64.b64decode(line[len(prefix):], validate=True)
    if len(blob) != 4 + 8 + 64:
        fail("cosignature is %d bytes, want 76" % len(blob))
    if blob[:4] != vkey_id:
        fail("cosignature key ID differs from the vkey's")
    (timestamp,) = struct.unpack(">Q", blob[4:12])
    if abs(timestamp - time.time()) > 300:
        fail("cosignature time %d is not now" % timestamp)
    message = ("cosignature/v1\ntime %d\n" % timestamp).encode() + text.encode()
    try:
        Ed25519PublicKey.from_public_bytes(witness_pub).verify(blob[12:], message)
    except InvalidSignature:
        fail("the cosignature does not verify")
    try:  # and the check can fail: one more byte of text
        Ed25519PublicKey.from_public_bytes(witness_pub).verify(blob[12:], message + b"x")
        fail("a cosignature verified over the wrong message")
    except InvalidSignature:
        pass
    return timestamp


def main():
    if len(sys.argv) != 3:
        fail("usage: cosignature_check.py NOTARY_WITNESS TMP_BASE")
    binary, tmp_base = sys.argv[1], sys.argv[2]
    os.makedirs(tmp_base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="witness_py_", dir=tmp_base)
    data = os.path.join(work, "data")
    child = None
    try:
        # The witness's verifier key, and its key ID recomputed here.
        out = subprocess.run([binary, "--data-dir", data, "--name", WITNESS_NAME, "--print-vkey"],
                             check=True, capture_output=True, text=True, timeout=60).stdout
        vkey = out.strip()
        name, hex_id, b64_key = vkey.split("+", 2)
        raw = base64.b64decode(b64_key, validate=True)
        if name != WITNESS_NAME or len(raw) != 33 or raw[0] != 0x04:
            fail("--print-vkey printed %r: not a type 0x04 key named %s" % (vkey, WITNESS_NAME))
        witness_pub = raw[1:]
        vkey_id = key_id(name, 0x04, witness_pub)
        if vkey_id.hex() != hex_id:
            fail("key ID %s in the vkey, %s recomputed" % (hex_id, vkey_id.hex()))

        # The log, all of it computed here.
        log_key = Ed25519PrivateKey.generate()
        log_pub = raw_public(log_key)
        log_id = key_id(ORIGIN, 0x01, log_pub)
        log_vkey = "%s+%s+%s" % (ORIGIN, log_id.hex(),
                                 base64.b64encode(b"\x01" + log_pub).decode())
        leaves = [b"leaf %d" % i for i in range(5)]
        text = "%s\n%d\n%s\n" % (ORIGIN, len(leaves),
                                 base64.b64encode(rfc6962_root(leaves)).decode())
        signature = log_key.sign(text.encode())
        note = text + "\n" + EM_DASH + " " + ORIGIN + " " + \
            base64.b64encode(log_id + signature).decode() + "\n"

        child = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--data-dir", data, "--name", WITNESS_NAME,
             "--log", ORIGIN + "=" + log_vkey],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        for line in child.stderr:  # its readiness line; ctest's timeout bounds the wait
            if "event=listening" in line:
                port = int(line.split("addr=127.0.0.1:")[1].split()[0])
                break
        if port is None:
            fail("the witness exited before listening")

        status, _, body = post(port, "old 0\n\n" + note)
        if status != 200:
            fail("first checkpoint: %d %s" % (status, body))
        lines = body.splitlines(keepends=True)
        if not lines or any(not l.endswith("\n") for l in lines):
            fail("response is not signature lines: %r" % body)
        for l in lines:
            check_cosignature(l.rstrip("\n"), text, name, vkey_id, witness_pub)

        # The same checkpoint again (old == size, same root): cosigned again.
        status, _, body = post(port, "old 5\n\n" + note)
        if status != 200:
            fail("same checkpoint again: %d %s" % (status, body))
        check_cosignature(body.splitlines()[0], text, name, vkey_id, witness_pub)
        # A stale old size: 409 with the stored size, as text/x.tlog.size.
        status, ctype, body = post(port, "old 0\n\n" + note)
        if status != 409 or body != "5\n" or not (ctype or "").startswith("text/x.tlog.size"):
            fail("stale old size: %d %r %r" % (status, ctype, body))
        print("cosignature_check: OK (witness %s, key ID %s, log %s)" % (name, hex_id, ORIGIN))
    finally:
        if child is not None:
            child.terminate()
            rest = child.stderr.read()  # to its exit: a sanitizer build reports here
            child.wait(timeout=30)
            if "Sanitizer" in rest or "runtime error:" in rest:
                print(rest)
                sys.exit(1)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
