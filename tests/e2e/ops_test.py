#!/usr/bin/python3
"""e2e_ops: operating xunchad, checked with stock tools (Python grpcio).

- config file: every kind of error is refused at start with FILE:LINE and
  exit code 2; settings come from the file and flags override them;
- logs: one logfmt line per call with ts, level, req, peer, method, status,
  latency_us; an incoming x-request-id is used; SIGHUP re-reads the level;
- gRPC server reflection (v1 and v1alpha) as a stock client uses it: list
  the services, fetch the file defining a message and resolve the message
  type by name from what came back;
- xuncha.v1.Admin/GetStats counts calls; who may call it;
- grpc.health.v1.Health/Watch sees SERVING, then NOT_SERVING on SIGTERM.

Run with Debian's /usr/bin/python3:

  tests/e2e/ops_test.py --xunchad build/server/xunchad --certs certs/xuncha-certs \
      --proto-dir proto [--protoc protoc] [--grpc-proto /usr/share/grpc-proto]

Exits 0 when every check passed, 1 otherwise.
"""
import argparse
import importlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import grpc
from xc_checks import CALL_TIMEOUT, START_TIMEOUT, run_on_terminal, run_suite, stop_process, \
    tls_channel, wait_port
from google.protobuf import descriptor_pb2, descriptor_pool


def generate(protoc, proto_dir, grpc_proto, out):
    """Compiles the protos the test needs into out and imports them. The grpc
    protos go under other directory names so their modules do not collide
    with grpcio's own grpc package."""
    src = os.path.join(out, "protos")
    for d in ("xuncha/v1", "xc_health", "xc_refl/v1", "xc_refl/v1alpha"):
        os.makedirs(os.path.join(src, d))
    shutil.copy(os.path.join(proto_dir, "xuncha/v1/admin.proto"),
                os.path.join(src, "xuncha/v1/admin.proto"))
    shutil.copy(os.path.join(proto_dir, "grpc/health/v1/health.proto"),
                os.path.join(src, "xc_health/health.proto"))
    for v in ("v1", "v1alpha"):
        shutil.copy(os.path.join(grpc_proto, "grpc/reflection", v, "reflection.proto"),
                    os.path.join(src, "xc_refl", v, "reflection.proto"))
    gen = os.path.join(out, "gen")
    os.makedirs(gen)
    subprocess.run([protoc, "--python_out=" + gen, "-I", src, "xuncha/v1/admin.proto",
                    "xc_health/health.proto", "xc_refl/v1/reflection.proto",
                    "xc_refl/v1alpha/reflection.proto"], check=True, timeout=60)
    sys.path.insert(0, gen)
    return (importlib.import_module("xuncha.v1.admin_pb2"),
            importlib.import_module("xc_health.health_pb2"),
            importlib.import_module("xc_refl.v1.reflection_pb2"),
            importlib.import_module("xc_refl.v1alpha.reflection_pb2"))


class Server:
    """An xunchad child; its stderr in a log file."""

    def __init__(self, binary, tmp, argv, name="xunchad"):
        self.log_path = os.path.join(tmp, name + ".log")
        self.port_file = os.path.join(tmp, name + ".port")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary] + argv + ["--port-file", self.port_file],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=tmp)
        self.port = self._wait_port()

    def _wait_port(self):
        port = wait_port(self.proc, self.port_file)
        if port is not None:
            return port
        if self.proc.poll() is not None:
            raise RuntimeError("xunchad exited with %s before listening:\n%s"
                               % (self.proc.returncode, self.read_log()))
        self.stop()
        raise RuntimeError("no port file within %.0f s:\n%s" % (START_TIMEOUT, self.read_log()))

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
        code = stop_process(self.proc)
        self.log.close()
        return code


def channel(port, certdir, who):
    return tls_channel("127.0.0.1:%d" % port, certdir, who)


def logfmt(line):
    """Parses one logfmt line into a dict."""
    out = {}
    for m in re.finditer(r'(\w+)=("((?:[^"\\]|\\.)*)"|\S*)', line):
        out[m.group(1)] = m.group(3) if m.group(3) is not None else m.group(2)
    return out


