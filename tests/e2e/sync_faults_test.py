#!/usr/bin/python3
"""e2e_sync_faults: federation survives kill -9 and cut links mid-sync (issue 5).

A county server syncs to a city server through a TCP proxy the test runs
(127.0.0.1, threads; it can cut every connection and refuse new ones for a
while, or hold every byte). The county holds several thousand findings, with
updates and voids, made in waves while the proxy holds the link (so each
wave is pending as a whole, two batches or more). At least MIN_FAULTS times
in one run the test starts a sync, waits until GetSyncStatus shows it
running with changes pending, and then, at a random point within the next
60 ms, kills the county (kill -9), kills the city (kill -9) or cuts the
link; what was killed is started again on the same data, and the next round
begins once a sync has succeeded again (checked: within 20 s of every
fault). The county runs with --sync-batch 200 and --sync-interval 1, so
batches are small and frequent and most faults land mid-batch (the run
reports how many found the sync running with changes pending).

Each round the city also makes a few elevated rounds on the county's
target, which the county pulls down under the same faults.

After a final complete sync, both servers must hold exactly the records the
test made (and the county exactly the city's rounds for it): the same id set as the test's own list (none lost, none
duplicated) and, per id, the SHA-256 of the serialized record equal to the
test's own (the last create/update/void it saw) on the county and on the
city. `xuncha sync verify` must be clean.

The faults are drawn from random.Random(seed); the seed is printed, and
XC_SYNC_FAULT_SEED sets it. The whole run is bounded to about four minutes.

  tests/e2e/sync_faults_test.py --xunchad build/server/xunchad \
      --xuncha build/client/xuncha --certs certs/xuncha-certs --proto-dir proto
"""
import concurrent.futures
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import grpc
from xc_checks import STOP_TIMEOUT, run_suite
from xc_sync_util import Api, FederationMissing, Server, cli, digest, generate, make_certs, \
    parse_args, wait_until, write_homes

CITY, COUNTY = "city-1101", "county-110105"
MIN_FAULTS = 20          # faults one run must inject
MAX_FAULTS = 26          # and at most
FAULT_BUDGET_S = 150.0   # the fault rounds stop starting after this
FINAL_SYNC_S = 60.0      # the final complete sync must end within this
INITIAL = 1500           # findings made before the first fault
WAVE = (300, 60, 8)      # per round: new findings, updates, voids (two batches or more)
WORKERS = 16             # concurrent calls while making a wave
CITY_ROUNDS = 3          # per round: records the city makes for the county (pulled down)


