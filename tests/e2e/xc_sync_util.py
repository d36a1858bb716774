"""Shared by the federation tests (sync_test.py, sync_faults_test.py).

Servers of a city, county and township, each an xunchad child on 127.0.0.1
with its own data directory, started again on the same data after a stop or
a kill -9; certificates from certs/xuncha-certs; the Python messages of
xuncha.proto and sync.proto generated at test time; calls by method path;
whole listings; the xuncha CLI; the command line both tests take.
"""
import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time

import grpc
from xc_checks import CALL_TIMEOUT, compile_protos, stop_process, tls_channel, wait_port

# The homes map every server of the tests shares (--homes): server name =
# region. Offices without an entry (township 110105002, county 110106) are at
# home on the server of the longest prefix.
HOMES = {"city-1101": "1101", "county-110105": "110105", "township-110105001": "110105001"}

# Client certificates: file name -> CN.
CLIENTS = {
    "city": "office:1101",
    "county": "office:110105",
    "township": "office:110105001",
    "county-other": "office:110106",
    "jw-city": "agency:1101:jw",
    "jw-county": "agency:110105:jw",
    "admin-city": "admin:1101",
    "admin-county": "admin:110105",
}


def parse_args(description):
    """Reads the command line of a federation test; None (with a FAIL line) if unusable."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--xunchad", required=True)
    ap.add_argument("--xuncha", required=True)
    ap.add_argument("--certs", required=True, help="path of certs/xuncha-certs")
    ap.add_argument("--proto-dir", required=True)
    ap.add_argument("--protoc", default="protoc")
    args = ap.parse_args()
    # The servers run in their own directories: make every path absolute.
    for name in ("xunchad", "xuncha", "certs", "proto_dir"):
        if getattr(args, name):
            setattr(args, name, os.path.abspath(getattr(args, name)))
    for what, path in (("--xunchad", args.xunchad), ("--xuncha", args.xuncha)):
        if not path or not os.access(path, os.X_OK):
            print("FAIL: %s %r is not an executable" % (what, path))
            return None
    if not args.protoc or shutil.which(args.protoc) is None:
        print("FAIL: protoc not found (%r)" % args.protoc)
        return None
    return args


def generate(protoc, proto_dir, out):
    """Compiles xuncha.proto and sync.proto into out; returns (pb, spb)."""
    pb, spb = compile_protos(protoc, proto_dir, out, ("xuncha.proto", "sync.proto"))
    return pb, spb


def make_certs(certs_tool, certdir):
    """The CA, one server certificate per server and every client of CLIENTS."""
    def tool(*args):
        subprocess.run(["/bin/bash", certs_tool] + list(args), check=True, timeout=60,
                       stdout=subprocess.DEVNULL)
    tool("ca", certdir)
    for name in HOMES:
        tool("server", certdir, "--out", name)
    for name, cn in CLIENTS.items():
        tool("client", certdir, "--cn", cn, "--out", name)


def write_homes(path):
    with open(path, "w") as f:
        f.write("# name = region (the same file on every server)\n")
        for name, region in HOMES.items():
            f.write("%s = %s\n" % (name, region))


class FederationMissing(RuntimeError):
    """xunchad refused the federation settings: the server side is absent."""


class Server:
    """One xunchad on 127.0.0.1 (port 0, read from --port-file) with its own
    data directory; start() again after stop() or kill() reopens the same
    data (the port may change)."""

    def __init__(self, binary, tmp, certdir, name, homes, upstream=None, upstream_cert=None,
                 interval=3600, batch=None, extra=()):
        self.binary = binary
        self.name = name
        self.dir = os.path.join(tmp, name)
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data, exist_ok=True)
        self.certdir = certdir
        self.homes = homes
        self.upstream = upstream  # "HOST:PORT" or a callable giving one
        self.upstream_cert = upstream_cert
        self.interval = interval
        self.batch = batch
        self.extra = list(extra)
        self.proc = None
        self.port = None
        self.log = None
        self.starts = 0
        self.log_path = os.path.join(self.dir, "xunchad.log")
        self.port_file = os.path.join(self.dir, "xunchad.port")

    def argv(self):
        c = self.certdir
        a = [self.binary, "--listen", "127.0.0.1:0", "--port-file", self.port_file,
             "--data", self.data,
             "--cert", os.path.join(c, self.name + ".pem"),
             "--key", os.path.join(c, self.name + ".key"),
             "--ca", os.path.join(c, "ca.pem"),
             "--server-name", self.name, "--homes", self.homes,
             "--sync-interval", str(self.interval)]
        if self.batch is not None:
            a += ["--sync-batch", str(self.batch)]
        if self.upstream is not None:
            up = self.upstream() if callable(self.upstream) else self.upstream
            a += ["--upstream", up,
                  "--upstream-cert", os.path.join(c, self.upstream_cert + ".pem"),
                  "--upstream-key", os.path.join(c, self.upstream_cert + ".key"),
                  "--upstream-ca", os.path.join(c, "ca.pem")]
        return a + self.extra

    def start(self):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.log = open(self.log_path, "ab")
        self.log.write(b"=== start %d ===\n" % self.starts)
        self.log.flush()
        self.starts += 1
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        self.port = self._wait_port()
        return self

    def _wait_port(self):
        port = wait_port(self.proc, self.port_file)
        if port is not None:
            return port
        if self.proc.poll() is not None:
            log = self.read_log()
            tail = log[log.rfind("=== start"):]
            if re.search(r"server-name|homes|upstream|sync-interval|sync-batch", tail):
                raise FederationMissing(
                    "%s: xunchad refused the federation settings (--server-name, --homes, "
                    "--upstream, --sync-interval ...); is the server side of issue 5 in "
                    "this build? It said:\n%s" % (self.name, tail[-2000:]))
            raise RuntimeError("%s: xunchad exited with %s before listening:\n%s"
                               % (self.name, self.proc.returncode, tail[-4000:]))
        self.kill()
        raise RuntimeError("%s: no port file within %.0f s:\n%s"
                           % (self.name, START_TIMEOUT, self.read_log()[-4000:]))

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _closed(self):
        if self.log is not None:
            self.log.close()
            self.log = None

    def kill(self):
        """kill -9, as a crash."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._closed()

    def stop(self):
        """SIGTERM, a bounded wait, then SIGKILL. Returns the exit code."""
        code = stop_process(self.proc) if self.proc is not None else None
        self._closed()
        return code


