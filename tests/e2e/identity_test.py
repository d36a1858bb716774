#!/usr/bin/python3
"""e2e_identity: certificate checks, rotation and the audit log (issue 7).

- revoked, expired, not-yet-valid, wrong-CA, wrong-key-usage and missing
  client certificates are refused with UNAUTHENTICATED, before any record
  is touched, and both the client and the server log see the reason;
- SIGHUP with a new server certificate and a new CRL while calls run: no
  call fails, new connections get the new certificate, the newly revoked
  certificate is refused (on an old connection too);
- an auditor reads no records but lists and verifies the audit log; an
  admin also sees the refused calls; the CLI's `audit verify` says OK.

Run with Debian's /usr/bin/python3:

  tests/e2e/identity_test.py --xunchad build/server/xunchad \
      --certs certs/xuncha-certs --xuncha build/client/xuncha

Exits 0 when every check passed, 1 otherwise.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import grpc
from xc_checks import CALL_TIMEOUT, START_TIMEOUT, Checks

LIST_TARGETS = "/xuncha.v1.Targets/ListTargets"
GET_TARGET = "/xuncha.v1.Targets/GetTarget"
CREATE_TARGET = "/xuncha.v1.Targets/CreateTarget"


class Server:
    def __init__(self, binary, tmp, argv):
        self.log_path = os.path.join(tmp, "xunchad.log")
        self.port_file = os.path.join(tmp, "xunchad.port")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary] + argv + ["--port-file", self.port_file],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=tmp)
        deadline = time.monotonic() + START_TIMEOUT
        self.port = None
        while time.monotonic() < deadline and self.port is None:
            if self.proc.poll() is not None:
                raise RuntimeError("xunchad exited:\n" + self.read_log())
            try:
                with open(self.port_file) as f:
                    m = re.search(r"^(\d+)\n$", f.read())
                    if m:
                        self.port = int(m.group(1))
            except FileNotFoundError:
                pass
            time.sleep(0.01)
        if self.port is None:
            self.stop()
            raise RuntimeError("no port file:\n" + self.read_log())

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.read_log(), re.M):
                return True
            time.sleep(0.02)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()
        return self.proc.returncode


def read(path):
    with open(path, "rb") as f:
        return f.read()


def channel(port, d, who, separate=True):
    """A channel with d/who.pem (who=None: no client certificate). Each
    channel gets its own connection unless separate is False."""
    kw = {}
    if who is not None:
        kw = dict(private_key=read(os.path.join(d, who + ".key")),
                  certificate_chain=read(os.path.join(d, who + ".pem")))
    creds = grpc.ssl_channel_credentials(root_certificates=read(os.path.join(d, "ca.pem")), **kw)
    opts = [("grpc.use_local_subchannel_pool", 1)] if separate else []
    return grpc.secure_channel("127.0.0.1:%d" % port, creds, options=opts)


def call(ch, method, payload=b""):
    """Returns (code, details, reply bytes)."""
    f = ch.unary_unary(method)
    try:
        r = f(payload, timeout=CALL_TIMEOUT)
        return grpc.StatusCode.OK, "", r
    except grpc.RpcError as e:
        return e.code(), e.details() or "", b""


def pb_str(field, s):
    b = s.encode()
    return bytes([field << 3 | 2, len(b)]) + b


def certs(tool, *args):
    p = subprocess.run([tool] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("xuncha-certs %s: %s" % (" ".join(args), p.stderr.decode()))


def serial_of(pem_path):
    p = subprocess.run(["openssl", "x509", "-in", pem_path, "-noout", "-serial"],
                       stdout=subprocess.PIPE, check=True)
    return p.stdout.decode().strip().split("=")[1].upper()


def served_serial(port, d):
    """The serial of the certificate the server presents to a new connection."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-cert", os.path.join(d, "city.pem"), "-key", os.path.join(d, "city.key"),
                        "-CAfile", os.path.join(d, "ca.pem")],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=20)
    m = re.search(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", p.stdout, re.S)
    if not m:
        return None
    q = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=m.group(0),
                       stdout=subprocess.PIPE, check=True)
    return q.stdout.decode().strip().split("=")[1].upper()