def check_config(c, args, tmp, certdir):
    print("config errors")
    cases = [
        ("[server]\nlisten = 127.0.0.1:0\n\n[server]\nwokers = 4\n", 5, "unknown key 'wokers'"),
        ("[tls]\ncert = a\n[metrics]\nport = 9\n", 4, "unknown section [metrics]"),
        ("[server]\nworkers = 0\n", 2, "workers must be a number from 1 to 256"),
        ("[storage]\nmap_size = 12Q\n", 2, "map_size must be a size"),
        ("[log]\nlevel = loud\n", 2, "level must be debug, info, warn or error"),
        ("[log]\ntarget = file\n", 2, "target must be stderr or syslog"),
        ("; comment\n[server]\nlisten = a:1\nlisten = b:2\n", 4, "listen is given twice"),
        ("[server]\nthis line has no equals sign\n", 2, "not a '[section]'"),
    ]
    for i, (text, line, want) in enumerate(cases):
        path = os.path.join(tmp, "bad%d.conf" % i)
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([args.xunchad, "--config", path], capture_output=True, text=True,
                           timeout=20)
        c.eq(p.returncode, 2, "bad config %d: exit code 2" % i)
        c.ok("%s:%d: " % (path, line) in p.stderr and want in p.stderr,
             "bad config %d: says %s:%d: %s (%r)" % (i, os.path.basename(path), line, want,
                                                     p.stderr.strip()))
    p = subprocess.run([args.xunchad, "--config", os.path.join(tmp, "missing.conf")],
                       capture_output=True, text=True, timeout=20)
    c.ok(p.returncode == 2 and "missing.conf" in p.stderr,
         "a --config file that does not exist is refused (%r)" % p.stderr.strip())
    p = subprocess.run([args.xunchad, "--workers", "999", "--config", "/dev/null"],
                       capture_output=True, text=True, timeout=20)
    c.ok(p.returncode == 2 and "--workers" in p.stderr, "a bad flag value is refused")
    good = os.path.join(tmp, "check.conf")
    with open(good, "w") as f:
        f.write("[tls]\ncert = %s/server.pem\nkey = %s/server.key\nca = %s/ca.pem\n"
                "[storage]\ndata = %s/checkdata\n" % (certdir, certdir, certdir, tmp))
    p = subprocess.run([args.xunchad, "--config", good, "--check-config"],
                       capture_output=True, text=True, timeout=20)
    c.ok(p.returncode == 0 and "valid" in p.stdout, "--check-config accepts a good file")


def reflect(stub_call, rpb, requests):
    """Sends requests on one ServerReflectionInfo stream; returns the responses."""
    return list(stub_call(iter(requests), timeout=CALL_TIMEOUT))


def check_reflection(c, ch, rpb, version):
    print("reflection %s" % version)
    call = ch.stream_stream("/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % version,
                            request_serializer=rpb.ServerReflectionRequest.SerializeToString,
                            response_deserializer=rpb.ServerReflectionResponse.FromString)
    resps = reflect(call, rpb, [
        rpb.ServerReflectionRequest(list_services=""),
        rpb.ServerReflectionRequest(file_containing_symbol="xuncha.v1.Target"),
        rpb.ServerReflectionRequest(file_containing_symbol="xuncha.v1.Admin.GetStats"),
        rpb.ServerReflectionRequest(file_by_filename="grpc/health/v1/health.proto"),
        rpb.ServerReflectionRequest(file_containing_symbol="xuncha.v1.NoSuchThing"),
    ])
    c.eq(len(resps), 5, "%s: one response per request" % version)
    names = [s.name for s in resps[0].list_services_response.service]
    for want in ("xuncha.v1.Targets", "xuncha.v1.Rounds", "xuncha.v1.Findings",
                 "xuncha.v1.Leads", "xuncha.v1.Admin", "grpc.health.v1.Health",
                 "grpc.reflection.v1.ServerReflection",
                 "grpc.reflection.v1alpha.ServerReflection"):
        c.ok(want in names, "%s: list_services names %s" % (version, want))
    # Build a pool from the returned files, as grpcurl does, and resolve types.
    pool = descriptor_pool.DescriptorPool()
    added = set()
    for r in resps[1:4]:
        for raw in r.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
            if fd.name not in added:
                added.add(fd.name)
                pool.Add(fd)
    c.ok("xuncha/v1/xuncha.proto" in added, "%s: Target's file is xuncha/v1/xuncha.proto" % version)
    try:
        target = pool.FindMessageTypeByName("xuncha.v1.Target")
        c.ok("region_code" in target.fields_by_name,
             "%s: xuncha.v1.Target resolves, with field region_code" % version)
        svc = pool.FindServiceByName("xuncha.v1.Admin")
        c.eq(svc.methods_by_name["GetStats"].output_type.full_name, "xuncha.v1.Stats",
             "%s: Admin.GetStats returns xuncha.v1.Stats" % version)
        hc = pool.FindMessageTypeByName("grpc.health.v1.HealthCheckResponse")
        c.ok(hc is not None, "%s: file_by_filename gives the health protocol" % version)
    except KeyError as e:
        c.ok(False, "%s: resolving types by name: %s" % (version, e))
    err = resps[4]
    c.eq(err.WhichOneof("message_response"), "error_response",
         "%s: an unknown symbol gets an error_response" % version)
    c.eq(err.error_response.error_code, grpc.StatusCode.NOT_FOUND.value[0],
         "%s: ... with NOT_FOUND" % version)