def channel(addr, certdir, who):
    # Each test channel its own connection, so closing one never disturbs
    # another (grpcio shares subchannels with identical arguments).
    return tls_channel(addr, certdir, who, options=[("grpc.use_local_subchannel_pool", 1)])


class Api:
    """Calls by method path on one channel (one certificate, one server)."""

    def __init__(self, addr, certdir, who, pb, spb):
        self.who = who
        self.ch = channel(addr, certdir, who)
        self.pb = pb
        self.spb = spb

    def close(self):
        self.ch.close()

    def call(self, service, method, req, resp_cls, timeout=CALL_TIMEOUT):
        stub = self.ch.unary_unary("/xuncha.v1.%s/%s" % (service, method),
                                   request_serializer=type(req).SerializeToString,
                                   response_deserializer=resp_cls.FromString)
        return stub(req, timeout=timeout)

    def x(self, service, method, req, resp_name, timeout=CALL_TIMEOUT):
        mod = self.spb if service == "Sync" else self.pb
        return self.call(service, method, req, getattr(mod, resp_name), timeout)

    def status(self, service, method, req, resp_name):
        """(code, details) of a call expected to fail; (OK, "") if it did not."""
        try:
            self.x(service, method, req, resp_name)
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as e:
            return e.code(), e.details() or ""

    def sync_status(self):
        return self.x("Sync", "GetSyncStatus", self.spb.SyncStatusRequest(), "SyncStatus")

    def upstream_peer(self):
        for p in self.sync_status().peers:
            if p.direction == "upstream":
                return p
        return None

    def list_all(self, kind, region_prefix="", include_void=True):
        """Every record of kind ("finding", "target", ...) the caller sees,
        following the pages."""
        plural = {"target": ("Targets", "ListTargets", "targets"),
                  "round": ("Rounds", "ListRounds", "rounds"),
                  "finding": ("Findings", "ListFindings", "findings"),
                  "lead": ("Leads", "ListLeads", "leads")}[kind]
        svc, method, field = plural
        req_cls = getattr(self.pb, method + "Request")
        out, token = [], ""
        for _ in range(100000):
            req = req_cls(page_size=1000, page_token=token, include_void=include_void)
            if region_prefix:
                req.region_prefix = region_prefix
            resp = self.x(svc, method, req, method + "Response", timeout=60)
            out.extend(getattr(resp, field))
            token = resp.next_page_token
            if not token:
                break
        return out


def digest(rec):
    """SHA-256 of the serialized record, hex."""
    return hashlib.sha256(rec.SerializeToString()).hexdigest()


def wait_until(pred, timeout, step=0.05):
    """Polls pred until it returns a true value or timeout seconds pass;
    returns the last value."""
    deadline = time.monotonic() + timeout
    v = pred()
    while not v and time.monotonic() < deadline:
        time.sleep(step)
        v = pred()
    return v


def cli(xuncha, certdir, server, who, *args, timeout=120, tty=False):
    """Runs the xuncha CLI as `who` against server; returns CompletedProcess."""
    env = dict(os.environ)
    env["HOME"] = "/nonexistent"
    env.pop("XUNCHA_CONFIG", None)
    argv = [xuncha, "--server", server.addr, "--ca", os.path.join(certdir, "ca.pem"),
            "--cert", os.path.join(certdir, who + ".pem"),
            "--key", os.path.join(certdir, who + ".key")] + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
