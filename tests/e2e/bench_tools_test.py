#!/usr/bin/python3
"""xuncha-bench's `transport` and `fsync` subcommands, `run` with
interleaved rounds against a real xunchad, bench/cpu-per-call.sh, and
bench/commit_pages.py's reading of LMDB's file and of a writer's trace,
briefly (about 12 s).

Runs each with small sizes and one-second phases, and checks that the
printed table and the JSON show the expected rows with plausible numbers
(calls made, no errors, replies of the asked size, quantiles in order), that
the scratch files are gone, and that bad options give a usage error naming
the option and its limit.

    bench_tools_test.py XUNCHA_BENCH XUNCHA_CERTS [CPU_PER_CALL_SH BUILD_DIR]
"""
import json
import os
import re
import subprocess
import sys
import tempfile

BENCH, CERTS = sys.argv[1], sys.argv[2]
TIMEOUT = 60
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(args):
    p = subprocess.run([BENCH] + args, capture_output=True, text=True, timeout=TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def usage_error(args, *words):
    rc, out, err = run(args)
    check(rc != 0, "%s: exit status %d, expected an error" % (args, rc))
    for w in words:
        check(w in err, "%s: stderr does not name %r: %r" % (args, w, err))


with tempfile.TemporaryDirectory(prefix="xc-bench-tools.") as tmp:
    subprocess.run([CERTS, "dev", os.path.join(tmp, "certs")], check=True,
                   stdout=subprocess.DEVNULL, timeout=TIMEOUT)
    c = os.path.join(tmp, "certs")
    tls = ["--ca", c + "/ca.pem", "--cert", c + "/city.pem", "--key", c + "/city.key"]

    # transport: size 0 is added first, every row has calls and no errors.
    tj = os.path.join(tmp, "t.json")
    rc, out, err = run(["transport"] + tls + ["--connections", "2", "--inflight", "8",
                                              "--duration", "1", "--warmup", "0",
                                              "--sizes", "1000,20000", "--json", tj])
    check(rc == 0, "transport exit status %d: %s" % (rc, err))
    if rc == 0:
        j = json.load(open(tj))
        rows = j["results"]
        check([r["reply_bytes"] for r in rows] == [0, 1000, 20000],
              "transport rows: %r" % [r["reply_bytes"] for r in rows])
        for r in rows:
            check(r["calls"] > 0 and r["calls_per_s"] > 0, "no calls: %r" % r)
            check(r["errors"] == 0, "errors (a reply of the wrong size?): %r" % r)
            check(r["inflight"] == 8, "inflight: %r" % r)
            check(0 < r["p50_us"] <= r["p99_us"] <= r["max_us"], "latency order: %r" % r)
            check(r["cpu_us_per_call"] > 0, "no CPU time per call: %r" % r)
        check(abs(rows[0]["ratio_to_size0"] - 1.0) < 1e-9, "size 0 ratio: %r" % rows[0])
        check(all(r["ratio_to_size0"] > 0 for r in rows), "ratios: %r" % rows)
        lines = [l.split() for l in out.splitlines()]
        table = [l[0] for l in lines if len(l) == 12 and l[0].isdigit()]
        check(table == ["0", "1000", "20000"], "printed rows: %r\n%s" % (table, out))
        check("CPU us/call" in out, "no CPU column in:\n" + out)

    # fsync: the meta row, then three patterns per page count.
    data = os.path.join(tmp, "disk")
    os.mkdir(data)
    fj = os.path.join(tmp, "f.json")
    rc, out, err = run(["fsync", "--data", data, "--pages", "1,3", "--rounds", "5",
                        "--file-mb", "1", "--json", fj])
    check(rc == 0, "fsync exit status %d: %s" % (rc, err))
    if rc == 0:
        rows = json.load(open(fj))["rows"]
        shape = [(r["pattern"], r["pages"]) for r in rows]
        check(shape == [("meta only", 0), ("scattered", 1), ("scattered", 3),
                        ("contiguous", 1), ("contiguous", 3), ("append", 1), ("append", 3)],
              "fsync rows: %r" % shape)
        for r in rows:
            check(0 < r["p50_us"] <= r["p90_us"] <= r["max_us"], "quantile order: %r" % r)
            check(r["meta_p50_us"] > 0, "no meta write time: %r" % r)
        check(os.listdir(data) == [], "scratch files left: %r" % os.listdir(data))
        printed = [l.split()[0] for l in out.splitlines()
                   if l.split() and l.split()[0] in ("scattered", "contiguous", "append")]
        check(len(printed) == 6, "printed rows: %r\n%s" % (printed, out))

    # Usage errors name the option and its limit.
    usage_error(["transport"] + tls + ["--sizes", "5000000"], "--sizes", "4194304")
    usage_error(["transport"] + tls + ["--sizes", "1,2,3,4,5,6,7,8,9"], "--sizes", "at most 8")
    usage_error(["transport"] + tls + ["--inflight", "0"], "--inflight", "4096")
    usage_error(["transport", "--sizes", "10"], "--ca")
    usage_error(["transport"] + tls + ["--bogus"], "--bogus")
    usage_error(["fsync"], "--data")
    usage_error(["fsync", "--data", data, "--pages", "2000"], "--pages", "1024")
    usage_error(["fsync", "--data", data, "--rounds", "0"], "--rounds", "100000")
    usage_error(["fsync", "--data", data, "--pages", "1000", "--file-mb", "1"], "--file-mb")
    usage_error(["fsync", "--data", os.path.join(tmp, "nowhere")], "not a directory")

# run --rounds: two workloads measured in three interleaved slices each.
if len(sys.argv) > 4:
    xunchad = os.path.join(sys.argv[4], "server", "xunchad")
    with tempfile.TemporaryDirectory(prefix="xc-bench-run.") as tmp:
        subprocess.run([CERTS, "dev", os.path.join(tmp, "certs")], check=True,
                       stdout=subprocess.DEVNULL, timeout=TIMEOUT)
        c = os.path.join(tmp, "certs")
        port_file = os.path.join(tmp, "port")
        srv = subprocess.Popen([xunchad, "--listen", "127.0.0.1:0", "--port-file", port_file,
                                "--data", os.path.join(tmp, "data"), "--cert",
                                c + "/server.pem", "--key", c + "/server.key", "--ca",
                                c + "/ca.pem"], stderr=subprocess.DEVNULL)
        try:
            for _ in range(1000):
                if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
                    break
                subprocess.run(["sleep", "0.01"])
            port = open(port_file).read().strip()
            rj = os.path.join(tmp, "r.json")
            tls = ["--ca", c + "/ca.pem", "--cert", c + "/city.pem", "--key", c + "/city.key"]
            rc, out, err = run(["run", "--server", "127.0.0.1:" + port] + tls +
                               ["--connections", "2", "--inflight", "4", "--duration", "1",
                                "--warmup", "0", "--rounds", "3", "--json", rj, "get"])
            check(rc == 0, "run exit status %d: %s" % (rc, err))
            if rc == 0:
                j = json.load(open(rj))
                check(j["rounds"] == 3, "rounds in the JSON: %r" % j.get("rounds"))
                rows = j["results"]
                check([r["workload"] for r in rows] == ["health", "get"],
                      "run rows: %r" % [r["workload"] for r in rows])
                for r in rows:
                    check(r["calls"] > 0 and r["errors"] == 0, "run row: %r" % r)
                    check(0 < r["p50_us"] <= r["p99_us"] <= r["max_us"],
                          "latency order: %r" % r)
                    # The three slices of 1/3 s add up to the measured second.
                    check(abs(r["calls"] / r["calls_per_s"] - 1.0) < 0.2,
                          "measured time of the slices: %r" % r)
                check(abs(rows[0]["ratio_to_health"] - 1.0) < 1e-9, "health ratio: %r" % rows[0])
                check(rows[1]["ratio_to_health"] > 0, "get ratio: %r" % rows[1])
                check("measured in 3 rounds" in out, "no rounds line in:\n" + out)
            usage_error(["run"] + tls + ["--rounds", "0"], "--rounds", "100")
            usage_error(["run"] + tls + ["--rounds", "101"], "--rounds", "100")
        finally:
            srv.terminate()
            srv.wait(timeout=TIMEOUT)

# commit_pages.py: its walk of data.mdb finds as many pages per database as
# LMDB's own statistics (`xuncha-bench disk`), and it splits a writer's trace
# into commits, pages and runs.
if len(sys.argv) > 4:
    sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[3])))
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    import commit_pages
    with tempfile.TemporaryDirectory(prefix="xc-bench-pages.") as tmp:
        store = os.path.join(tmp, "s")
        rc, out, err = run(["fill", "--data", store, "--count", "3000"])
        check(rc == 0, "fill exit status %d: %s" % (rc, err))
        rc, out, err = run(["disk", "--data", store])
        check(rc == 0, "disk exit status %d: %s" % (rc, err))
        lmdb_pages = {}
        for line in out.splitlines():
            f = line.split()
            if len(f) == 4 and f[1].isdigit() and f[3].isdigit():
                lmdb_pages[f[0]] = int(f[3])
        owners = commit_pages.page_owners(open(os.path.join(store, "data.mdb"), "rb").read())
        walked = {}
        for name in owners.values():
            walked[name] = walked.get(name, 0) + 1
        check(lmdb_pages.get("finding", 0) > 100 and lmdb_pages.get("index", 0) > 100,
              "disk's page counts: %r" % lmdb_pages)
        for name, n in lmdb_pages.items():
            check(walked.get(name, 0) == n,
                  "%s: %d pages walked, LMDB counts %d" % (name, walked.get(name, 0), n))
    trace = """\
pwrite64(4, "x"..., 4096, 40960) = 4096 <0.000005>
lseek(4, 45056, SEEK_SET) = 45056 <0.000002>
writev(4, [{iov_base="x"..., iov_len=4096}, {iov_base="y"..., iov_len=4096}], 2) = 8192 <0.000006>
pwrite64(4, "x"..., 4096, 81920) = 4096 <0.000005>
fdatasync(4) = 0 <0.000500>
pwrite64(5, "m"..., 120, 32) = 120 <0.000200>
pwrite64(4, "x"..., 4096, 4096000) = 4096 <0.000005>
fdatasync(4) = 0 <0.000300>
""".splitlines()
    done = commit_pages.commits(trace)
    check(len(done) == 1, "one complete commit in the trace: %r" % done)
    if done:
        check(sorted(done[0][0]) == [10, 11, 12, 20], "its pages: %r" % sorted(done[0][0]))
        check(commit_pages.runs(done[0][0]) == 2, "its runs: %r" % done[0][0])
        check(abs(done[0][1] - 0.0005) < 1e-9 and abs(done[0][2] - 0.0002) < 1e-9,
              "its fdatasync and meta times: %r" % (done[0][1:],))

# cpu-per-call.sh: a real xunchad, one workload, CPU per call of both sides.
if len(sys.argv) > 4:
    p = subprocess.run([sys.argv[3], sys.argv[4], "4", "1", "health"], capture_output=True,
                       text=True, timeout=TIMEOUT)
    check(p.returncode == 0, "cpu-per-call.sh exit status %d: %s" % (p.returncode, p.stderr))
    m = re.search(r"^health@4: (\d+) calls/s  p50 ([0-9.]+) ms  server \d+% CPU = ([0-9.]+) "
                  r"us/call  bench \d+% = ([0-9.]+) us/call$", p.stdout, re.M)
    check(m is not None, "cpu-per-call.sh printed:\n" + p.stdout)
    if m:
        check(int(m.group(1)) > 0 and float(m.group(3)) > 0 and float(m.group(4)) > 0,
              "cpu-per-call.sh figures: " + m.group(0))
    p = subprocess.run([sys.argv[3], sys.argv[4]], capture_output=True, text=True,
                       timeout=TIMEOUT)
    check(p.returncode == 2 and "usage" in p.stderr, "cpu-per-call.sh without its arguments")

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("PASS")