def check_stats(c, ports, certdir, apb, admin_name):
    print("GetStats")
    with channel(ports, certdir, admin_name) as ch:
        call = ch.unary_unary("/xuncha.v1.Admin/GetStats",
                              request_serializer=apb.GetStatsRequest.SerializeToString,
                              response_deserializer=apb.Stats.FromString)
        st = call(apb.GetStatsRequest(), timeout=CALL_TIMEOUT)
    byname = {m.method: m for m in st.methods}
    hc = byname.get("/grpc.health.v1.Health/Check")
    c.ok(hc is not None and hc.calls >= 3, "Health/Check calls counted (%r)"
         % (hc.calls if hc else None))
    if hc is not None:
        c.ok(any(s.status == "OK" and s.count >= 3 for s in hc.statuses), "... by status OK")
        c.ok(0 < hc.latency_p50_us <= hc.latency_p99_us, "... with latency percentiles")
        c.eq(sum(b.count for b in hc.buckets), hc.calls, "... buckets add up to the calls")
    c.ok(st.storage.map_bytes > 0 and st.storage.max_readers > 0 and st.storage.file_bytes > 0,
         "storage figures: map %d, readers %d, file %d" % (st.storage.map_bytes,
                                                           st.storage.max_readers,
                                                           st.storage.file_bytes))
    c.ok(any(r.kind == "target" for r in st.storage.records), "record counts by kind")
    c.eq(len(st.sync), 0, "sync lag: empty (no federation yet)")
    c.ok(st.uptime_ms >= 0 and st.start_time_ms > 0, "start time and uptime")
    with channel(ports, certdir, "auditor") as ch:
        call = ch.unary_unary("/xuncha.v1.Admin/GetStats",
                              request_serializer=apb.GetStatsRequest.SerializeToString,
                              response_deserializer=apb.Stats.FromString)
        try:
            call(apb.GetStatsRequest(), timeout=CALL_TIMEOUT)
            code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            code = e.code()
        c.eq(code, grpc.StatusCode.PERMISSION_DENIED, "an auditor may not read stats")


def check_watch(c, server, certdir, hpb):
    print("Health/Watch")
    seen = []
    done = threading.Event()
    final = {}

    def watch():
        with channel(server.port, certdir, "city") as ch:
            call = ch.unary_stream("/grpc.health.v1.Health/Watch",
                                   request_serializer=hpb.HealthCheckRequest.SerializeToString,
                                   response_deserializer=hpb.HealthCheckResponse.FromString)
            it = call(hpb.HealthCheckRequest(service=""), timeout=30)
            try:
                for r in it:
                    seen.append(r.status)
            except grpc.RpcError as e:
                final["code"] = e.code()
            done.set()

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.02)
    c.eq(seen[:1], [hpb.HealthCheckResponse.SERVING], "Watch: SERVING first")
    code = server.stop()
    done.wait(10)
    c.eq(seen[-1:], [hpb.HealthCheckResponse.NOT_SERVING], "Watch: NOT_SERVING on SIGTERM")
    c.eq(final.get("code"), grpc.StatusCode.UNAVAILABLE, "Watch: then the stream ends UNAVAILABLE")
    c.eq(code, 0, "xunchad exits 0")