def refusals(c, srv, d):
    print("refused certificates:")
    cases = [
        ("revoked", "revoked", "has been revoked"),
        ("expired", "expired", "has expired: it was valid until 2021-01-01"),
        ("not yet valid", "future", "is not yet valid: it is valid from 2040-01-01"),
        ("another CA", "wrongca", "is not signed by this server's CA"),
        ("server-only key usage", "badusage", "is not for client use"),
        ("no certificate", None, "no client certificate was presented"),
    ]
    for what, who, reason in cases:
        with channel(srv.port, d, who) as ch:
            code, details, _ = call(ch, LIST_TARGETS)
            c.ok(code == grpc.StatusCode.UNAUTHENTICATED and reason in details,
                 "%s: UNAUTHENTICATED with the reason for the client (%s: %s)"
                 % (what, code, details))
            # A write is refused too, before it could touch anything.
            code, _, _ = call(ch, CREATE_TARGET, pb_str(1, "x"))
            c.ok(code == grpc.StatusCode.UNAUTHENTICATED, "%s: a create is refused" % what)
            code, details, _ = call(ch, "/grpc.health.v1.Health/Check")
            c.ok(code == grpc.StatusCode.UNAUTHENTICATED,
                 "%s: health checks need a valid certificate too" % what)
        c.ok(srv.wait_log(r"status=UNAUTHENTICATED .*%s" % re.escape(reason)),
             "%s: the server log names the reason" % what)
    with channel(srv.port, d, "city") as ch:
        code, details, _ = call(ch, LIST_TARGETS)
        c.ok(code == grpc.StatusCode.OK, "a valid certificate works (%s %s)" % (code, details))
    c.ok(srv.read_log().count("CreateTarget status=OK") == 0, "no refused create was stored")


def rotation(c, srv, d, tool):
    print("SIGHUP rotation:")
    old_serial = served_serial(srv.port, d)
    c.ok(old_serial == serial_of(os.path.join(d, "server.pem")),
         "the server presents server.pem (%s)" % old_serial)
    stop = threading.Event()
    results = {"ok": 0, "bad": []}

    def loop():
        # Calls on one long-lived connection, and a new connection now and
        # then: none may fail across the reload.
        with channel(srv.port, d, "city") as ch:
            i = 0
            while not stop.is_set() and i < 100000:
                i += 1
                if i % 25 == 0:
                    with channel(srv.port, d, "city") as fresh:
                        code, details, _ = call(fresh, LIST_TARGETS)
                else:
                    code, details, _ = call(ch, LIST_TARGETS)
                if code == grpc.StatusCode.OK:
                    results["ok"] += 1
                else:
                    results["bad"].append("%s %s" % (code, details))
    t = threading.Thread(target=loop)
    t.start()
    # county-a's connection exists before the reload.
    old_ch = channel(srv.port, d, "county-a")
    code, _, _ = call(old_ch, LIST_TARGETS)
    c.ok(code == grpc.StatusCode.OK, "county-a works before its revocation")
    time.sleep(0.3)
    # New server certificate (same names), put in place by rename; a new CRL.
    certs(tool, "server", d, "--out", "server-new")
    new_serial = serial_of(os.path.join(d, "server-new.pem"))
    os.rename(os.path.join(d, "server-new.key"), os.path.join(d, "server.key"))
    os.rename(os.path.join(d, "server-new.pem"), os.path.join(d, "server.pem"))
    certs(tool, "revoke", d, "--cert", os.path.join(d, "county-a.pem"))
    srv.proc.send_signal(signal.SIGHUP)
    c.ok(srv.wait_log(r"SIGHUP: reloaded the certificate"), "the server logs the reload")
    time.sleep(0.5)
    stop.set()
    t.join(timeout=60)
    c.ok(results["ok"] > 20 and not results["bad"],
         "no call failed across the reload (%d ok, failures: %s)"
         % (results["ok"], results["bad"][:3]))
    c.ok(served_serial(srv.port, d) == new_serial,
         "new connections get the new server certificate (%s)" % new_serial)
    code, details, _ = call(old_ch, LIST_TARGETS)
    c.ok(code == grpc.StatusCode.UNAUTHENTICATED and "has been revoked" in details,
         "the newly revoked certificate is refused on its old connection (%s)" % details)
    old_ch.close()
    with channel(srv.port, d, "county-a") as ch:
        code, details, _ = call(ch, LIST_TARGETS)
        c.ok(code == grpc.StatusCode.UNAUTHENTICATED and "has been revoked" in details,
             "and on a new connection")
    with channel(srv.port, d, "city") as ch:
        code, _, _ = call(ch, LIST_TARGETS)
        c.ok(code == grpc.StatusCode.OK, "other certificates still work")


def run_cli(xuncha, srv, d, who, *args):
    argv = [xuncha, "--server", "127.0.0.1:%d" % srv.port, "--ca", os.path.join(d, "ca.pem"),
            "--cert", os.path.join(d, who + ".pem"), "--key", os.path.join(d, who + ".key")]
    return subprocess.run(argv + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60)


