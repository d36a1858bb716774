#!/usr/bin/python3
"""e2e_interop: a stock gRPC client (Python grpcio) calls every method of xunchad.

Starts its own xunchad on 127.0.0.1 in a temporary directory, with
certificates made by certs/xuncha-certs, and calls every method of
xuncha.v1.Targets, Rounds, Findings, Leads, Directory and Records (the workflow
methods of server/WORKFLOWS.md included) and grpc.health.v1.Health/Check
over mutual TLS through grpc.Channel.unary_unary, with message classes that
protoc generates at test time (SerializeToString / FromString). Each call must
succeed or give the status the API documents.

Run with Debian's /usr/bin/python3 (python3-grpcio, python3-protobuf) and
protoc (protobuf-compiler):

  /usr/bin/python3 tests/e2e/interop_test.py --xunchad build/server/xunchad \
      --certs certs/xuncha-certs --proto-dir proto

Exits 0 when every check passed, 1 otherwise. Set XC_E2E_KEEP=1 to keep the
temporary directory.
"""
import argparse
import importlib
import os
import re
import shutil
import subprocess
import sys
import time

import grpc
from xc_checks import CALL_TIMEOUT, START_TIMEOUT, run_suite, stop_process, tls_channel


def generate(protoc, proto_dir, out):
    """Generates the *_pb2 modules into out and imports them.

    health.proto is compiled under another path (xc_health/) so that its module
    does not collide with the grpc package of grpcio.
    """
    src = os.path.join(out, "protos")
    os.makedirs(os.path.join(src, "xuncha", "v1"))
    os.makedirs(os.path.join(src, "xc_health"))
    shutil.copy(os.path.join(proto_dir, "xuncha", "v1", "xuncha.proto"),
                os.path.join(src, "xuncha", "v1", "xuncha.proto"))
    shutil.copy(os.path.join(proto_dir, "xuncha", "v1", "archive.proto"),
                os.path.join(src, "xuncha", "v1", "archive.proto"))
    shutil.copy(os.path.join(proto_dir, "grpc", "health", "v1", "health.proto"),
                os.path.join(src, "xc_health", "health.proto"))
    shutil.copy(os.path.join(proto_dir, "xuncha", "v1", "reports.proto"),
                os.path.join(src, "xuncha", "v1", "reports.proto"))
    gen = os.path.join(out, "gen")
    os.makedirs(gen)
    subprocess.run([protoc, "--python_out=" + gen, "-I", src, "xuncha/v1/xuncha.proto",
                    "xuncha/v1/archive.proto", "xuncha/v1/reports.proto",
                    "xc_health/health.proto"], check=True, timeout=60)
    sys.path.insert(0, gen)
    pb = importlib.import_module("xuncha.v1.xuncha_pb2")
    # Archive and pool (archive.proto, same package): one namespace for both.
    apb = importlib.import_module("xuncha.v1.archive_pb2")
    for name in dir(apb):
        if not name.startswith("_") and not hasattr(pb, name):
            setattr(pb, name, getattr(apb, name))
    health = importlib.import_module("xc_health.health_pb2")
    global rpb
    rpb = importlib.import_module("xuncha.v1.reports_pb2")
    return pb, health