def check_cli(c, xuncha, port, certdir, tmp):
    """The CLI as operators use it: guide, --lang en, examples, admin stats,
    progress on a terminal only."""
    print("CLI")
    base = dict(os.environ)
    for k in ("XUNCHA_LANG", "XUNCHA_CONFIG"):
        base.pop(k, None)
    base["HOME"] = tmp

    def env(who):
        e = dict(base)
        e.update(XUNCHA_SERVER="127.0.0.1:%d" % port, XUNCHA_CA=os.path.join(certdir, "ca.pem"),
                 XUNCHA_CERT=os.path.join(certdir, who + ".pem"),
                 XUNCHA_KEY=os.path.join(certdir, who + ".key"))
        return e

    def run_cli(argv, who="county-a", extra=None):
        e = env(who)
        if extra:
            e.update(extra)
        return subprocess.run([xuncha] + argv, capture_output=True, text=True, timeout=30, env=e)

    p = run_cli([])
    c.ok(p.returncode == 0 and "常用命令" in p.stdout, "xuncha alone prints the guide (Chinese)")
    p = run_cli([], extra={"XUNCHA_LANG": "en"})
    c.ok(p.returncode == 0 and "for example" in p.stdout, "... in English with XUNCHA_LANG=en")
    p = run_cli(["--lang", "en"])
    c.ok(p.returncode == 0 and "for example" in p.stdout, "... and with --lang en alone")
    p = run_cli(["--lang", "fr", "target", "list"])
    c.eq(p.returncode, 2, "--lang fr is a usage error")
    for res in ("target", "round", "group", "finding", "lead", "health", "admin"):
        p = run_cli([res, "--help"])
        c.ok(p.returncode == 0 and ("示例" in p.stdout or "Examples" in p.stdout)
             and ("xuncha %s " % res) in p.stdout.split("示例")[-1],
             "xuncha %s --help ends with worked examples" % res)
    p = run_cli(["target", "create", "--region", "310104", "--name", "城东区教育局",
                 "--kind", "区县直单位"])
    c.eq(p.returncode, 0, "target create")
    p = run_cli(["--lang", "en", "target", "list"])
    c.ok(p.returncode == 0 and "Name" in p.stdout and "名称" not in p.stdout
         and "county-dep" in p.stdout,
         "--lang en: English headings and enum values (%r)" % p.stdout[:200])
    p = run_cli(["target", "list"])
    c.ok("名称" in p.stdout and "区县直单位" in p.stdout, "default: Chinese headings and terms")
    # Progress: quiet when stderr is a pipe, shown when it is a terminal.
    p = run_cli(["target", "list", "--all"])
    c.ok(p.returncode == 0 and p.stderr == "", "list --all is quiet when stderr is piped")
    q, seen = run_on_terminal([xuncha, "target", "list", "--all"], timeout=30,
                              env=env("county-a"))
    c.ok(q.returncode == 0 and "已取得".encode() in seen,
         "list --all shows progress on a terminal (%r)" % seen[:80])
    # admin stats
    p = run_cli(["admin", "stats"], who="admin")
    c.ok(p.returncode == 0 and "读者槽" in p.stdout and "/xuncha.v1.Targets/CreateTarget" in p.stdout,
         "admin stats: a readable summary")
    p = run_cli(["--lang", "en", "admin", "stats"], who="admin")
    c.ok(p.returncode == 0 and "Reader slots" in p.stdout, "admin stats in English")
    p = run_cli(["admin", "stats", "--prometheus"], who="city")
    lines = p.stdout.splitlines()
    bad = [l for l in lines if not l.startswith("#") and
           not re.match(r'^[a-z_]+(\{([a-z]+="[^"]*",?)+\})? [0-9.e+-]+$', l)]
    c.ok(p.returncode == 0 and not bad, "admin stats --prometheus: every line is a sample or a "
         "comment (bad: %r)" % bad[:3])
    c.ok(any(l.startswith('xuncha_calls_total{method="/xuncha.v1.Targets/CreateTarget",status="OK"}')
             for l in lines), "... with calls by method and status")
    c.ok("# TYPE xuncha_call_duration_seconds histogram" in lines and
         any('le="+Inf"' in l for l in lines), "... and latency histograms")
    c.ok(any(l.startswith("xuncha_db_readers_max ") for l in lines), "... and storage gauges")
    p = run_cli(["admin", "stats"], who="auditor")
    c.eq(p.returncode, 4, "admin stats as an auditor: refused, exit 4")
    p = run_cli(["admin", "stat"], who="admin")
    c.eq(p.returncode, 2, "admin stat (typo): usage error, exit 2")