class Proxy:
    """A TCP relay 127.0.0.1:port → 127.0.0.1:target_port that can drop
    every connection and refuse new ones for a while."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.lock = threading.Lock()
        self.conns = set()
        self.refuse_until = 0.0
        self.paused = False
        self.stopping = False
        self.accepted = 0
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.lsock.settimeout(0.1)
        self.port = self.lsock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def _accept_loop(self):
        while not self.stopping:
            if self.paused:
                time.sleep(0.005)  # new connections wait in the listen backlog
                continue
            try:
                down, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                refuse = time.monotonic() < self.refuse_until or self.stopping
                target = self.target_port
            if refuse:
                down.close()
                continue
            try:
                up = socket.create_connection(("127.0.0.1", target), timeout=2)
                up.settimeout(None)
            except OSError:
                down.close()
                continue
            with self.lock:
                self.accepted += 1
                self.conns.add(down)
                self.conns.add(up)
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self.paused and not self.stopping:
                    time.sleep(0.005)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._drop(s)

    def _drop(self, s):
        with self.lock:
            self.conns.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass

    def set_target(self, port):
        with self.lock:
            self.target_port = port

    def cut(self, refuse_s):
        """Drops every connection now and refuses new ones for refuse_s."""
        with self.lock:
            self.refuse_until = time.monotonic() + refuse_s
            conns = list(self.conns)
        for s in conns:
            self._drop(s)

    def pause(self):
        """Holds every byte (and new connections) until resume(): calls
        stall rather than fail."""
        self.paused = True

    def resume(self):
        self.paused = False

    def refusing(self):
        with self.lock:
            return time.monotonic() < self.refuse_until

    def close(self):
        self.stopping = True
        self.cut(0)
        self.lsock.close()
        self.thread.join(timeout=5)


class Ledger:
    """The test's own record of what the county holds: id -> the last
    record the county returned for it."""

    def __init__(self):
        self.recs = {}
        self.voided = set()
        self.lock = threading.Lock()

    def put(self, rec):
        with self.lock:
            self.recs[rec.id] = rec

    def live_ids(self):
        with self.lock:
            return [i for i in self.recs if i not in self.voided]


def make_wave(api, pb, ledger, rng, round_id, target_id, n_new, n_upd, n_void, tag):
    """Creates, updates and voids findings on the county concurrently.
    Every call must succeed (the county is up and nothing is cut here)."""
    def create(i):
        f = api.x("Findings", "CreateFinding", pb.CreateFindingRequest(
            finding=pb.Finding(round_id=round_id, target_id=target_id,
                               title="问题 %s-%d" % (tag, i), area=pb.FINDING_AREA_CONDUCT,
                               description="第%s批第%d条" % (tag, i), tags=["四风"]),
            request_id="%s-%d" % (tag, i)), "Finding")
        ledger.put(f)

    def update(fid):
        with ledger.lock:
            old = ledger.recs[fid]
        mod = pb.Finding()
        mod.CopyFrom(old)
        mod.rectification.measures = "整改措施 %s" % tag
        ledger.put(api.x("Findings", "UpdateFinding", pb.UpdateFindingRequest(finding=mod),
                         "Finding"))

    def void(fid):
        with ledger.lock:
            old = ledger.recs[fid]
            ledger.voided.add(fid)
        api.x("Records", "VoidRecord", pb.VoidRecordRequest(id=fid, etag=old.etag,
                                                            reason="重复录入 %s" % tag),
              "VoidRecordResponse")
        ledger.put(api.x("Findings", "GetFinding", pb.GetFindingRequest(id=fid), "Finding"))

    live = ledger.live_ids()
    picks = rng.sample(live, min(len(live), n_upd + n_void))
    upd, voids = picks[:n_upd], picks[n_upd:]
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as ex:
        futs = [ex.submit(create, i) for i in range(n_new)]
        futs += [ex.submit(update, fid) for fid in upd]
        futs += [ex.submit(void, fid) for fid in voids]
        for f in futs:
            f.result()


def run(args, tmp, c, seed):
    rng = random.Random(seed)
    pb, spb = generate(args.protoc, args.proto_dir, tmp)
    certdir = os.path.join(tmp, "certs")
    make_certs(args.certs, certdir)
    homes = os.path.join(tmp, "homes.ini")
    write_homes(homes)
    city = Server(args.xunchad, tmp, certdir, CITY, homes)
    proxy = None
    county = None
    apis = []
    try:
        city.start()
        proxy = Proxy(city.port)
        county = Server(args.xunchad, tmp, certdir, COUNTY, homes, upstream=proxy.addr,
                        upstream_cert="county", interval=1, batch=200)
        county.start()
        faults(c, args, pb, spb, rng, city, county, proxy, certdir, apis)
    finally:
        for a in apis:
            a.close()
        if proxy is not None:
            proxy.close()
        for s in (county, city):
            if s is not None and s.port is not None:
                code = s.stop()
                c.eq(code, 0, "%s exits 0 on SIGTERM at the end" % s.name)
            elif s is not None:
                s.kill()
        if c.failed:
            for s in (city, county):
                if s is not None:
                    print("--- %s log (tail) ---\n%s\n---" % (s.name, s.read_log()[-3000:]))


def faults(c, args, pb, spb, rng, city, county, proxy, certdir, apis):
    def api(server, who):
        a = Api(server.addr, certdir, who, pb, spb)
        apis.append(a)
        return a

    county_api = api(county, "county")
    ledger = Ledger()
    t = county_api.x("Targets", "CreateTarget", pb.CreateTargetRequest(target=pb.Target(
        region_code="110105", name="区财政局", kind=pb.TARGET_KIND_COUNTY_DEPARTMENT)), "Target")
    r = county_api.x("Rounds", "CreateRound", pb.CreateRoundRequest(round=pb.Round(
        region_code="110105", term=3, number=2, kind=pb.ROUND_KIND_REGULAR,
        title="区委第三届第二轮巡察", target_ids=[t.id])), "Round")
    t0 = time.monotonic()
    proxy.pause()  # the first fault then lands in a sync of the whole backlog
    try:
        make_wave(county_api, pb, ledger, rng, r.id, t.id, INITIAL, 0, 0, "init")
    finally:
        proxy.resume()
    print("made %d findings in %.1f s" % (INITIAL, time.monotonic() - t0))

    def recovered(since_ms, timeout=20.0):
        """Waits until a sync has succeeded after since_ms (wall clock):
        the link is open and both sides work again. Starts a sync whenever
        none runs, so recovery does not wait for the interval."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proxy.refusing():
                time.sleep(0.05)
                continue
            try:
                p = county_api.upstream_peer()
                if p is not None and not p.running:
                    if p.last_error == "" and p.last_success_ms >= since_ms:
                        return True
                    county_api.x("Sync", "SyncNow", spb.SyncNowRequest(), "SyncNowResponse",
                                 timeout=5)
            except grpc.RpcError:
                pass
            time.sleep(0.1)
        return False

    # Records the city makes for the county's region (elevated rounds on its
    # target), pulled down under the same faults: id -> SHA-256.
    city_rounds = {}
    city_maker = [None]

    def city_made(n):
        if city_maker[0] is None:
            city_maker[0] = api(city, "city")
        for i in range(CITY_ROUNDS):
            rd = city_maker[0].x("Rounds", "CreateRound", pb.CreateRoundRequest(round=pb.Round(
                region_code="110105", term=12, number=n * CITY_ROUNDS + i + 1,
                kind=pb.ROUND_KIND_ELEVATED, title="市委提级巡察 %d-%d" % (n, i),
                target_ids=[t.id])), "Round")
            city_rounds[rd.id] = digest(rd)

    kills = {"county": 0, "city": 0, "link": 0}
    unrecovered = 0  # rounds that began before a sync had succeeded again
    fault_ms = 0
    mid = 0        # faults whose last poll before them saw running with pending > 0
    waited_out = 0  # rounds where no running sync was seen before the fault
    start = time.monotonic()
    n = 0
    while n < MAX_FAULTS and (n < MIN_FAULTS or time.monotonic() - start < FAULT_BUDGET_S):
        if time.monotonic() - start > FAULT_BUDGET_S * 1.4:
            break  # too slow a machine: report fewer faults rather than run on
        if n > 0 and not recovered(fault_ms):
            unrecovered += 1
            print("  no successful sync within 20 s of fault %d" % n)
        if n > 0:
            # The link holds still while the wave is made, so the background
            # sync (every second) cannot push it piecemeal: the run after
            # resume() finds the whole wave pending and needs several batches.
            proxy.pause()
            try:
                city_made(n)
                make_wave(county_api, pb, ledger, rng, r.id, t.id, WAVE[0], WAVE[1], WAVE[2],
                          "w%d" % n)
            finally:
                proxy.resume()
        try:
            county_api.x("Sync", "SyncNow", spb.SyncNowRequest(), "SyncNowResponse",
                         timeout=5)
        except grpc.RpcError as e:
            print("  SyncNow: %s %s" % (e.code(), e.details()))
        # Wait for the window: running, with changes pending.
        seen = False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            p = county_api.upstream_peer()
            if p is not None and p.running and p.pending > 0:
                seen = True
                break
            time.sleep(0.005)
        if not seen:
            waited_out += 1
        time.sleep(rng.uniform(0.0, 0.06))
        p = county_api.upstream_peer()
        in_window = p is not None and p.running and p.pending > 0
        what = rng.choice(("county", "city", "link"))
        if what == "county":
            county.kill()
        elif what == "city":
            city.kill()
        else:
            proxy.cut(rng.uniform(0.2, 1.5))
        fault_ms = int(time.time() * 1000)
        kills[what] += 1
        mid += in_window
        n += 1
        print("fault %2d: %-6s %s (pending %s, pushed %s%s)"
              % (n, what, "mid-run" if in_window else "after the run" if seen else "no run seen",
                 p.pending if p else "?", p.pushed if p else "?",
                 "; last error: " + p.last_error[:90] if p and p.last_error else ""))
        if what == "county":
            county.start()
            county_api.close()
            county_api = api(county, "county")
        elif what == "city":
            city.start()
            proxy.set_target(city.port)
            if city_maker[0] is not None:
                city_maker[0].close()
                city_maker[0] = None
        c.ok(county.alive() and city.alive(), "fault %d: both servers up again" % n)

    print("faults: %r, %d of %d mid-run, %d rounds saw no running sync first"
          % (kills, mid, n, waited_out))
    c.eq(unrecovered, 0, "after every fault a sync succeeded again within 20 s")
    c.ok(n >= MIN_FAULTS, "at least %d faults injected (%d)" % (MIN_FAULTS, n))
    c.ok(mid * 2 > n, "most faults landed while a sync was running with changes pending "
         "(%d of %d)" % (mid, n))
    c.ok(all(v > 0 for v in kills.values()), "every kind of fault happened (%r)" % kills)

    print("final sync")
    while proxy.refusing():
        time.sleep(0.05)
    deadline = time.monotonic() + FINAL_SYNC_S
    done = p = None
    began_ms = int(time.time() * 1000)
    trigger = True
    while time.monotonic() < deadline:
        try:
            if trigger:
                county_api.x("Sync", "SyncNow", spb.SyncNowRequest(), "SyncNowResponse",
                             timeout=5)
                trigger = False
            time.sleep(0.2)
            p = county_api.upstream_peer()
            if p is None or p.running:
                continue
            if p.pending == 0 and p.last_error == "" and p.last_success_ms >= began_ms:
                done = p
                break
            # A run ended with changes left or an error: start another.
            trigger = True
        except grpc.RpcError as e:
            print("  final sync: %s %s" % (e.code(), e.details()))
            time.sleep(0.2)
    if not c.ok(done is not None, "the final sync completes within %.0f s (last: running %s, "
                "pending %s, error %r)" % (FINAL_SYNC_S, p.running if p else "?",
                                           p.pending if p else "?",
                                           p.last_error if p else "?")):
        # Is the link through the proxy usable by a fresh client? (Push with
        # no changes only asks for the acknowledged seq: it writes nothing.)
        probe = Api(proxy.addr, certdir, "county", pb, spb)
        try:
            ack = probe.x("Sync", "Push", spb.PushRequest(server=COUNTY), "PushResponse",
                          timeout=5)
            print("  diagnosis: a fresh client reaches the city through the proxy (proxy → "
                  "127.0.0.1:%d, city on %d; the city holds the county's log up to %d): the "
                  "county's own sync is stuck" % (proxy.target_port, city.port, ack.acked_seq))
        except grpc.RpcError as e:
            print("  diagnosis: a fresh client cannot reach the city through the proxy either "
                  "(%s %s; proxy → %d, city on %d)" % (e.code(), e.details(),
                                                        proxy.target_port, city.port))
        finally:
            probe.close()
        if os.environ.get("XC_SYNC_FAULT_STACKS") and shutil.which("gdb"):
            p = subprocess.run(["gdb", "-p", str(county.proc.pid), "-batch", "-ex",
                                "thread apply all bt 12"], capture_output=True, text=True,
                               timeout=60)
            # The threads in xunchad's own code, not the idle workers.
            threads = ["Thread " + t for t in p.stdout.split("\nThread ")[1:]
                       if " xc_" in t and "xc__worker_main" not in t]
            print("--- county threads ---\n%s\n---" % "\n".join(threads)[-12000:])

    st = county_api.sync_status()
    c.ok(st.log_entries <= 200 < st.last_seq,
         "the county's change log is pruned once the city holds it (%d entries of %d changes)"
         % (st.log_entries, st.last_seq))

    print("both sides against the test's own list")
    city_api = api(city, "city")
    county_recs = county_api.list_all("finding", include_void=True)
    city_recs = city_api.list_all("finding", region_prefix="110105", include_void=True)
    want = {i: digest(rec) for i, rec in ledger.recs.items()}
    for side, recs in (("county", county_recs), ("city", city_recs)):
        ids = [x.id for x in recs]
        c.eq(len(ids), len(set(ids)), "%s: no finding listed twice" % side)
        got = set(ids)
        lost = sorted(set(want) - got)
        extra = sorted(got - set(want))
        c.ok(not lost, "%s: none of the test's %d findings lost (%d missing, e.g. %s)"
             % (side, len(want), len(lost), lost[:3]))
        c.ok(not extra, "%s: no finding the test did not make (%d, e.g. %s)"
             % (side, len(extra), extra[:3]))
        bad = [x.id for x in recs if x.id in want and digest(x) != want[x.id]]
        c.ok(not bad, "%s: every finding's SHA-256 is the test's own (%d differ, e.g. %s)"
             % (side, len(bad), bad[:3]))
        voided = sum(1 for x in recs if x.id in ledger.voided and x.void_reason != "")
        c.eq(voided, len(ledger.voided), "%s: the voids are there" % side)
    county_by_id = {x.id: digest(x) for x in county_recs}
    diff = [x.id for x in city_recs if county_by_id.get(x.id) != digest(x)]
    c.ok(not diff, "county and city hold the same bytes per finding (%d differ)" % len(diff))
    county_rounds = {x.id: digest(x) for x in county_api.list_all("round", include_void=True)}
    want_rounds = dict(city_rounds)
    want_rounds[r.id] = digest(r)
    c.eq(len(city_rounds), (n - 1) * CITY_ROUNDS, "the city made its rounds for the county")
    c.ok(county_rounds == want_rounds,
         "the county holds exactly its round and the city's %d elevated rounds, byte for byte "
         "(%d missing, %d extra, %d differ)"
         % (len(city_rounds), len(set(want_rounds) - set(county_rounds)),
            len(set(county_rounds) - set(want_rounds)),
            sum(1 for k in want_rounds
                if k in county_rounds and county_rounds[k] != want_rounds[k])))
    for kind, rec in (("target", t), ("round", r)):
        svc = {"target": "Targets", "round": "Rounds"}[kind]
        name = kind.capitalize()
        try:
            got = city_api.x(svc, "Get" + name, getattr(pb, "Get%sRequest" % name)(id=rec.id),
                             name)
            c.ok(digest(got) == digest(rec), "the county's %s is on the city unchanged" % kind)
        except grpc.RpcError as e:
            c.ok(False, "the county's %s on the city (%s)" % (kind, e.code()))
    p = cli(args.xuncha, certdir, county, "county", "sync", "verify")
    c.ok(p.returncode == 0 and "校验一致" in p.stdout,
         "xuncha sync verify: clean (%d; %s)" % (p.returncode, (p.stdout + p.stderr)[-400:]))

    print("xuncha sync now while the link refuses")
    proxy.cut(3.0)
    p = cli(args.xuncha, certdir, county, "county", "sync", "now", "--timeout", "20")
    c.ok(p.returncode == 5 and "同步失败" in p.stderr and "cannot reach" in p.stderr,
         "sync now: exit 5 and the error in words (%d; %r)" % (p.returncode, p.stderr[-300:]))
    while proxy.refusing():
        time.sleep(0.05)

    print("SIGTERM while a sync waits on a link that holds still")
    proxy.pause()
    try:
        county_api.x("Findings", "CreateFinding", pb.CreateFindingRequest(finding=pb.Finding(
            round_id=r.id, target_id=t.id, title="停机前的问题", area=pb.FINDING_AREA_CONDUCT)),
            "Finding")
        county_api.x("Sync", "SyncNow", spb.SyncNowRequest(), "SyncNowResponse")
        stuck = wait_until(lambda: (county_api.upstream_peer() or spb.PeerStatus()).running, 5)
        time.sleep(0.3)
        c.ok(stuck, "the county's sync is under way, its call held by the link")
        t0 = time.monotonic()
        county.proc.send_signal(signal.SIGTERM)
        try:
            code = county.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            code = None
        took = time.monotonic() - t0
        c.ok(code == 0 and took < 5.0,
             "SIGTERM: the county exits 0 at once, not when its upstream call times out "
             "(exit %r after %.1f s)" % (code, took))
    finally:
        proxy.resume()


def main():
    args = parse_args(__doc__.split("\n")[0])
    if args is None:
        return 1
    seed_env = os.environ.get("XC_SYNC_FAULT_SEED", "")
    seed = int(seed_env) if seed_env.isdigit() else random.SystemRandom().randrange(1, 2**31)
    print("seed %d (set XC_SYNC_FAULT_SEED=%d to repeat this run)" % (seed, seed))
    began = time.monotonic()
    return run_suite("xc-syncf-", lambda tmp, c: run(args, tmp, c, seed),
                     expected=(FederationMissing,), crash="the test ran to the end",
                     tail=lambda: " in %.0f s (seed %d)" % (time.monotonic() - began, seed))


if __name__ == "__main__":
    sys.exit(main())
