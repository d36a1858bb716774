#!/usr/bin/python3
"""e2e_sync: federation of a city, a county and a township server (issue 5).

Three xunchad on 127.0.0.1, each with its own data directory and server
certificate; the county's upstream is the city, the township's the county,
each calling up with its own client certificate (office:<its region>). The
homes map is xc_sync_util.HOMES. Background sync runs once an hour here, so
every sync is one the test starts (`xuncha sync now`, or Sync/SyncNow).

Checks:
- county records reach the city; township records cascade to the city
  through the county, byte for byte;
- a city record for the county's region (an elevated round on a county
  target) is pulled down to the county, and one for the township's region
  down to the township;
- a lead never flows down: a city lead sent to a city agency stays off the
  county; one sent to an agency at home on the county reaches it;
- a county lead sent to the city's agency goes up, and the agency's
  disposition recorded on the city comes down to the county;
- writes refused: an office at home on the county writing on the city gets
  FAILED_PRECONDITION naming county-110105; the city updating a county-owned
  record on the city gets FAILED_PRECONDITION naming the owner;
- a county certificate calling Sync/Push on the city with a record of
  another county (110106) is refused with PERMISSION_DENIED, nothing written;
- the township offline (stopped) while county and city go on; restarted, it
  catches up both ways;
- `xuncha sync status` shows the upstream, pending changes and the last
  success; `xuncha sync verify` is clean after a sync and names a record
  created since (上级缺少), exit status 1.

Run with Debian's /usr/bin/python3:

  tests/e2e/sync_test.py --xunchad build/server/xunchad --xuncha build/client/xuncha \
      --certs certs/xuncha-certs --proto-dir proto [--protoc protoc]

Exits 0 when every check passed, 1 otherwise. XC_E2E_KEEP=1 keeps the
temporary directory.
"""
import json
import os
import random
import re
import sys
import time

import grpc
from xc_checks import run_on_terminal, run_suite
from xc_sync_util import (Api, FederationMissing, Server, cli, digest, generate, make_certs,
                          parse_args, write_homes)

CITY, COUNTY, TOWNSHIP = "city-1101", "county-110105", "township-110105001"


def fake_id(prefix):
    """A well-formed record id no server made (Crockford base32 ULID)."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return prefix + "_01J" + "".join(random.choice(alphabet) for _ in range(23))


class Fed:
    """The three servers and the test's channels to them."""

    def __init__(self, args, tmp, pb, spb, certdir):
        self.args, self.tmp, self.pb, self.spb, self.certdir = args, tmp, pb, spb, certdir
        homes = os.path.join(tmp, "homes.ini")
        write_homes(homes)
        self.city = Server(args.xunchad, tmp, certdir, CITY, homes)
        self.county = Server(args.xunchad, tmp, certdir, COUNTY, homes,
                             upstream=lambda: self.city.addr, upstream_cert="county")
        self.township = Server(args.xunchad, tmp, certdir, TOWNSHIP, homes,
                               upstream=lambda: self.county.addr, upstream_cert="township")
        self.apis = []
        try:
            for s in (self.city, self.county, self.township):
                s.start()
        except Exception:
            for s in (self.city, self.county, self.township):
                s.kill()
            raise

    def api(self, server, who):
        a = Api(server.addr, self.certdir, who, self.pb, self.spb)
        self.apis.append(a)
        return a

    def sync(self, c, server, who, what):
        """`xuncha sync now` on server; checks exit 0 and returns the output."""
        p = cli(self.args.xuncha, self.certdir, server, who, "sync", "now", "--timeout", "60")
        c.ok(p.returncode == 0, "%s: xuncha sync now on %s exits 0 (%d; %s)"
             % (what, server.name, p.returncode, (p.stderr.strip() or p.stdout.strip())[-300:]))
        return p

    def close(self):
        for a in self.apis:
            a.close()
        codes = {}
        for s in (self.township, self.county, self.city):
            codes[s.name] = s.stop()
        return codes