def check_upgrade(c, args, tmp, certdir):
    """A store left by an older xunchad (format 0) is migrated when the new
    one starts; a store of a newer format is refused untouched."""
    print("upgrade")
    data = os.path.join(tmp, "olddata")
    flags = ["--listen", "127.0.0.1:0", "--data", data, "--config", "/dev/null",
             "--cert", os.path.join(certdir, "server.pem"),
             "--key", os.path.join(certdir, "server.key"),
             "--ca", os.path.join(certdir, "ca.pem")]
    e = dict(os.environ, HOME=tmp, XUNCHA_CA=os.path.join(certdir, "ca.pem"),
             XUNCHA_CERT=os.path.join(certdir, "county-a.pem"),
             XUNCHA_KEY=os.path.join(certdir, "county-a.key"))
    e.pop("XUNCHA_LANG", None)

    def cli(port, argv):
        e["XUNCHA_SERVER"] = "127.0.0.1:%d" % port
        return subprocess.run([args.xuncha, "--json"] + argv, capture_output=True, text=True,
                              timeout=30, env=e)

    srv = Server(args.xunchad, tmp, flags, name="old1")
    ids = []
    try:
        for name in ("旧单位甲", "旧单位乙"):
            p = cli(srv.port, ["target", "create", "--region", "310104", "--name", name,
                               "--kind", "区县直单位"])
            m = re.search(r'"id": *"(t_[0-9A-Z]+)"', p.stdout)
            c.ok(p.returncode == 0 and m is not None, "before: target create %s" % name)
            if m:
                ids.append(m.group(1))
    finally:
        srv.stop()
    p = subprocess.run([args.oldstore, data, "0"], capture_output=True, text=True, timeout=30)
    c.eq(p.returncode, 0, "the store is rewritten as format 0 (%s)" % p.stderr.strip())
    srv = Server(args.xunchad, tmp, flags, name="old2")
    try:
        c.ok(srv.wait_log(r"migrated from format 0 to format 2"),
             "the new xunchad logs that it migrated the store")
        for i, name in zip(ids, ("旧单位甲", "旧单位乙")):
            p = cli(srv.port, ["target", "get", i])
            c.ok(p.returncode == 0 and name in p.stdout, "after: %s reads back" % name)
        p = cli(srv.port, ["target", "create", "--region", "310104", "--name", "新单位",
                           "--kind", "区县直单位"])
        c.eq(p.returncode, 0, "after: the migrated store takes writes")
    finally:
        c.eq(srv.stop(), 0, "the migrated server stops cleanly")
    p = subprocess.run([args.oldstore, data, "99"], capture_output=True, text=True, timeout=30)
    p = subprocess.run([args.xunchad] + flags, capture_output=True, text=True, timeout=30)
    c.eq(p.returncode, 1, "a store of a newer format: xunchad does not start")
    c.ok("format 99" in p.stderr and "newer" in p.stderr and "apt-get install" in p.stderr,
         "... and says why and what to run (%r)" % p.stderr.strip()[:300])
    subprocess.run([args.oldstore, data, "1"], check=True, timeout=30)
    srv = Server(args.xunchad, tmp, flags, name="old3")
    try:
        p = cli(srv.port, ["target", "list"])
        c.ok(p.returncode == 0 and p.stdout.count('"id"') == 3,
             "the refusal changed nothing: all three targets are there")
    finally:
        srv.stop()


