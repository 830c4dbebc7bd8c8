#!/usr/bin/env python3
"""A tiny external RFC 3161 Time-Stamp Authority for integration tests.

NAME
    tsa_server.py - `openssl ts -reply` behind a loopback HTTP server

SYNOPSIS
    tsa_server.py PORT DIR

DESCRIPTION
    Listens on 127.0.0.1:PORT (0 picks a free port). A POST with
    Content-Type: application/timestamp-query is answered with the output of
    `openssl ts -reply` as application/timestamp-reply; any other content type, or a body
    that openssl cannot read, gets 400. GET /ca.pem and GET /chain.pem serve the CA and the
    TSA certificate.

    On the first start it creates, in DIR, an RSA-2048 CA (ca.pem, ca.key), a TSA
    certificate with the critical extendedKeyUsage timeStamping (tsa.pem, tsa.key), a serial
    file and an openssl.cnf whose [tsa] section configures the reply (SHA-256/384/512,
    policy 1.2.3.4.1, accuracy 1 s, ESSCertIDv2 over SHA-256, TSA name). Later starts reuse
    them, so tokens stay verifiable across restarts.

    Once listening it prints, one per line and flushed:
        ca=<DIR>/ca.pem
        chain=<DIR>/tsa.pem
        port=<port>
    Requests are served one at a time (the serial file is not shared between writers).
    Stop it with SIGTERM or SIGINT.
"""

import http.server
import os
import signal
import subprocess
import sys
import tempfile

MAX_QUERY_BYTES = 64 * 1024
POLICY = "1.2.3.4.1"

EXTENSIONS = """\
[tsa_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

TSA_CONFIG = """\
[tsa]
default_tsa = tsa_config

[tsa_config]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = {policy}
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 0
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def ensure_ca(directory):
    """Creates the CA, the TSA certificate and the configuration unless present."""
    os.makedirs(directory, exist_ok=True)
    p = lambda name: os.path.join(directory, name)
    if not os.path.exists(p("openssl.cnf")):
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "3650",
            "-subj", "/CN=Test External TSA Root",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        run("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes",
            "-keyout", p("tsa.key"), "-out", p("tsa.csr"), "-subj", "/CN=Test External TSA")
        with open(p("ext.cnf"), "w") as f:
            f.write(EXTENSIONS)
        run("openssl", "x509", "-req", "-in", p("tsa.csr"), "-CA", p("ca.pem"),
            "-CAkey", p("ca.key"), "-set_serial", "0x" + os.urandom(16).hex(),
            "-days", "3650", "-extfile", p("ext.cnf"), "-extensions", "tsa_ext",
            "-out", p("tsa.pem"))
        os.chmod(p("ca.key"), 0o600)
        os.chmod(p("tsa.key"), 0o600)
        with open(p("serial"), "w") as f:
            f.write("01\n")
        # Written last: its presence means the directory is complete.
        with open(p("openssl.cnf"), "w") as f:
            f.write(TSA_CONFIG.format(dir=directory, policy=POLICY))
    return p("ca.pem"), p("tsa.pem"), p("openssl.cnf")


def make_handler(directory, config):
    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, code, content_type, body):
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            files = {"/ca.pem": "ca.pem", "/chain.pem": "tsa.pem"}
            if self.path not in files:
                self._send(404, "text/plain", b"not found\n")
                return
            with open(os.path.join(directory, files[self.path]), "rb") as f:
                self._send(200, "application/x-pem-file", f.read())

        def do_POST(self):
            content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            length = int(self.headers.get("Content-Length", "0") or 0)
            if content_type != "application/timestamp-query" or not 0 < length <= MAX_QUERY_BYTES:
                self._send(400, "text/plain", b"expected application/timestamp-query\n")
                return
            query = self.rfile.read(length)
            with tempfile.TemporaryDirectory(dir=directory) as tmp:
                query_path = os.path.join(tmp, "q.tsq")
                reply_path = os.path.join(tmp, "r.tsr")
                with open(query_path, "wb") as f:
                    f.write(query)
                result = subprocess.run(
                    ["openssl", "ts", "-reply", "-config", config, "-queryfile", query_path,
                     "-out", reply_path],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                if result.returncode != 0 or not os.path.exists(reply_path):
                    self._send(400, "text/plain", b"unreadable time-stamp query\n")
                    return
                with open(reply_path, "rb") as f:
                    self._send(200, "application/timestamp-reply", f.read())

        def log_message(self, fmt, *args):
            sys.stderr.write("tsa_server: " + (fmt % args) + "\n")

    return Handler


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: tsa_server.py PORT DIR\n")
        return 2
    port = int(sys.argv[1])
    directory = os.path.abspath(sys.argv[2])
    ca, chain, config = ensure_ca(directory)
    server = http.server.HTTPServer(("127.0.0.1", port), make_handler(directory, config))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ca=" + ca)
    print("chain=" + chain)
    print("port=%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
