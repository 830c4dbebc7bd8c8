# One message after another through an SMTP server, until the file STOP exists; a line per
# attempt in LOG: "N ok TIME ID" for a 250 (ID: the receipt id in the reply), "N temp TIME CODE"
# for a 4xx, "N bad TIME ..." for anything else. TIME: when the attempt began (epoch seconds).
# Used by tests/ha/failover_test.sh and bench/ha_ingest.sh.
#   python3 smtp_sender.py HOST PORT LOG STOP
import os, re, smtplib, sys, time
host, port, log, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
n = 0
with open(log, "a", buffering=1) as out:
    while not os.path.exists(stop):
        n += 1
        msg = (f"From: a@example.com\r\nTo: b@example.org\r\nSubject: failover {n}\r\n\r\n"
               f"message {n}\r\n").encode()
        now = time.clock_gettime(time.CLOCK_REALTIME)
        try:
            with smtplib.SMTP(host, port, timeout=60) as s:
                code, resp = s.ehlo()
                if code == 250:
                    code, resp = s.mail("a@example.com")
                if code == 250:
                    code, resp = s.rcpt("b@example.org")
                if code == 250:
                    code, resp = s.data(msg)
        except (OSError, smtplib.SMTPException) as e:
            out.write(f"{n} bad {now:.3f} {type(e).__name__}: {e}\n")
            continue
        if code == 250:
            m = re.search(rb"id=([0-9a-f-]{36})", resp)
            out.write(f"{n} ok {now:.3f} {m.group(1).decode() if m else '?'}\n")
        elif 400 <= code < 500:
            out.write(f"{n} temp {now:.3f} {code}\n")
        else:
            out.write(f"{n} bad {now:.3f} {code} {resp!r}\n")