def run(args, tmp, c):
    apb, hpb, r1, r1a = generate(args.protoc, args.proto_dir, args.grpc_proto, tmp)
    certdir = os.path.join(tmp, "certs")
    subprocess.run(["/bin/bash", args.certs, "dev", certdir], check=True, timeout=60,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["/bin/bash", args.certs, "client", certdir, "--cn", "admin:3101",
                    "--out", "admin"], check=True, timeout=60, stdout=subprocess.DEVNULL)
    check_config(c, args, tmp, certdir)

    # A server whose settings come from the file, with --listen overriding it.
    conf = os.path.join(tmp, "xunchad.conf")
    with open(conf, "w") as f:
        f.write("# xunchad test config\n[server]\nlisten = 127.0.0.1:1\nworkers = 4\n"
                "[tls]\ncert = %s/server.pem\nkey = %s/server.key\nca = %s/ca.pem\n"
                "[storage]\ndata = %s/data\nmap_size = 16M\n[log]\nlevel = info\n"
                % (certdir, certdir, certdir, tmp))
    server = Server(args.xunchad, tmp, ["--config", conf, "--listen", "127.0.0.1:0"])
    try:
        c.ok(server.port > 1, "--listen overrides [server] listen (port %d)" % server.port)
        with channel(server.port, certdir, "county-a") as ch:
            check = ch.unary_unary("/grpc.health.v1.Health/Check",
                                   request_serializer=hpb.HealthCheckRequest.SerializeToString,
                                   response_deserializer=hpb.HealthCheckResponse.FromString)
            for _ in range(3):
                check(hpb.HealthCheckRequest(), timeout=CALL_TIMEOUT)
            check(hpb.HealthCheckRequest(), timeout=CALL_TIMEOUT,
                  metadata=(("x-request-id", "ops-test-42"),))
            check_reflection(c, ch, r1, "v1")
            check_reflection(c, ch, r1a, "v1alpha")
        print("logs")
        c.ok(server.wait_log(r"req=ops-test-42 "), "the log names the call by its x-request-id")
        lines = [logfmt(l) for l in server.read_log().splitlines()
                 if "method=/grpc.health.v1.Health/Check" in l]
        c.ok(len(lines) >= 4, "one log line per call (%d)" % len(lines))
        if lines:
            ln = lines[0]
            for k in ("ts", "level", "req", "peer", "method", "status", "latency_us"):
                c.ok(k in ln and ln[k] != "", "log line has %s (%r)" % (k, ln.get(k)))
            c.eq(ln.get("peer"), "office:310104", "peer is the caller's CN")
            c.eq(ln.get("status"), "OK", "status")
            c.ok(re.match(r"^\d+$", ln.get("latency_us", "")) is not None, "latency_us is a number")
            reqs = set(l.get("req") for l in lines)
            c.eq(len(reqs), len(lines), "each call has its own request id")
        check_stats(c, server.port, certdir, apb, "admin")
        if args.xuncha:
            check_cli(c, args.xuncha, server.port, certdir, tmp)
            if args.oldstore:
                check_upgrade(c, args, tmp, certdir)
            else:
                c.ok(False, "no --oldstore given: the upgrade checks did not run")
        else:
            c.ok(False, "no --xuncha given: the CLI checks did not run")

        print("SIGHUP")
        text = open(conf).read().replace("level = info", "level = warn")
        with open(conf, "w") as f:
            f.write(text)
        server.proc.send_signal(signal.SIGHUP)
        c.ok(server.wait_log(r"log level is now warn"), "SIGHUP re-reads the log level")
        before = server.read_log().count("method=/grpc.health.v1.Health/Check")
        with channel(server.port, certdir, "county-a") as ch:
            check = ch.unary_unary("/grpc.health.v1.Health/Check",
                                   request_serializer=hpb.HealthCheckRequest.SerializeToString,
                                   response_deserializer=hpb.HealthCheckResponse.FromString)
            check(hpb.HealthCheckRequest(), timeout=CALL_TIMEOUT)
        time.sleep(0.2)
        after = server.read_log().count("method=/grpc.health.v1.Health/Check")
        c.eq(after, before, "at level warn, successful calls are not logged")
        check_watch(c, server, certdir, hpb)
    finally:
        server.stop()
        if c.failed:
            print("--- xunchad log (tail) ---\n%s\n---" % server.read_log()[-4000:])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xunchad", required=True)
    ap.add_argument("--certs", required=True)
    ap.add_argument("--proto-dir", required=True)
    ap.add_argument("--protoc", default="")
    ap.add_argument("--grpc-proto", default="/usr/share/grpc-proto")
    ap.add_argument("--xuncha", default="", help="the xuncha CLI")
    ap.add_argument("--oldstore", default="", help="tests/e2e/xc_oldstore")
    args = ap.parse_args()
    if not args.protoc:
        args.protoc = shutil.which("protoc") or "/usr/bin/protoc"
    if not args.xunchad or not os.access(args.xunchad, os.X_OK):
        print("no xunchad binary at %r" % args.xunchad)
        return 1
    return run_suite("xc-ops-", lambda tmp, c: run(args, tmp, c))


if __name__ == "__main__":
    sys.exit(main())