def same(c, a_rec, b_rec, what):
    return c.ok(a_rec is not None and b_rec is not None and digest(a_rec) == digest(b_rec),
                "%s: the same bytes on both servers" % what)


def get(api, kind, rid):
    """The record, or None with NOT_FOUND (other errors raise)."""
    svc = {"target": "Targets", "round": "Rounds", "finding": "Findings", "lead": "Leads"}[kind]
    name = kind.capitalize()
    try:
        return api.x(svc, "Get" + name, getattr(api.pb, "Get%sRequest" % name)(id=rid), name)
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def run(args, tmp, c):
    pb, spb = generate(args.protoc, args.proto_dir, tmp)
    certdir = os.path.join(tmp, "certs")
    make_certs(args.certs, certdir)
    fed = Fed(args, tmp, pb, spb, certdir)
    try:
        scenario(c, fed, pb, spb)
    finally:
        codes = fed.close()
        for name, code in codes.items():
            c.eq(code, 0, "%s exits 0 on SIGTERM" % name)
        if c.failed:
            for s in (fed.city, fed.county, fed.township):
                print("--- %s log (tail) ---\n%s\n---" % (s.name, s.read_log()[-3000:]))


def scenario(c, fed, pb, spb):
    city_on_city = fed.api(fed.city, "city")
    county_on_county = fed.api(fed.county, "county")
    county_on_city = fed.api(fed.city, "county")
    town_on_town = fed.api(fed.township, "township")
    city_on_county = fed.api(fed.county, "city")
    city_on_town = fed.api(fed.township, "city")
    jwc_on_county = fed.api(fed.county, "jw-county")

    print("status before any sync")
    st = county_on_county.sync_status()
    c.eq(st.server, COUNTY, "GetSyncStatus names this server")
    up = county_on_county.upstream_peer()
    c.ok(up is not None and up.peer == CITY and up.address == fed.city.addr,
         "the county's upstream peer is %s at %s (%r)" % (CITY, fed.city.addr,
                                                          (up.peer, up.address) if up else None))

    print("county records reach the city")
    t1 = county_on_county.x("Targets", "CreateTarget", pb.CreateTargetRequest(target=pb.Target(
        region_code="110105", name="区发改委", kind=pb.TARGET_KIND_COUNTY_DEPARTMENT,
        party_secretary="李书记")), "Target")
    r1 = county_on_county.x("Rounds", "CreateRound", pb.CreateRoundRequest(round=pb.Round(
        region_code="110105", term=3, number=1, kind=pb.ROUND_KIND_REGULAR,
        title="区委第三届第一轮巡察", target_ids=[t1.id])), "Round")
    # Leads go to directory entries: the county's commission is the
    # county's record, synced up with the rest.
    county_on_county.x("Directory", "CreateDirectoryEntry", pb.CreateDirectoryEntryRequest(
        entry=pb.DirectoryEntry(region_code="110105", name="区纪委监委",
                                kind=pb.DIRECTORY_KIND_DISCIPLINE_COMMISSION,
                                identity="agency:110105:jw")), "DirectoryEntry")
    findings = []
    for i in range(3):
        findings.append(county_on_county.x("Findings", "CreateFinding", pb.CreateFindingRequest(
            finding=pb.Finding(round_id=r1.id, target_id=t1.id, title="问题%d" % i,
                               area=pb.FINDING_AREA_CONDUCT, tags=["四风"])), "Finding"))
    time.sleep(0.3)  # so the oldest unacknowledged change has an age
    p = cli(fed.args.xuncha, fed.certdir, fed.county, "county", "sync", "status", "--json")
    try:
        js = json.loads(p.stdout)
        ups = [x for x in js.get("peers", []) if x.get("direction") == "upstream"]
        pend, lag = int(ups[0].get("pending", 0)), int(ups[0].get("lag_ms", 0))
    except (ValueError, KeyError, IndexError):
        js, pend, lag = None, -1, -1
    c.ok(p.returncode == 0 and pend >= 6,
         "xuncha sync status --json: the upstream has >= 6 pending before the sync (%d; %s)"
         % (pend, p.stderr.strip()[-200:]))
    c.ok(lag >= 300, "... and a lag of at least the 300 ms since they were made (%d ms)" % lag)
    p = cli(fed.args.xuncha, fed.certdir, fed.county, "county", "sync", "status")
    row = [ln for ln in p.stdout.splitlines() if CITY in ln]
    c.ok(row and re.search(r"\s%d\s" % pend, row[0]) and "待同步" in p.stdout,
         "xuncha sync status: the upstream row shows the %d pending (%r)" % (pend, row))
    out = fed.sync(c, fed.county, "county", "county → city")
    c.ok("同步完成" in out.stdout, "sync now says 同步完成 (%r)" % out.stdout[-200:])
    for rec, kind in [(t1, "target"), (r1, "round")] + [(f, "finding") for f in findings]:
        same(c, rec, get(city_on_city, kind, rec.id), "county %s %s on the city" % (kind, rec.id))

    print("township records cascade through the county")
    t2 = town_on_town.x("Targets", "CreateTarget", pb.CreateTargetRequest(target=pb.Target(
        region_code="110105001001", name="某村", kind=pb.TARGET_KIND_VILLAGE)), "Target")
    r2 = town_on_town.x("Rounds", "CreateRound", pb.CreateRoundRequest(round=pb.Round(
        region_code="110105001", term=1, number=1, kind=pb.ROUND_KIND_EXTENDED,
        title="镇党委第一轮延伸巡察", target_ids=[t2.id])), "Round")
    f2 = town_on_town.x("Findings", "CreateFinding", pb.CreateFindingRequest(
        finding=pb.Finding(round_id=r2.id, target_id=t2.id, title="村务公开不及时",
                           area=pb.FINDING_AREA_ORGANIZATIONAL)), "Finding")
    fed.sync(c, fed.township, "township", "township → county")
    same(c, f2, get(county_on_county, "finding", f2.id), "township finding on the county")
    fed.sync(c, fed.county, "county", "county → city (cascade)")
    for rec, kind in ((t2, "target"), (r2, "round"), (f2, "finding")):
        same(c, rec, get(city_on_city, kind, rec.id), "township %s on the city" % kind)

    print("records made above for a region are pulled down; leads do not flow down")
    er = city_on_city.x("Rounds", "CreateRound", pb.CreateRoundRequest(round=pb.Round(
        region_code="110105", term=12, number=4, kind=pb.ROUND_KIND_ELEVATED,
        title="市委提级巡察区发改委", target_ids=[t1.id])), "Round")
    city_on_city.x("Directory", "CreateDirectoryEntry", pb.CreateDirectoryEntryRequest(
        entry=pb.DirectoryEntry(region_code="1101", name="市纪委监委",
                                kind=pb.DIRECTORY_KIND_DISCIPLINE_COMMISSION,
                                identity="agency:1101:jw")), "DirectoryEntry")
    lead_city = city_on_city.x("Leads", "CreateLead", pb.CreateLeadRequest(lead=pb.Lead(
        round_id=er.id, target_id=t1.id, category=pb.LEAD_CATEGORY_DISCIPLINE,
        recipient="agency:1101:jw", summary="涉嫌违规收受礼金",
        persons=[pb.Person(name="张三", position="主任")], transfer_date="2026-11-01")), "Lead")
    lead_down = city_on_city.x("Leads", "CreateLead", pb.CreateLeadRequest(lead=pb.Lead(
        round_id=er.id, target_id=t1.id, category=pb.LEAD_CATEGORY_DISCIPLINE,
        recipient="agency:110105:jw", summary="交区纪委监委处置",
        persons=[pb.Person(name="李四", position="科长")], transfer_date="2026-11-02")), "Lead")
    fed.sync(c, fed.county, "county", "county pulls from the city")
    same(c, er, get(county_on_county, "round", er.id), "the city's elevated round on the county")
    c.ok(get(city_on_county, "lead", lead_city.id) is None,
         "a city lead to agency:1101:jw is not on the county (NOT_FOUND to the city's own cert)")
    same(c, lead_down, get(jwc_on_county, "lead", lead_down.id),
         "a city lead to agency:110105:jw (at home on the county) is on the county")

    print("a county lead sent to the city's agency: its disposition comes down")
    lead_up = county_on_county.x("Leads", "CreateLead", pb.CreateLeadRequest(lead=pb.Lead(
        round_id=r1.id, target_id=t1.id, finding_id=findings[1].id,
        category=pb.LEAD_CATEGORY_DISCIPLINE, recipient="agency:1101:jw",
        summary="区里移交市纪委监委的线索", persons=[pb.Person(name="王五", position="局长")],
        transfer_date="2026-11-03")), "Lead")
    fed.sync(c, fed.county, "county", "the county's lead goes up")
    jw_on_city = fed.api(fed.city, "jw-city")
    up_copy = get(jw_on_city, "lead", lead_up.id)
    if c.ok(up_copy is not None, "the county's lead to agency:1101:jw is on the city, for it"):
        d = jw_on_city.x("Leads", "RecordDisposition", pb.RecordDispositionRequest(
            disposition=pb.LeadDisposition(lead_id=lead_up.id,
                                           disposal=pb.LEAD_DISPOSAL_PRELIMINARY_VERIFICATION,
                                           note="市纪委监委初步核实"),
            lead_etag=up_copy.etag), "RecordDispositionResponse")
        fed.sync(c, fed.county, "county", "the disposition comes down")
        ld = county_on_county.x("Leads", "ListDispositions", pb.ListDispositionsRequest(
            lead_id=lead_up.id), "ListDispositionsResponse")
        c.eq([digest(x) for x in ld.dispositions], [digest(d.disposition)],
             "the agency's disposition is on the county, byte for byte")
        got = get(county_on_county, "lead", lead_up.id)
        c.eq(got.disposal if got else None, pb.LEAD_DISPOSAL_PRELIMINARY_VERIFICATION,
             "... and the county's lead shows it (初步核实)")

    print("writes refused")
    code, det = county_on_city.status("Targets", "CreateTarget", pb.CreateTargetRequest(
        target=pb.Target(region_code="110105", name="越权写入", kind=pb.TARGET_KIND_VILLAGE)),
        "Target")
    c.eq(code, grpc.StatusCode.FAILED_PRECONDITION,
         "office:110105 writing on the city: FAILED_PRECONDITION")
    c.ok(COUNTY in det, "... naming its home server %s (%r)" % (COUNTY, det))
    replica = get(city_on_city, "finding", findings[0].id)
    if c.ok(replica is not None, "the city holds the county's finding"):
        mod = pb.Finding()
        mod.CopyFrom(replica)
        mod.rectification.measures = "市里改的"
        code, det = city_on_city.status("Findings", "UpdateFinding",
                                        pb.UpdateFindingRequest(finding=mod), "Finding")
        c.eq(code, grpc.StatusCode.FAILED_PRECONDITION,
             "the city updating a county-owned finding on the city: FAILED_PRECONDITION")
        c.ok("office:110105" in det or COUNTY in det,
             "... naming the owner office:110105 / %s (%r)" % (COUNTY, det))
        same(c, findings[0], get(city_on_city, "finding", findings[0].id),
             "the refused update changed nothing")
    er_copy = get(city_on_county, "round", er.id)
    if er_copy is not None:
        er_copy.title = "在区里改市里的轮次"
        code, det = city_on_county.status("Rounds", "UpdateRound",
                                          pb.UpdateRoundRequest(round=er_copy), "Round")
        c.eq(code, grpc.StatusCode.FAILED_PRECONDITION,
             "the city writing its own round on the county (not its home): FAILED_PRECONDITION")
        c.ok(CITY in det, "... naming %s (%r)" % (CITY, det))

    print("a county cannot push another county's records")
    st = county_on_county.sync_status()
    up = county_on_county.upstream_peer()
    c.eq(up.pending if up else None, 0, "the county has nothing pending before the forged push")
    forged = []
    for owner, region in (("office:110106", "110106"), ("office:110105", "110106001")):
        tid = fake_id("t")
        rec = pb.Target(id=tid, region_code=region, owner=owner, etag="e1", name="伪造的单位",
                        kind=pb.TARGET_KIND_VILLAGE, create_time_ms=1, update_time_ms=1,
                        created_by=owner + "#1", updated_by=owner + "#1")
        ch = pb.Change(seq=st.last_seq, kind="target", id=tid, op="create", etag="e1",
                       time_ms=1, author=owner + "#1", record=rec.SerializeToString(),
                       origin=COUNTY, origin_seq=st.last_seq)
        code, det = county_on_city.status("Sync", "Push", spb.PushRequest(
            server=COUNTY, changes=[ch], upto_seq=st.last_seq, last_seq=st.last_seq),
            "PushResponse")
        c.eq(code, grpc.StatusCode.PERMISSION_DENIED,
             "Push by office:110105 of a target in %s owned by %s: PERMISSION_DENIED (%r)"
             % (region, owner, det))
        forged.append(tid)
    for tid in forged:
        c.ok(get(city_on_city, "target", tid) is None, "forged target %s not on the city" % tid)
        c.ok(tid in fed.city.read_log() and "refused a push" in fed.city.read_log(),
             "the city logged the refused push naming %s" % tid)
    c.eq(len(city_on_city.list_all("target", region_prefix="110106")), 0,
         "the city lists no target in 110106")

    print("the township offline while the county and the city go on")
    f_late = town_on_town.x("Findings", "CreateFinding", pb.CreateFindingRequest(
        finding=pb.Finding(round_id=r2.id, target_id=t2.id, title="离线前未同步的问题",
                           area=pb.FINDING_AREA_DISCIPLINE)), "Finding")
    town_on_town.close()
    city_on_town.close()
    c.eq(fed.township.stop(), 0, "township stopped")
    er2 = city_on_city.x("Rounds", "CreateRound", pb.CreateRoundRequest(round=pb.Round(
        region_code="110105001", term=12, number=5, kind=pb.ROUND_KIND_ELEVATED,
        title="市委提级巡察某村", target_ids=[t2.id])), "Round")
    f3 = county_on_county.x("Findings", "CreateFinding", pb.CreateFindingRequest(
        finding=pb.Finding(round_id=r1.id, target_id=t1.id, title="township 离线时的区级问题",
                           area=pb.FINDING_AREA_POLITICAL)), "Finding")
    fed.sync(c, fed.county, "county", "county ↔ city while the township is down")
    same(c, f3, get(city_on_city, "finding", f3.id), "the county goes on: its finding on the city")
    same(c, er2, get(county_on_county, "round", er2.id),
         "the city's round for the township's region is on the county")
    fed.township.start()
    town_on_town = fed.api(fed.township, "township")
    city_on_town = fed.api(fed.township, "city")
    fed.sync(c, fed.township, "township", "township back")
    same(c, er2, get(town_on_town, "round", er2.id),
         "the township caught up: the city's round for its region is there")
    c.ok(get(city_on_town, "round", er.id) is None,
         "the county-level elevated round is not on the township (not its region)")
    fed.sync(c, fed.county, "county", "county after the township came back")
    same(c, f_late, get(city_on_city, "finding", f_late.id),
         "the township's finding made before it went down reached the city")

    print("xuncha sync status and verify")
    p = cli(fed.args.xuncha, fed.certdir, fed.county, "county", "sync", "status")
    c.ok(p.returncode == 0, "sync status exits 0 (%s)" % p.stderr.strip()[-200:])
    for word in ("上级", CITY, "下级", TOWNSHIP, "最近成功", "待同步", "滞后", "最近错误"):
        c.ok(word in p.stdout, "sync status shows %s" % word)
    c.ok("从未" not in p.stdout.split(CITY, 1)[-1].split("\n", 1)[0],
         "the upstream row has a last success (%r)" % p.stdout)
    p = cli(fed.args.xuncha, fed.certdir, fed.county, "county", "sync", "status", "--json")
    try:
        js = json.loads(p.stdout)
        up = [x for x in js["peers"] if x["direction"] == "upstream"][0]
        c.ok(int(up["last_success_ms"]) > 0 and int(up["pending"]) == 0 and up["last_error"] == "",
             "sync status --json: upstream last_success_ms set, pending 0, no error (%r)" % up)
    except (ValueError, KeyError, IndexError) as e:
        c.ok(False, "sync status --json parses (%s: %r)" % (e, p.stdout[-300:]))
    p = cli(fed.args.xuncha, fed.certdir, fed.county, "county", "sync", "verify")
    c.ok(p.returncode == 0 and "校验一致" in p.stdout,
         "sync verify after the sync: exit 0, 校验一致 (%d; %s)"
         % (p.returncode, (p.stdout + p.stderr)[-400:]))
    c.ok(COUNTY in p.stdout, "sync verify lists the county's origin")
    extra = county_on_county.x("Findings", "CreateFinding", pb.CreateFindingRequest(
        finding=pb.Finding(round_id=r1.id, target_id=t1.id, title="尚未同步的问题",
                           area=pb.FINDING_AREA_CONDUCT)), "Finding")
    p = cli(fed.args.xuncha, fed.certdir, fed.county, "county", "sync", "verify")
    c.eq(p.returncode, 1, "sync verify with an unsynced record: exit 1")
    c.ok(extra.id in p.stdout and "上级缺少" in p.stdout and "校验不一致" in p.stdout,
         "... names %s as 上级缺少 (%r)" % (extra.id, p.stdout[-400:]))
    p = cli(fed.args.xuncha, fed.certdir, fed.county, "county", "sync", "verify", "--json")
    try:
        js = json.loads(p.stdout)
        c.ok(js["clean"] is False and any(d["id"] == extra.id for d in js["differences"]),
             "sync verify --json: clean false, the record among the differences")
    except (ValueError, KeyError) as e:
        c.ok(False, "sync verify --json parses (%s: %r)" % (e, p.stdout[-300:]))
    p = cli(fed.args.xuncha, fed.certdir, fed.city, "city", "sync", "now", "--timeout", "20")
    c.ok(p.returncode not in (0, 1) and "upstream" in p.stderr,
         "sync now on the city, which has no upstream: refused in words (%d; %r)"
         % (p.returncode, p.stderr.strip()[-200:]))
    # The same sync on a terminal: a progress bar redrawn in place.
    certdir = fed.certdir
    q, seen = run_on_terminal(
        [fed.args.xuncha, "--server", fed.county.addr, "--ca", certdir + "/ca.pem",
         "--cert", certdir + "/county.pem", "--key", certdir + "/county.key", "sync", "now"],
        timeout=60, env=dict(os.environ, HOME="/nonexistent"))
    text = seen.decode("utf-8", "replace")
    c.ok(q.returncode == 0 and "\r\x1b[K同步 → %s [" % CITY in text and "100%" in text
         and "同步进度" not in text,
         "sync now on a terminal draws a bar in place (%r)" % text[-200:])
    c.ok("同步完成" in q.stdout.decode("utf-8", "replace"), "... and says 同步完成 on stdout")
    p = cli(fed.args.xuncha, fed.certdir, fed.county, "county", "sync", "verify")
    c.ok(p.returncode == 0, "sync verify clean again after syncing it (%d)" % p.returncode)
    p = cli(fed.args.xuncha, fed.certdir, fed.township, "township", "sync", "verify")
    c.ok(p.returncode == 0, "sync verify on the township: clean (%d; %s)"
         % (p.returncode, (p.stdout + p.stderr)[-300:]))


def main():
    args = parse_args(__doc__.split("\n")[0])
    if args is None:
        return 1
    return run_suite("xc-sync-", lambda tmp, c: run(args, tmp, c), expected=(FederationMissing,),
                     crash="the test ran to the end")


if __name__ == "__main__":
    sys.exit(main())
