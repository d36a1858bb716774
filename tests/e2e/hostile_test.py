#!/usr/bin/python3
"""e2e_hostile: hostile requests against a real xunchad, as raw bytes.

Every request here is something a careless or malicious client could send:
an oversize message, truncated and garbage protobuf, unknown enum values,
invalid UTF-8, over-long strings, negative and huge page sizes, forged,
tampered and replayed page tokens, ids of another office, and missing
required fields. Each must get the exact status the API documents, with a
message that names the problem (the field, the limit), and nothing may be
written: the change log's newest sequence number (Admin/GetStats) and the
record counts are the same before and after.

Requests are sent through grpcio with no serializer, so the bytes on the wire
are exactly what the test builds (invalid UTF-8 and unknown enum values
included, which generated message classes would refuse to produce).

  /usr/bin/python3 tests/e2e/hostile_test.py --xunchad build/server/xunchad \
      --certs certs/xuncha-certs --proto-dir proto

Exits 0 when every check passed, 1 otherwise.
"""
import argparse
import base64
import os
import shutil
import subprocess
import sys

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop_test as it  # noqa: E402  (Server, channel)
from xc_checks import compile_protos, run_suite  # noqa: E402

TIMEOUT = 10.0


# ------------------------------------------------------------ wire encoding

def varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_len(field, payload):
    """A length-delimited field (string, bytes, sub-message)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def f_int(field, value):
    return varint(field << 3 | 0) + varint(value)


def target(name="敌意测试单位", region="310104", kind=1, extra=b""):
    """A Target: region_code 2, name 10, kind 11."""
    body = b""
    if region is not None:
        body += f_len(2, region)
    if name is not None:
        body += f_len(10, name)
    if kind is not None:
        body += f_int(11, kind)
    return body + extra


def create_target(t):
    return f_len(1, t)  # CreateTargetRequest.target = 1


# ------------------------------------------------------------ calls

class Raw:
    def __init__(self, ch):
        self.ch = ch

    def call(self, path, payload):
        """Returns (code, details, response bytes)."""
        stub = self.ch.unary_unary(path)  # no serializers: bytes in, bytes out
        try:
            resp = stub(payload, timeout=TIMEOUT)
            return grpc.StatusCode.OK, "", resp
        except grpc.RpcError as e:
            return e.code(), e.details() or "", None


def generate(protoc, proto_dir, out):
    pb, apb = compile_protos(protoc, proto_dir, out, ("xuncha.proto", "admin.proto"))
    return pb, apb


class World:
    def __init__(self, c, pb, apb, a, b):
        self.c, self.pb, self.apb, self.a, self.b = c, pb, apb, a, b

    def state(self):
        """(newest change seq, targets county A lists)."""
        code, details, resp = self.a.call("/xuncha.v1.Admin/GetStats", b"")
        if code != grpc.StatusCode.OK:
            raise RuntimeError("GetStats: %s %s" % (code, details))
        st = self.apb.Stats.FromString(resp)
        n, token = 0, ""
        for _ in range(100):
            code, details, resp = self.a.call(
                "/xuncha.v1.Targets/ListTargets",
                self.pb.ListTargetsRequest(page_size=1000, page_token=token).SerializeToString())
            if code != grpc.StatusCode.OK:
                raise RuntimeError("ListTargets: %s %s" % (code, details))
            r = self.pb.ListTargetsResponse.FromString(resp)
            n += len(r.targets)
            token = r.next_page_token
            if not token:
                break
        return st.storage.last_change, n

    def refused(self, who, path, payload, code, needles, what):
        """One hostile call: the exact status, a message naming the problem,
        and nothing written."""
        before = self.state()
        got, details, _ = who.call(path, payload)
        after = self.state()
        self.c.eq(got, code, "%s: status" % what)
        for n in needles:
            self.c.ok(n in details, "%s: message names %r (%r)" % (what, n, details[:200]))
        self.c.eq(after, before, "%s: nothing written (last change, target count)" % what)
        return details


def run(args, tmp, c):
    pb, apb = generate(args.protoc, args.proto_dir, tmp)
    certdir = os.path.join(tmp, "certs")
    subprocess.run(["/bin/bash", args.certs, "dev", certdir], check=True, timeout=60,
                   stdout=subprocess.DEVNULL)
    server = it.Server(args.xunchad, tmp, certdir)
    try:
        with it.channel(server.port, certdir, "county-a") as ch_a, \
                it.channel(server.port, certdir, "county-b") as ch_b:
            hostile(World(c, pb, apb, Raw(ch_a), Raw(ch_b)))
    finally:
        code = server.stop()
        c.eq(code, 0, "xunchad exits 0 on SIGTERM")
        if c.failed:
            print(server.read_log()[-4000:])


def hostile(w):
    c, pb, a, b = w.c, w.pb, w.a, w.b
    INV = grpc.StatusCode.INVALID_ARGUMENT
    CT = "/xuncha.v1.Targets/CreateTarget"
    LT = "/xuncha.v1.Targets/ListTargets"

    # Records to aim at: 12 targets of county A.
    ids = []
    for i in range(12):
        code, details, resp = a.call(CT, create_target(target(name="甲县单位%d" % i)))
        c.eq(code, grpc.StatusCode.OK, "setup: create target %d (%s)" % (i, details))
        ids.append(pb.Target.FromString(resp))
    t0 = ids[0]

    # --- size and framing
    w.refused(a, CT, create_target(target(extra=f_len(13, "x" * (5 * 1024 * 1024)))),
              grpc.StatusCode.RESOURCE_EXHAUSTED, ["larger than max"], "a 5 MiB message")
    good = create_target(target())
    for cut in (1, 5, len(good) - 1):
        w.refused(a, CT, good[:cut], INV, ["not a valid xuncha.v1.CreateTargetRequest"],
                  "a CreateTarget truncated to %d of %d bytes" % (cut, len(good)))
    w.refused(a, CT, b"\xff" * 64, INV, ["not a valid"], "64 bytes of 0xff")
    w.refused(a, CT, bytes(range(256)) * 4, INV, ["not a valid"], "1 KiB of garbage")
    w.refused(a, CT, varint(1 << 3 | 2) + varint(1 << 40), INV, ["not a valid"],
              "a length prefix of 1 TiB")
    w.refused(a, CT, varint(1 << 3 | 2) + varint(10 ** 9) + b"abc", INV, ["not a valid"],
              "a length prefix past the end")
    w.refused(a, CT, b"\x0a" + b"\x80" * 11, INV, ["not a valid"], "an over-long varint")
    w.refused(a, CT, f_len(1, f_len(10, b"\x0a" * 3)[:-1]), INV, ["not a valid"],
              "a sub-message whose inner length runs past its end")
    # Field 1 with the wrong wire type (varint where a message belongs).
    w.refused(a, CT, f_int(1, 5), INV, ["not a valid"], "a varint where target belongs")

    # --- values
    w.refused(a, CT, create_target(target(kind=999)), INV, ["kind", "999"],
              "an unknown TargetKind (999)")
    w.refused(a, CT, create_target(target(kind=-1)), INV, ["kind"],
              "a negative TargetKind (-1)")
    w.refused(a, CT, create_target(target(name=b"\xe5\xb7\xa1\xff\xfe")), INV,
              ["target.name", "UTF-8"], "invalid UTF-8 in target.name")
    w.refused(a, CT, create_target(target(name=b"ab\xc0\xafcd")), INV, ["UTF-8"],
              "an overlong UTF-8 encoding of '/'")
    w.refused(a, CT, create_target(target(name=b"\xed\xa0\x80")), INV, ["UTF-8"],
              "a UTF-16 surrogate in UTF-8")
    w.refused(a, CT, create_target(target(extra=f_len(13, b"ok\xf8\x88\x80\x80\x80"))), INV,
              ["target.note", "UTF-8"], "invalid UTF-8 in target.note")
    w.refused(a, CT, create_target(target(name="巡" * 100)), INV, ["target.name", "256"],
              "a 300-byte name (limit 256)")
    w.refused(a, CT, create_target(target(extra=f_len(13, "x" * 20000))), INV,
              ["target.note", "16384"], "a 20000-byte note (limit 16384)")
    w.refused(a, CT, create_target(target(region="31010")), INV, ["region_code"],
              "a 5-digit region code")
    w.refused(a, CT, create_target(target(region="3101０4")), INV, ["region_code"],
              "a region code with a full-width digit")
    w.refused(a, CT, create_target(target()) + f_len(2, "r" * 200), INV, ["request_id", "128"],
              "a 200-byte request_id (limit 128)")

    # --- missing required fields
    w.refused(a, CT, b"", INV, ["target"], "CreateTarget with no target")
    w.refused(a, CT, create_target(target(name=None)), INV, ["target.name"],
              "a target without a name")
    w.refused(a, CT, create_target(target(kind=None)), INV, ["target.kind"],
              "a target without a kind")
    w.refused(a, CT, create_target(target(region=None)), INV, ["region_code"],
              "a target without a region code")
    code, details, _ = a.call("/xuncha.v1.Targets/GetTarget", b"")
    c.ok(code in (INV, grpc.StatusCode.NOT_FOUND) and "id" in details,
         "GetTarget with no id: INVALID_ARGUMENT or NOT_FOUND naming the id (%s %r)"
         % (code, details))
    w.refused(a, "/xuncha.v1.Rounds/CreateRound",
              f_len(1, f_len(2, "310104") + f_int(10, 1) + f_int(11, 1) + f_int(12, 1)),
              INV, ["round.title"], "a round without a title")
    w.refused(a, "/xuncha.v1.Targets/UpdateTarget",
              f_len(1, f_len(1, t0.id) + f_len(10, "改名")), INV, ["etag"],
              "an update without an etag")

    # --- page sizes
    w.refused(a, LT, f_int(1, -5), INV, ["page_size", ">= 0"], "page_size -5")
    w.refused(a, LT, f_int(1, -(1 << 31)), INV, ["page_size"], "page_size -2^31")
    code, details, resp = a.call(LT, f_int(1, (1 << 31) - 1))
    c.eq(code, grpc.StatusCode.OK, "page_size 2^31-1: clamped, not refused (%s)" % details)
    if resp is not None:
        c.ok(len(pb.ListTargetsResponse.FromString(resp).targets) <= 1000,
             "page_size 2^31-1: at most 1000 records")
    # A 64-bit varint into an int32: protobuf truncates it; the server must
    # still answer sanely (OK clamped, or INVALID_ARGUMENT), never crash.
    code, details, _ = a.call(LT, f_int(1, 1 << 40))
    c.ok(code in (grpc.StatusCode.OK, INV), "page_size 2^40 on the wire: %s %r" % (code, details))

    # --- page tokens
    code, details, resp = a.call(LT, f_int(1, 5))
    c.eq(code, grpc.StatusCode.OK, "a first page of 5")
    page1 = pb.ListTargetsResponse.FromString(resp)
    tok = page1.next_page_token
    c.ok(tok != "", "the first page has a next_page_token")
    code, details, resp = a.call(LT, f_int(1, 5) + f_len(2, tok))
    c.eq(code, grpc.StatusCode.OK, "the token, used as given")
    p2 = [t.id for t in pb.ListTargetsResponse.FromString(resp).targets]
    code, details, resp = a.call(LT, f_int(1, 5) + f_len(2, tok))
    c.eq([t.id for t in pb.ListTargetsResponse.FromString(resp).targets] if resp else None, p2,
         "the same token again (a retry) gives the same page")
    MISMATCH = "page_token does not match this request"
    w.refused(b, LT, f_int(1, 5) + f_len(2, tok), INV, [MISMATCH],
              "county A's token replayed by county B")
    w.refused(a, LT, f_int(1, 5) + f_len(2, tok) + f_len(3, "310104"), INV, [MISMATCH],
              "a token replayed with another filter")
    w.refused(a, "/xuncha.v1.Rounds/ListRounds", f_int(1, 5) + f_len(2, tok), INV, [MISMATCH],
              "a ListTargets token replayed on ListRounds")
    raw = bytearray(base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)))
    raw[len(raw) // 2] ^= 0x01
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    w.refused(a, LT, f_int(1, 5) + f_len(2, forged), INV, [MISMATCH], "a token with one bit flipped")
    w.refused(a, LT, f_int(1, 5) + f_len(2, "AAAA" * 20), INV, [MISMATCH], "a forged token")
    w.refused(a, LT, f_int(1, 5) + f_len(2, "!!not base64!!"), INV, [MISMATCH],
              "a token that is not base64url")
    w.refused(a, LT, f_int(1, 5) + f_len(2, "A" * 600), INV, ["page_token"],
              "a 600-byte token (limit 512)")

    # --- another office's ids
    code, details, _ = b.call("/xuncha.v1.Targets/GetTarget", f_len(1, t0.id))
    # The access rule (common/xc_identity.h): another office's record is
    # PERMISSION_DENIED, with the record's id and region in the message.
    c.eq(code, grpc.StatusCode.PERMISSION_DENIED,
         "county B reading county A's target: PERMISSION_DENIED")
    c.ok(t0.id in details and "310104" in details, "... message names the id (%r)" % details)
    w.refused(b, "/xuncha.v1.Targets/UpdateTarget",
              f_len(1, f_len(1, t0.id) + f_len(4, t0.etag) + f_len(2, "310104")
                    + f_len(10, "乙县改名") + f_int(11, 1)),
              grpc.StatusCode.PERMISSION_DENIED, [t0.id], "county B updating county A's target")
    w.refused(b, "/xuncha.v1.Rounds/CreateRound",
              f_len(1, f_len(2, "310105") + f_int(10, 1) + f_int(11, 1) + f_int(12, 1)
                    + f_len(13, "越权") + f_len(18, t0.id)),
              INV, [t0.id, "outside the round's region"],
              "county B's round inspecting county A's target")
    w.refused(b, "/xuncha.v1.Records/VoidRecord",
              f_len(1, t0.id) + f_len(2, t0.etag) + f_len(3, "恶意作废"),
              grpc.StatusCode.PERMISSION_DENIED, [t0.id], "county B voiding county A's target")
    code, details, _ = a.call("/xuncha.v1.Targets/GetTarget", f_len(1, "r_" + t0.id[2:]))
    c.ok(code in (grpc.StatusCode.NOT_FOUND, INV), "a round id sent to GetTarget: %s %r"
         % (code, details))
    code, details, _ = a.call("/xuncha.v1.Targets/GetTarget", f_len(1, "../../etc/passwd"))
    c.ok(code in (grpc.StatusCode.NOT_FOUND, INV) and "passwd" in details,
         "a path as an id: %s %r" % (code, details))

    # The records aimed at are unchanged after all of it.
    for t in ids:
        code, details, resp = a.call("/xuncha.v1.Targets/GetTarget", f_len(1, t.id))
        c.ok(code == grpc.StatusCode.OK and pb.Target.FromString(resp) == t,
             "target %s unchanged" % t.id)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xunchad", required=True)
    ap.add_argument("--certs", required=True)
    ap.add_argument("--proto-dir", required=True)
    ap.add_argument("--protoc", default="")
    args = ap.parse_args()
    if not args.protoc:
        args.protoc = shutil.which("protoc") or "/usr/bin/protoc"
    return run_suite("xc-hostile-", lambda tmp, c: run(args, tmp, c))


if __name__ == "__main__":
    sys.exit(main())