class Server:
    """An xunchad child on 127.0.0.1:0, its stderr in a log file."""

    def __init__(self, binary, tmp, certdir):
        self.log_path = os.path.join(tmp, "xunchad.log")
        self.port_file = os.path.join(tmp, "xunchad.port")
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--port-file", self.port_file, "--data", data,
             "--cert", os.path.join(certdir, "server.pem"),
             "--key", os.path.join(certdir, "server.key"),
             "--ca", os.path.join(certdir, "ca.pem")],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, cwd=tmp)
        self.port = self._wait_port()

    def _wait_port(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("xunchad exited with %s before listening:\n%s"
                                   % (self.proc.returncode, self.read_log()))
            try:
                with open(self.port_file) as f:
                    m = re.search(r"(\d+)\D*$", f.read())
                if m:
                    time.sleep(0.02)
                    with open(self.port_file) as f:
                        m2 = re.search(r"(\d+)\D*$", f.read())
                    if m2 and m2.group(1) == m.group(1):
                        return int(m.group(1))
            except FileNotFoundError:
                pass
            time.sleep(0.01)
        self.stop()
        raise RuntimeError("xunchad wrote no port file within %.0f s:\n%s"
                           % (START_TIMEOUT, self.read_log()))

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        """SIGTERM, a bounded wait, then SIGKILL. Returns the exit code."""
        code = stop_process(self.proc)
        self.log.close()
        return code


def channel(port, certdir, who):
    return tls_channel("127.0.0.1:%d" % port, certdir, who)


class Api:
    """Calls methods by path with generated message classes."""

    def __init__(self, ch, pb):
        self.ch = ch
        self.pb = pb

    def call(self, path, req, resp_cls):
        stub = self.ch.unary_unary(path, request_serializer=type(req).SerializeToString,
                                   response_deserializer=resp_cls.FromString)
        return stub(req, timeout=CALL_TIMEOUT)

    def x(self, service, method, req, resp_name):
        return self.call("/xuncha.v1.%s/%s" % (service, method), req,
                         getattr(self.pb, resp_name))

    def status(self, service, method, req, resp_name):
        """Returns the status code of a call expected to fail (OK if it did not)."""
        try:
            self.x(service, method, req, resp_name)
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as e:
            return e.code(), e.details() or ""


def check_record(c, rec, what, owner="office:310104"):
    c.ok(rec.id != "", "%s: server set an id (%s)" % (what, rec.id))
    c.eq(rec.owner, owner, "%s: owner" % what)
    c.ok(rec.etag != "", "%s: server set an etag" % what)
    c.ok(rec.create_time_ms > 0 and rec.update_time_ms >= rec.create_time_ms,
         "%s: create/update times set" % what)
    c.ok(rec.created_by.startswith(owner + "#"),
         "%s: created_by is <CN>#<serial> (%s)" % (what, rec.created_by))


def run(args, tmp, c):
    pb, health = generate(args.protoc, args.proto_dir, tmp)
    certdir = os.path.join(tmp, "certs")
    subprocess.run(["/bin/bash", args.certs, "dev", certdir], check=True, timeout=60,
                   stdout=subprocess.DEVNULL)
    server = Server(args.xunchad, tmp, certdir)
    try:
        with channel(server.port, certdir, "county-a") as ch_a, \
                channel(server.port, certdir, "county-b") as ch_b, \
                channel(server.port, certdir, "jw") as ch_jw, \
                channel(server.port, certdir, "city") as ch_city:
            calls(c, pb, health, Api(ch_a, pb), Api(ch_b, pb), Api(ch_jw, pb),
                  Api(ch_city, pb))
            report_calls(c, pb, Api(ch_a, rpb), Api(ch_jw, rpb))
    finally:
        code = server.stop()
        c.eq(code, 0, "xunchad exits 0 on SIGTERM")
        if c.failed:
            log = server.read_log()
            print("--- xunchad log (tail) ---\n%s\n---" % log[-4000:])


def calls(c, pb, health, a, b, jw, city):
    # grpc.health.v1.Health/Check
    resp = a.call("/grpc.health.v1.Health/Check", health.HealthCheckRequest(),
                  health.HealthCheckResponse)
    c.eq(resp.status, health.HealthCheckResponse.SERVING, "Health/Check: SERVING")

    # ---- Targets
    t = a.x("Targets", "CreateTarget", pb.CreateTargetRequest(
        target=pb.Target(region_code="310104", name="互通测试单位",
                         kind=pb.TARGET_KIND_MUNICIPAL_DEPARTMENT, party_secretary="王书记",
                         owner="office:9999", etag="x", create_time_ms=1)),
        "Target")
    check_record(c, t, "CreateTarget")
    c.eq(t.name, "互通测试单位", "CreateTarget: name round-trips")
    got = a.x("Targets", "GetTarget", pb.GetTargetRequest(id=t.id), "Target")
    c.ok(got.SerializeToString() == t.SerializeToString(), "GetTarget: same bytes as created")
    lst = a.x("Targets", "ListTargets", pb.ListTargetsRequest(page_size=1000,
                                                              region_prefix="310104"),
              "ListTargetsResponse")
    c.ok(t.id in [x.id for x in lst.targets], "ListTargets: lists it")
    lst = a.x("Targets", "ListTargets", pb.ListTargetsRequest(name_contains="互通"),
              "ListTargetsResponse")
    c.eq([x.id for x in lst.targets], [t.id], "ListTargets name_contains")
    mod = pb.Target()
    mod.CopyFrom(t)
    mod.note = "改过"
    t2 = a.x("Targets", "UpdateTarget", pb.UpdateTargetRequest(target=mod), "Target")
    c.eq(t2.note, "改过", "UpdateTarget: note changed")
    c.ok(t2.etag != t.etag, "UpdateTarget: etag changed")
    code, _ = a.status("Targets", "UpdateTarget", pb.UpdateTargetRequest(target=mod), "Target")
    c.eq(code, grpc.StatusCode.ABORTED, "UpdateTarget with a stale etag: ABORTED")
    code, _ = a.status("Targets", "GetTarget", pb.GetTargetRequest(id="t_01HZZZZZZZZZZZZZZZZZZZZZZZ"),
                       "Target")
    c.eq(code, grpc.StatusCode.NOT_FOUND, "GetTarget of an unknown id: NOT_FOUND")
    code, _ = b.status("Targets", "GetTarget", pb.GetTargetRequest(id=t.id), "Target")
    c.eq(code, grpc.StatusCode.PERMISSION_DENIED, "GetTarget by another county: PERMISSION_DENIED")
    code, _ = a.status("Targets", "ListTargets", pb.ListTargetsRequest(page_size=-5),
                       "ListTargetsResponse")
    c.eq(code, grpc.StatusCode.INVALID_ARGUMENT, "ListTargets page_size -5: INVALID_ARGUMENT")

    # ---- Rounds and groups
    r = a.x("Rounds", "CreateRound", pb.CreateRoundRequest(
        round=pb.Round(region_code="310104", term=15, number=3, kind=pb.ROUND_KIND_SPECIAL,
                       title="第三轮专项巡察", target_ids=[t.id], start_date="2024-03-01",
                       stage=pb.ROUND_STAGE_ARCHIVED)), "Round")
    check_record(c, r, "CreateRound")
    c.eq(r.stage, pb.ROUND_STAGE_PREPARATION, "CreateRound: stage PREPARATION")
    got = a.x("Rounds", "GetRound", pb.GetRoundRequest(id=r.id), "Round")
    c.ok(got.SerializeToString() == r.SerializeToString(), "GetRound: same bytes as created")
    lst = a.x("Rounds", "ListRounds", pb.ListRoundsRequest(target_id=t.id), "ListRoundsResponse")
    c.eq([x.id for x in lst.rounds], [r.id], "ListRounds target_id")
    mod = pb.Round()
    mod.CopyFrom(r)
    mod.title = "第三轮专项巡察（改）"
    r2 = a.x("Rounds", "UpdateRound", pb.UpdateRoundRequest(round=mod), "Round")
    c.eq(r2.title, "第三轮专项巡察（改）", "UpdateRound: title changed")
    c.ok(r2.etag != r.etag, "UpdateRound: etag changed")

    g = a.x("Rounds", "CreateGroup", pb.CreateGroupRequest(
        group=pb.Group(round_id=r.id, name="第一巡察组", leader="王五", members=["李四", "赵六"],
                       target_ids=[t.id])), "Group")
    check_record(c, g, "CreateGroup")
    c.eq(g.region_code, "310104", "CreateGroup: region_code from the round")
    got = a.x("Rounds", "GetGroup", pb.GetGroupRequest(id=g.id), "Group")
    c.ok(got.SerializeToString() == g.SerializeToString(), "GetGroup: same bytes as created")
    lst = a.x("Rounds", "ListGroups", pb.ListGroupsRequest(round_id=r.id), "ListGroupsResponse")
    c.eq([x.id for x in lst.groups], [g.id], "ListGroups round_id")
    mod = pb.Group()
    mod.CopyFrom(g)
    mod.members.append("孙七")
    mod.recusals.add(member="赵六", target_id=t.id, reason="曾在该单位任职")
    g2 = a.x("Rounds", "UpdateGroup", pb.UpdateGroupRequest(group=mod), "Group")
    c.eq(list(g2.members), ["李四", "赵六", "孙七"], "UpdateGroup: members changed")
    c.eq(len(g2.recusals), 1, "UpdateGroup: recusal recorded")

    # ---- Findings
    f = a.x("Findings", "CreateFinding", pb.CreateFindingRequest(
        finding=pb.Finding(round_id=r.id, target_id=t.id, title="违规发放津贴补贴",
                           area=pb.FINDING_AREA_CONDUCT, tags=["四风", "八项规定"],
                           found_date="2024-03-15",
                           rectification=pb.Rectification(
                               mode=pb.RECTIFICATION_MODE_BY_DEADLINE, deadline="2024-12-31",
                               status=pb.RECTIFICATION_STATUS_VERIFIED))),
        "Finding")
    check_record(c, f, "CreateFinding")
    c.eq(f.region_code, "310104", "CreateFinding: region_code from the target")
    c.eq(f.rectification.status, pb.RECTIFICATION_STATUS_OPEN, "CreateFinding: status OPEN")
    got = a.x("Findings", "GetFinding", pb.GetFindingRequest(id=f.id), "Finding")
    c.ok(got.SerializeToString() == f.SerializeToString(), "GetFinding: same bytes as created")
    lst = a.x("Findings", "ListFindings", pb.ListFindingsRequest(round_id=r.id),
              "ListFindingsResponse")
    c.eq([x.id for x in lst.findings], [f.id], "ListFindings round_id")
    mod = pb.Finding()
    mod.CopyFrom(f)
    mod.rectification.measures = "清退违规发放款项"
    f2 = a.x("Findings", "UpdateFinding",
             pb.UpdateFindingRequest(finding=mod),
             "Finding")
    c.eq(f2.rectification.measures, "清退违规发放款项", "UpdateFinding: measures changed")

    # ---- Directory: leads are sent to a directory entry of an agency.
    de = city.x("Directory", "CreateDirectoryEntry", pb.CreateDirectoryEntryRequest(
        entry=pb.DirectoryEntry(region_code="3101", name="市纪委监委",
                                kind=pb.DIRECTORY_KIND_DISCIPLINE_COMMISSION,
                                identity="agency:3101:jw")), "DirectoryEntry")
    c.eq(de.owner, "office:3101", "CreateDirectoryEntry: owner")
    got = jw.x("Directory", "GetDirectoryEntry", pb.GetDirectoryEntryRequest(id=de.id),
               "DirectoryEntry")
    c.eq(got.identity, "agency:3101:jw", "GetDirectoryEntry by the agency")
    lst = a.x("Directory", "ListDirectoryEntries", pb.ListDirectoryEntriesRequest(
        kind=pb.DIRECTORY_KIND_DISCIPLINE_COMMISSION), "ListDirectoryEntriesResponse")
    c.eq([x.id for x in lst.entries], [de.id], "ListDirectoryEntries kind")
    mod = pb.DirectoryEntry()
    mod.CopyFrom(de)
    mod.note = "市纪委监委第一监督检查室"
    de2 = city.x("Directory", "UpdateDirectoryEntry", pb.UpdateDirectoryEntryRequest(entry=mod),
                 "DirectoryEntry")
    c.eq(de2.note, "市纪委监委第一监督检查室", "UpdateDirectoryEntry: note changed")

    # ---- Leads
    lead = a.x("Leads", "CreateLead", pb.CreateLeadRequest(
        lead=pb.Lead(round_id=r.id, target_id=t.id, finding_id=f.id,
                     category=pb.LEAD_CATEGORY_DISCIPLINE, recipient="agency:3101:jw",
                     summary="涉嫌违规收受礼金", persons=[pb.Person(name="张三", position="局长")],
                     transfer_date="2024-04-01", disposal=pb.LEAD_DISPOSAL_CLOSED)),
        "Lead")
    check_record(c, lead, "CreateLead")
    c.eq(lead.disposal, pb.LEAD_DISPOSAL_PENDING, "CreateLead: disposal PENDING")
    got = a.x("Leads", "GetLead", pb.GetLeadRequest(id=lead.id), "Lead")
    c.ok(got.SerializeToString() == lead.SerializeToString(), "GetLead: same bytes as created")
    got = jw.x("Leads", "GetLead", pb.GetLeadRequest(id=lead.id), "Lead")
    c.eq(got.id, lead.id, "GetLead by the recipient agency")
    lst = a.x("Leads", "ListLeads", pb.ListLeadsRequest(round_id=r.id), "ListLeadsResponse")
    c.eq([x.id for x in lst.leads], [lead.id], "ListLeads round_id")
    lst = jw.x("Leads", "ListLeads", pb.ListLeadsRequest(recipient="agency:3101:jw"),
               "ListLeadsResponse")
    c.eq([x.id for x in lst.leads], [lead.id], "ListLeads by the recipient agency")
    mod = pb.Lead()
    mod.CopyFrom(lead)
    mod.summary = "涉嫌违规收受礼金（补充）"
    l2 = a.x("Leads", "UpdateLead", pb.UpdateLeadRequest(lead=mod), "Lead")
    c.eq(l2.summary, "涉嫌违规收受礼金（补充）", "UpdateLead: summary changed")
    code, _ = b.status("Leads", "GetLead", pb.GetLeadRequest(id=lead.id), "Lead")
    c.eq(code, grpc.StatusCode.PERMISSION_DENIED, "GetLead by another county: PERMISSION_DENIED")

    workflow_calls(c, pb, a, jw, city, r, f, l2)
    archive_calls(c, pb, a, b, jw, city, r, t, l2)

    # ---- What a stock client may send that the API does not know.
    try:
        a.ch.unary_unary("/xuncha.v1.Targets/DeleteTarget")(b"", timeout=CALL_TIMEOUT)
        code = grpc.StatusCode.OK
    except grpc.RpcError as e:
        code = e.code()
    c.eq(code, grpc.StatusCode.UNIMPLEMENTED, "unknown method: UNIMPLEMENTED")
    try:
        a.ch.unary_unary("/xuncha.v1.Targets/CreateTarget")(b"\xff\xff\xff\xff",
                                                           timeout=CALL_TIMEOUT)
        code = grpc.StatusCode.OK
    except grpc.RpcError as e:
        code = e.code()
    c.eq(code, grpc.StatusCode.INVALID_ARGUMENT, "malformed protobuf: INVALID_ARGUMENT")

    # ---- Limits enforced by the server itself (no libxuncha checks in between).
    code, details = a.status("Targets", "CreateTarget", pb.CreateTargetRequest(
        target=pb.Target(region_code="310104", name="超大消息", kind=pb.TARGET_KIND_VILLAGE,
                         note="x" * (5 * 1024 * 1024))), "Target")
    c.eq(code, grpc.StatusCode.RESOURCE_EXHAUSTED, "5 MiB CreateTarget: RESOURCE_EXHAUSTED")
    code, details = a.status("Targets", "CreateTarget", pb.CreateTargetRequest(
        target=pb.Target(region_code="310104", name="长" * 100, kind=pb.TARGET_KIND_VILLAGE)),
        "Target")
    c.eq(code, grpc.StatusCode.INVALID_ARGUMENT, "300-byte name: INVALID_ARGUMENT")
    c.ok("name" in details, "300-byte name: the message names the field (%r)" % details)
    # Invalid UTF-8 cannot be made with the generated classes: write the bytes.
    target = pb.Target(region_code="310104", kind=pb.TARGET_KIND_VILLAGE).SerializeToString()
    target += b"\x52\x04\xe5\xb7\xc3\x28"  # field 10 (name), 4 bytes, not UTF-8
    raw = b"\x0a" + bytes([len(target)]) + target
    try:
        a.ch.unary_unary("/xuncha.v1.Targets/CreateTarget")(raw, timeout=CALL_TIMEOUT)
        code, details = grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        code, details = e.code(), e.details() or ""
    c.eq(code, grpc.StatusCode.INVALID_ARGUMENT, "invalid UTF-8 name: INVALID_ARGUMENT")
    c.ok("name" in details, "invalid UTF-8 name: the message names the field (%r)" % details)
    resp = a.call("/grpc.health.v1.Health/Check", health.HealthCheckRequest(),
                  health.HealthCheckResponse)
    c.eq(resp.status, health.HealthCheckResponse.SERVING, "still SERVING afterwards")
    lst = a.x("Targets", "ListTargets", pb.ListTargetsRequest(page_size=1000),
              "ListTargetsResponse")
    c.eq(len(lst.targets), 1, "refused creates stored nothing")


def workflow_calls(c, pb, a, jw, city, r, f, lead):
    """Every workflow method (server/WORKFLOWS.md)."""
    rr = a.x("Rounds", "GetRound", pb.GetRoundRequest(id=r.id), "Round")
    r3 = a.x("Rounds", "AdvanceRound", pb.AdvanceRoundRequest(
        id=r.id, etag=rr.etag, to=pb.ROUND_STAGE_ON_SITE), "Round")
    c.eq(r3.stage, pb.ROUND_STAGE_ON_SITE, "AdvanceRound: ON_SITE")
    c.eq(len(r3.stage_dates), 2, "AdvanceRound: a second stage date")
    code, _ = a.status("Rounds", "AdvanceRound", pb.AdvanceRoundRequest(
        id=r.id, etag=r3.etag, to=pb.ROUND_STAGE_ARCHIVED), "Round")
    c.eq(code, grpc.StatusCode.FAILED_PRECONDITION, "AdvanceRound skipping: FAILED_PRECONDITION")
    code, _ = a.status("Rounds", "AdvanceRound", pb.AdvanceRoundRequest(
        id=r.id, etag=rr.etag, to=pb.ROUND_STAGE_REPORT), "Round")
    c.eq(code, grpc.StatusCode.ABORTED, "AdvanceRound with a stale etag: ABORTED")

    fc = a.x("Findings", "GetFinding", pb.GetFindingRequest(id=f.id), "Finding")
    p1 = a.x("Findings", "AppendProgress", pb.AppendProgressRequest(
        entry=pb.ProgressEntry(finding_id=f.id, step=pb.PROGRESS_STEP_PLAN, text="制定整改方案",
                               evidence=["整改方案.pdf"]),
        finding_etag=fc.etag), "AppendProgressResponse")
    c.eq(p1.finding.rectification.status, pb.RECTIFICATION_STATUS_PLAN_SUBMITTED,
         "AppendProgress: PLAN_SUBMITTED")
    c.eq(p1.entry.owner, "office:310104", "AppendProgress: the entry is the writer's")
    p2 = a.x("Findings", "AppendProgress", pb.AppendProgressRequest(
        entry=pb.ProgressEntry(finding_id=f.id, step=pb.PROGRESS_STEP_PROGRESS, text="清退中"),
        finding_etag=p1.finding.etag), "AppendProgressResponse")
    p3 = a.x("Findings", "AppendProgress", pb.AppendProgressRequest(
        entry=pb.ProgressEntry(finding_id=f.id, step=pb.PROGRESS_STEP_DONE, text="已清退",
                               evidence=["收据.pdf"]),
        finding_etag=p2.finding.etag), "AppendProgressResponse")
    c.eq(p3.finding.rectification.status, pb.RECTIFICATION_STATUS_DONE, "AppendProgress: DONE")
    code, _ = a.status("Findings", "AppendProgress", pb.AppendProgressRequest(
        entry=pb.ProgressEntry(finding_id=f.id, step=pb.PROGRESS_STEP_PROGRESS, text="x"),
        finding_etag=p1.finding.etag), "AppendProgressResponse")
    c.eq(code, grpc.StatusCode.ABORTED, "AppendProgress with a stale etag: ABORTED")
    v = city.x("Findings", "VerifyRectification", pb.VerifyRectificationRequest(
        finding_id=f.id, finding_etag=p3.finding.etag, note="核查属实"), "VerificationResponse")
    c.eq(v.finding.rectification.status, pb.RECTIFICATION_STATUS_VERIFIED,
         "VerifyRectification by the city: VERIFIED")
    rv = a.x("Findings", "RevokeVerification", pb.RevokeVerificationRequest(
        finding_id=f.id, finding_etag=v.finding.etag, reason="回头看发现问题反弹"),
        "VerificationResponse")
    c.ok(rv.finding.flags.reopened, "RevokeVerification: reopened")
    lp = a.x("Findings", "ListProgress", pb.ListProgressRequest(finding_id=f.id),
             "ListProgressResponse")
    c.eq(len(lp.entries), 3, "ListProgress: three entries")
    lv = a.x("Findings", "ListVerifications", pb.ListVerificationsRequest(finding_id=f.id),
             "ListVerificationsResponse")
    c.eq([x.action for x in lv.verifications],
         [pb.VERIFICATION_ACTION_VERIFY, pb.VERIFICATION_ACTION_REVOKE], "ListVerifications")
    lst = a.x("Findings", "ListFindings", pb.ListFindingsRequest(round_id=r.id, reopened=True),
              "ListFindingsResponse")
    c.eq([x.id for x in lst.findings], [f.id], "ListFindings reopened")
    st = city.x("Findings", "GetRectificationStats",
                pb.RectificationStatsRequest(round_id=r.id), "RectificationStats")
    c.eq((st.total, st.completed, st.reopened), (1, 0, 1), "GetRectificationStats")

    vd = a.x("Records", "VoidRecord", pb.VoidRecordRequest(
        id=rv.verification.id, etag=rv.verification.etag, reason="误撤销"), "VoidRecordResponse")
    c.eq((vd.kind, vd.parent_id), ("verification", f.id), "VoidRecord of a verification")
    fv = a.x("Findings", "GetFinding", pb.GetFindingRequest(id=f.id), "Finding")
    c.eq(fv.rectification.status, pb.RECTIFICATION_STATUS_VERIFIED,
         "VoidRecord: the finding is re-derived")
    code, _ = jw.status("Records", "VoidRecord", pb.VoidRecordRequest(
        id=f.id, etag=fv.etag, reason="x"), "VoidRecordResponse")
    c.eq(code, grpc.StatusCode.PERMISSION_DENIED, "VoidRecord by a non-owner: PERMISSION_DENIED")

    lc = a.x("Leads", "GetLead", pb.GetLeadRequest(id=lead.id), "Lead")
    d = jw.x("Leads", "RecordDisposition", pb.RecordDispositionRequest(
        disposition=pb.LeadDisposition(lead_id=lead.id,
                                       disposal=pb.LEAD_DISPOSAL_PRELIMINARY_VERIFICATION,
                                       note="初核"),
        lead_etag=lc.etag), "RecordDispositionResponse")
    c.eq(d.lead.disposal, pb.LEAD_DISPOSAL_PRELIMINARY_VERIFICATION, "RecordDisposition")
    c.eq(d.disposition.owner, "agency:3101:jw", "RecordDisposition: owned by the agency")
    code, _ = a.status("Leads", "RecordDisposition", pb.RecordDispositionRequest(
        disposition=pb.LeadDisposition(lead_id=lead.id, disposal=pb.LEAD_DISPOSAL_CLOSED),
        lead_etag=d.lead.etag), "RecordDispositionResponse")
    c.eq(code, grpc.StatusCode.PERMISSION_DENIED, "RecordDisposition by the office: refused")
    ld = a.x("Leads", "ListDispositions", pb.ListDispositionsRequest(lead_id=lead.id),
             "ListDispositionsResponse")
    c.eq([x.id for x in ld.dispositions], [d.disposition.id], "ListDispositions by the office")


def archive_calls(c, pb, a, b, jw, city, r, t, lead):
    """Archive (streamed both ways from Python) and Pool (server/ARCHIVE.md)."""
    import hashlib
    content = bytes((i * 7 + 3) % 251 for i in range(600000))
    digest = hashlib.sha256(content).hexdigest()

    def upload_stream(doc):
        yield pb.UploadDocumentRequest(document=doc, hash_algorithm=pb.HASH_ALGORITHM_SHA256)
        for i in range(0, len(content), 256 * 1024):
            yield pb.UploadDocumentRequest(chunk=content[i:i + 256 * 1024])
        yield pb.UploadDocumentRequest(finish=pb.UploadFinish(size=len(content),
                                                              content_hash=digest))

    upload = a.ch.stream_unary("/xuncha.v1.Archive/UploadDocument",
                               request_serializer=pb.UploadDocumentRequest.SerializeToString,
                               response_deserializer=pb.UploadDocumentResponse.FromString)
    doc = pb.Document(attached_id=lead.id, stage=pb.ARCHIVE_STAGE_LEADS,
                      kind=pb.DOCUMENT_KIND_EVIDENCE, title="线索材料", retention_years=30)
    up = upload(upload_stream(doc), timeout=CALL_TIMEOUT)
    c.eq((up.document.size, up.document.content_hash), (len(content), digest),
         "UploadDocument (client stream): size and SHA-256")
    c.eq(up.document.recipient, "agency:3101:jw", "UploadDocument: a lead's document")
    up2 = upload(upload_stream(pb.Document(attached_id=r.id, stage=pb.ARCHIVE_STAGE_REPORT,
                                           kind=pb.DOCUMENT_KIND_REPORT, title="巡察报告")),
                 timeout=CALL_TIMEOUT)
    c.ok(up2.deduplicated, "UploadDocument: the same content again is deduplicated")
    try:
        bad = b.ch.stream_unary("/xuncha.v1.Archive/UploadDocument",
                                request_serializer=pb.UploadDocumentRequest.SerializeToString,
                                response_deserializer=pb.UploadDocumentResponse.FromString)
        bad(upload_stream(doc), timeout=CALL_TIMEOUT)
        c.ok(False, "UploadDocument by another county: refused")
    except grpc.RpcError as e:
        c.eq(e.code(), grpc.StatusCode.PERMISSION_DENIED, "UploadDocument by another county")

    def wrong_hash(doc):
        yield pb.UploadDocumentRequest(document=doc)
        yield pb.UploadDocumentRequest(chunk=b"abc")
        yield pb.UploadDocumentRequest(finish=pb.UploadFinish(size=3, content_hash="00" * 32))

    try:
        upload(wrong_hash(doc), timeout=CALL_TIMEOUT)
        c.ok(False, "UploadDocument with a wrong hash: refused")
    except grpc.RpcError as e:
        c.eq(e.code(), grpc.StatusCode.DATA_LOSS, "UploadDocument with a wrong hash: DATA_LOSS")
    try:
        a.ch.stream_unary("/xuncha.v1.Archive/UploadDocument")(iter([b"\xff\xff\xff"]),
                                                               timeout=CALL_TIMEOUT)
        c.ok(False, "UploadDocument with bytes that do not decode: refused")
    except grpc.RpcError as e:
        c.eq(e.code(), grpc.StatusCode.INVALID_ARGUMENT, "UploadDocument with garbage")

    download = jw.ch.unary_stream("/xuncha.v1.Archive/DownloadDocument",
                                  request_serializer=pb.DownloadDocumentRequest.SerializeToString,
                                  response_deserializer=pb.DownloadDocumentResponse.FromString)
    got = b"".join(m.chunk for m in download(pb.DownloadDocumentRequest(id=up.document.id),
                                               timeout=CALL_TIMEOUT))
    c.ok(got == content, "DownloadDocument (server stream) by the lead's agency: same bytes")
    g = jw.x("Archive", "GetDocument", pb.GetDocumentRequest(id=up.document.id), "Document")
    c.eq(g.content_hash, digest, "GetDocument by the agency")
    code, _ = b.status("Archive", "GetDocument", pb.GetDocumentRequest(id=up.document.id),
                       "Document")
    c.eq(code, grpc.StatusCode.PERMISSION_DENIED, "GetDocument of a lead's document: refused")
    lst = a.x("Archive", "ListDocuments", pb.ListDocumentsRequest(round_id=r.id),
              "ListDocumentsResponse")
    c.eq(sorted(x.id for x in lst.documents), sorted([up.document.id, up2.document.id]),
         "ListDocuments round_id")
    mod = pb.Document()
    mod.CopyFrom(up2.document)
    mod.note = "正式稿"
    u = a.x("Archive", "UpdateDocument", pb.UpdateDocumentRequest(document=mod,
                                                                  update_mask=["note"]),
            "Document")
    c.eq(u.note, "正式稿", "UpdateDocument: note")
    verify = city.ch.unary_stream("/xuncha.v1.Archive/VerifyArchive",
                                  request_serializer=pb.VerifyArchiveRequest.SerializeToString,
                                  response_deserializer=pb.VerifyArchiveResponse.FromString)
    last = list(verify(pb.VerifyArchiveRequest(), timeout=CALL_TIMEOUT))[-1]
    c.ok(last.done and last.problems == 0 and last.contents_checked == 1,
         "VerifyArchive: one content, no problem (refused uploads stored nothing)")
    c.eq(last.pending_uploads, 0, "VerifyArchive: no upload left pending")

    ins = a.x("Pool", "CreateInspector", pb.CreateInspectorRequest(inspector=pb.Inspector(
        name="李四", unit="区审计局", specialties=["law", "finance"],
        relationships=[pb.Relationship(target_id=t.id, relation="兄弟在该单位任职")])),
        "Inspector")
    c.eq(ins.region_code, "310104", "CreateInspector: the office's own region")
    code, _ = b.status("Pool", "GetInspector", pb.GetInspectorRequest(id=ins.id), "Inspector")
    c.eq(code, grpc.StatusCode.PERMISSION_DENIED, "GetInspector by another county: refused")
    ok = a.x("Pool", "CreateInspector", pb.CreateInspectorRequest(inspector=pb.Inspector(
        name="王五", specialties=["law"])), "Inspector")
    li = a.x("Pool", "ListInspectors", pb.ListInspectorsRequest(specialty="finance"),
             "ListInspectorsResponse")
    c.eq([x.id for x in li.inspectors], [ins.id], "ListInspectors specialty")
    mod = pb.Inspector()
    mod.CopyFrom(ok)
    mod.position = "副局长"
    ui = a.x("Pool", "UpdateInspector", pb.UpdateInspectorRequest(inspector=mod), "Inspector")
    c.eq(ui.position, "副局长", "UpdateInspector")
    sg = a.x("Pool", "SuggestInspectors", pb.SuggestInspectorsRequest(target_id=t.id,
                                                                      needs=["law"]),
             "SuggestInspectorsResponse")
    c.eq([x.inspector.id for x in sg.suggestions], [ok.id],
         "SuggestInspectors: the conflicted inspector is left out")
    c.ok(any(ins.id in x for x in sg.excluded), "SuggestInspectors: ...and named as excluded")
    wl = a.x("Pool", "GetWorkload", pb.WorkloadRequest(), "WorkloadResponse")
    c.eq(len(wl.workloads), 2, "GetWorkload: every inspector")
    code, _ = a.status("Rounds", "CreateGroup", pb.CreateGroupRequest(group=pb.Group(
        round_id=r.id, name="第二组", target_ids=[t.id], inspector_ids=[ins.id])), "Group")
    c.eq(code, grpc.StatusCode.FAILED_PRECONDITION, "CreateGroup with a conflicted inspector")


def report_calls(c, pb, a, jw):
    """xuncha.v1.Terms, Reports and Import (server/REPORTS.md)."""
    t = a.x("Terms", "CreateTerm", rpb.CreateTermRequest(
        term=rpb.Term(number=5, start_date="2026-01-01", end_date="2030-12-31")), "Term")
    c.ok(t.id.startswith("n_") and t.region_code == "310104", "CreateTerm: id and region")
    code, _ = a.status("Terms", "CreateTerm", rpb.CreateTermRequest(
        term=rpb.Term(number=5, start_date="2026-01-01")), "Term")
    c.eq(code, grpc.StatusCode.ALREADY_EXISTS, "CreateTerm with the same number: ALREADY_EXISTS")
    lt = a.x("Terms", "ListTerms", rpb.ListTermsRequest(), "ListTermsResponse")
    c.eq([x.id for x in lt.terms], [t.id], "ListTerms")
    rows = [rpb.ImportRow(line=2, target=pb.Target(region_code="310104001", name="导入甲村",
                                                    kind=pb.TARGET_KIND_VILLAGE)),
            rpb.ImportRow(line=3, target=pb.Target(region_code="310104002", name="导入乙社区",
                                                    kind=pb.TARGET_KIND_COMMUNITY))]
    dry = a.x("Import", "ImportRecords", rpb.ImportRequest(kind="target", rows=rows,
                                                            validate_only=True),
              "ImportResponse")
    c.eq((dry.rows, dry.created, dry.applied, len(dry.errors)), (2, 0, False, 0),
         "ImportRecords validate_only writes nothing")
    imp = a.x("Import", "ImportRecords", rpb.ImportRequest(kind="target", rows=rows),
              "ImportResponse")
    c.eq((imp.created, imp.existing, imp.applied), (2, 0, True), "ImportRecords: 2 created")
    imp = a.x("Import", "ImportRecords", rpb.ImportRequest(kind="target", rows=rows),
              "ImportResponse")
    c.eq((imp.created, imp.existing), (0, 2), "ImportRecords again: nothing created")
    bad = rows + [rpb.ImportRow(line=4, target=pb.Target(region_code="310105", name="别的区",
                                                         kind=pb.TARGET_KIND_VILLAGE))]
    imp = a.x("Import", "ImportRecords", rpb.ImportRequest(kind="target", rows=bad),
              "ImportResponse")
    c.eq((imp.applied, [e.line for e in imp.errors], imp.errors[0].code if imp.errors else ""),
         (False, [4], "PERMISSION_DENIED"), "ImportRecords with a bad row: the row named")
    s = a.x("Reports", "GetSummary", rpb.SummaryRequest(scope=rpb.ReportScope(term=5)),
            "Summary")
    c.eq((s.scope.region_prefix, s.term_start, s.previous_label),
         ("310104", "2026-01-01", "第4届"), "GetSummary: scope resolved to the caller's office")
    total = [r for r in s.coverage.rows if r.kind == "合计"]
    c.ok(len(total) == 1 and total[0].targets >= 3,
         "GetSummary: coverage counts the registry (%s)" % (total[0].targets if total else None))
    cov = a.x("Reports", "GetCoverage", rpb.CoverageRequest(scope=rpb.ReportScope(term=5)),
              "Coverage")
    c.eq([r.targets for r in cov.rows], [r.targets for r in s.coverage.rows], "GetCoverage")
    code, _ = jw.status("Reports", "GetSummary",
                        rpb.SummaryRequest(scope=rpb.ReportScope(term=5)), "Summary")
    c.eq(code, grpc.StatusCode.PERMISSION_DENIED, "GetSummary by an agency: PERMISSION_DENIED")
    code, _ = a.status("Reports", "GetSummary", rpb.SummaryRequest(scope=rpb.ReportScope()),
                       "Summary")
    c.eq(code, grpc.StatusCode.INVALID_ARGUMENT, "GetSummary without a term: INVALID_ARGUMENT")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xunchad", required=True)
    ap.add_argument("--certs", required=True, help="certs/xuncha-certs")
    ap.add_argument("--proto-dir", required=True, help="the repository's proto/ directory")
    ap.add_argument("--protoc", default="", help="protoc (default: from PATH)")
    args = ap.parse_args()
    if not args.protoc:
        args.protoc = shutil.which("protoc") or "/usr/bin/protoc"
    if not args.xunchad or not os.access(args.xunchad, os.X_OK):
        print("no xunchad binary at %r" % args.xunchad)
        return 1
    return run_suite("xc-interop-", lambda tmp, c: run(args, tmp, c))


if __name__ == "__main__":
    sys.exit(main())