def auditing(c, srv, d, xuncha):
    print("auditor and audit log:")
    p = run_cli(xuncha, srv, d, "city", "target", "create", "--region", "310101",
                "--name", "甲单位", "--kind", "区县直单位")
    m = re.search(r"t_[0-9A-Z]{26}", p.stdout.decode())
    c.ok(p.returncode == 0 and m is not None, "an office creates a target (%s)"
         % p.stderr.decode().strip())
    tid = m.group(0) if m else "t_01M8CWBJ2CHPNF8P6JF4RH35KD"
    with channel(srv.port, d, "auditor") as ch:
        code, _, _ = call(ch, GET_TARGET, pb_str(1, tid))
        c.ok(code == grpc.StatusCode.PERMISSION_DENIED, "an auditor may not read a record (%s)"
             % code)
        code, _, reply = call(ch, LIST_TARGETS)
        c.ok(code == grpc.StatusCode.OK and reply == b"", "an auditor lists no records")
    p = run_cli(xuncha, srv, d, "auditor", "audit", "list", "--all")
    out = p.stdout.decode()
    c.ok(p.returncode == 0 and "office:3101\t" in out and LIST_TARGETS in out,
         "an auditor lists the audit log (exit %d, %d lines)" % (p.returncode, out.count("\n")))
    c.ok("\t-\t-\t" not in out, "an auditor does not see calls without a certificate")
    rs = serial_of(os.path.join(d, "revoked.pem"))
    c.ok(re.search(r"\toffice:3101\t%s\t\S+\tUNAUTHENTICATED" % rs, out) is not None,
         "the revoked certificate's refused calls are in the log with its serial")
    p = run_cli(xuncha, srv, d, "auditor", "audit", "list", "--office", "office:3101",
                "--method", "ListTargets")
    lines = [l for l in p.stdout.decode().splitlines()[1:] if not l.startswith("#")]
    c.ok(p.returncode == 0 and lines and all("\toffice:3101\t" in l and "ListTargets" in l
                                             for l in lines),
         "audit list filters by office and method (%d entries)" % len(lines))
    p = run_cli(xuncha, srv, d, "admin", "audit", "list", "--all")
    out = p.stdout.decode()
    c.ok(p.returncode == 0 and re.search(r"\t-\t-\t\S+\tUNAUTHENTICATED", out) is not None,
         "an admin sees the refused calls")
    p = run_cli(xuncha, srv, d, "auditor", "audit", "list", "--record", tid)
    out = p.stdout.decode()
    c.ok(p.returncode == 0 and "/xuncha.v1.Targets/CreateTarget\tOK\t" + tid in out,
         "the create's entry names the new record, found by --record")
    p = run_cli(xuncha, srv, d, "auditor", "audit", "verify")
    c.ok(p.returncode == 0 and p.stdout.decode().startswith("OK:"),
         "audit verify: %s%s" % (p.stdout.decode().strip(), p.stderr.decode().strip()))
    p = run_cli(xuncha, srv, d, "city", "audit", "verify")
    c.ok(p.returncode == 4, "an office may not read the audit log (exit %d)" % p.returncode)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xunchad", required=True)
    ap.add_argument("--certs", required=True)
    ap.add_argument("--xuncha", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="xc-identity-")
    c = Checks()
    srv = None
    try:
        d = os.path.join(tmp, "certs")
        tool = args.certs
        certs(tool, "dev", d)
        certs(tool, "client", d, "--cn", "admin:3101", "--out", "admin")
        certs(tool, "client", d, "--cn", "office:3101", "--out", "revoked")
        certs(tool, "revoke", d, "--cert", os.path.join(d, "revoked.pem"))
        certs(tool, "client", d, "--cn", "office:3101", "--out", "expired",
              "--valid-from", "20200101000000Z", "--valid-until", "20210101000000Z")
        certs(tool, "client", d, "--cn", "office:3101", "--out", "future",
              "--valid-from", "20400101000000Z", "--valid-until", "20410101000000Z")
        certs(tool, "server", d, "--out", "badusage")
        other = os.path.join(tmp, "other")
        certs(tool, "ca", other, "--name", "other CA")
        certs(tool, "client", other, "--cn", "office:3101", "--out", "wrongca")
        for ext in ("pem", "key"):
            shutil.copy(os.path.join(other, "wrongca." + ext), d)
        srv = Server(args.xunchad, tmp,
                     ["--data", os.path.join(tmp, "data"), "--listen", "127.0.0.1:0",
                      "--cert", os.path.join(d, "server.pem"),
                      "--key", os.path.join(d, "server.key"), "--ca", os.path.join(d, "ca.pem"),
                      "--crl", os.path.join(d, "crl.pem"), "--audit-hash", "sm3",
                      "--audit-checkpoint-file", os.path.join(tmp, "checkpoints")])
        refusals(c, srv, d)
        rotation(c, srv, d, tool)
        auditing(c, srv, d, args.xuncha)
        c.ok(srv.stop() == 0, "the server stops cleanly")
        with open(os.path.join(tmp, "checkpoints")) as f:
            c.ok(f.read().startswith("xuncha-audit-ckpt v1 kind=1"),
                 "signed checkpoints are appended to the checkpoint file")
    except Exception:
        traceback.print_exc()
        c.failed.append("exception")
    finally:
        if srv is not None and srv.proc.poll() is None:
            srv.stop()
        if c.failed and srv is not None:
            print("---- server log (tail) ----")
            print("\n".join(srv.read_log().splitlines()[-40:]))
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (c.passed, len(c.failed)))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
