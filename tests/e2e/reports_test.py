#!/usr/bin/python3
"""e2e_reports: reports and data exchange through the xuncha CLI against a real
xunchad over mutual TLS (server/REPORTS.md).

- a small data set made with the CLI; `xuncha report summary` prints the
  speech's sentence, checked word for word against figures worked out by
  hand; --lang en, --json, --csv; `report coverage`;
- `xuncha import findings`: a file with a bad row imports nothing and names
  the row and column; a file the server refuses a row of imports nothing;
  a good UTF-8 file with BOM imports; importing it again creates nothing; a
  GB18030 file imports;
- `xuncha export findings` writes UTF-8 with BOM (or GB18030) that imports
  again unchanged.

  tests/e2e/reports_test.py --xunchad build/server/xunchad --xuncha build/client/xuncha \
      --certs certs/xuncha-certs

Exits 0 when every check passed, 1 otherwise.
"""
import argparse
import csv
import io
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops_test import Server  # noqa: E402
from xc_checks import run_suite  # noqa: E402


def run(args, tmp, c):
    certdir = os.path.join(tmp, "certs")
    subprocess.run([args.certs, "dev", certdir], check=True, capture_output=True, timeout=120)
    clock = os.path.join(tmp, "clock")
    with open(clock, "w") as f:
        f.write("2030-01-01\n")
    srv = Server(args.xunchad, tmp, [
        "--listen", "127.0.0.1:0", "--data", os.path.join(tmp, "data"), "--config", "/dev/null",
        "--cert", os.path.join(certdir, "server.pem"), "--key", os.path.join(certdir, "server.key"),
        "--ca", os.path.join(certdir, "ca.pem"), "--test-clock-file", clock])
    try:
        check_all(c, args, tmp, certdir, srv.port)
    finally:
        srv.stop()


def check_all(c, args, tmp, certdir, port):
    def cli(argv, who="city", stdin=None):
        e = dict(os.environ, HOME=tmp, XUNCHA_SERVER="127.0.0.1:%d" % port,
                 XUNCHA_CA=os.path.join(certdir, "ca.pem"),
                 XUNCHA_CERT=os.path.join(certdir, who + ".pem"),
                 XUNCHA_KEY=os.path.join(certdir, who + ".key"))
        e.pop("XUNCHA_LANG", None)
        e.pop("XUNCHA_CONFIG", None)
        return subprocess.run([args.xuncha] + argv, capture_output=True, timeout=60, env=e,
                              input=stdin)

    def made(argv, who="city"):
        p = cli(["--json"] + argv, who)
        if p.returncode != 0:
            raise RuntimeError("%s: %s" % (argv, p.stderr.decode()))
        return json.loads(p.stdout)

    def count_findings(rid):
        p = cli(["--json", "finding", "list", "--round", rid, "--all"])
        return len(json.loads(p.stdout)["items"]) if p.returncode == 0 else -1

    print("data set")
    p = cli(["term", "create", "--number", "8", "--start", "2026-01-01", "--end", "2030-12-31"])
    c.eq(p.returncode, 0, "term create (%s)" % p.stderr.decode().strip())
    p = cli(["term", "create", "--number", "8", "--start", "2026-01-01"])
    c.eq(p.returncode, 4, "a second term 8 is refused")
    made(["directory", "create", "--region", "3101", "--name", "市纪委监委", "--kind", "纪委监委",
          "--identity", "agency:3101:jw"])
    t1 = made(["target", "create", "--region", "3101", "--name", "市财政局", "--kind", "市直单位"])["id"]
    t2 = made(["target", "create", "--region", "3101", "--name", "市城投集团",
               "--kind", "市属重点企业"])["id"]
    t3 = made(["target", "create", "--region", "310104001", "--name", "甲镇", "--kind", "乡镇"])["id"]
    t4 = made(["target", "create", "--region", "310104002", "--name", "乙街道", "--kind", "街道"])["id"]
    t5 = made(["target", "create", "--region", "3101", "--name", "市教育局", "--kind", "市直单位"])["id"]
    r1 = made(["round", "create", "--region", "3101", "--term", "8", "--number", "1", "--kind", "常规",
               "--title", "八届市委第一轮巡察", "--start-date", "2026-03-01",
               "--target", t1, "--target", t2, "--target", t3, "--target", t4])["id"]
    p = cli(["round", "advance", r1, "--to", "进驻"])
    c.eq(p.returncode, 0, "round advance to 进驻")
    made(["group", "create", "--round", r1, "--name", "第一巡察组"])
    made(["group", "create", "--round", r1, "--name", "第二巡察组"])

    print("import")
    header = "巡察轮次,被巡察单位,问题,领域,标签,整改方式,整改期限\n"
    bad = (header + "%s,%s,未落实主体责任,政治建设,假落实,限期整改,2030-06-30\n"
           "%s,%s,公务接待超标,不存在的领域,四风,限期整改,2030-06-30\n" % (r1, t1, r1, t1))
    path = os.path.join(tmp, "bad.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write(bad)
    p = cli(["import", "findings", path])
    err = p.stderr.decode()
    c.eq(p.returncode, 2, "a file with a bad row: usage error")
    c.ok("第3行「领域」" in err and "不存在的领域" in err,
         "the bad row is named by line and column (%r)" % err.strip())
    c.ok("nothing was imported" in err, "... and nothing was imported")
    c.eq(count_findings(r1), 0, "no finding was written")

    # A row the server refuses: the target is not one of the round's.
    refused = (header + "%s,%s,问题甲,政治建设,,限期整改,2030-06-30\n"
               "%s,%s,问题乙,思想建设,,限期整改,2030-06-30\n" % (r1, t1, r1, t5))
    path = os.path.join(tmp, "refused.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write(refused)
    p = cli(["import", "findings", path])
    err = p.stderr.decode()
    c.eq(p.returncode, 4, "a row the server refuses: refused")
    c.ok("第3行" in err and t5 in err, "the refused row is named (%r)" % err.strip())
    c.eq(count_findings(r1), 0, "still no finding was written")

    good = (header + "%s,%s,未落实主体责任,政治建设,假落实、不落实,限期整改,2030-06-30\n"
            "%s,%s,\"公务接待超标,多次违规\",作风建设,四风;八项规定,立行立改,\n" % (r1, t1, r1, t2))
    path = os.path.join(tmp, "good.csv")
    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf" + good.encode("utf-8"))
    p = cli(["import", "findings", path])
    c.eq(p.returncode, 0, "a good UTF-8 file with BOM imports (%s)" % p.stderr.decode().strip())
    c.ok("2 created" in p.stdout.decode(), "... 2 created (%r)" % p.stdout.decode().strip())
    c.eq(count_findings(r1), 2, "two findings")
    p = cli(["import", "findings", path])
    c.eq(p.returncode, 0, "importing the same file again succeeds")
    c.ok("0 created, 2 already imported" in p.stdout.decode(),
         "... and creates nothing (%r)" % p.stdout.decode().strip())
    c.eq(count_findings(r1), 2, "still two findings: no duplicates")

    gb = header + "%s,%s,违规发放津贴补贴,纪律建设,,限期整改,2030-03-31\n" % (r1, t3)
    path = os.path.join(tmp, "gb.csv")
    with open(path, "wb") as f:
        f.write(gb.encode("gb18030"))
    p = cli(["import", "findings", path])
    c.eq(p.returncode, 0, "a GB18030 file imports (%s)" % p.stderr.decode().strip())
    c.eq(count_findings(r1), 3, "three findings")
    items = json.loads(cli(["--json", "finding", "list", "--round", r1, "--all"]).stdout)["items"]
    titles = sorted(i["title"] for i in items)
    c.eq(titles, sorted(["未落实主体责任", "公务接待超标,多次违规", "违规发放津贴补贴"]),
         "the titles read back as written (GB18030 converted, quoted comma kept)")
    tags = sorted(t for i in items for t in i.get("tags", []))
    c.eq(tags, sorted(["假落实", "不落实", "四风", "八项规定"]), "list cells split into tags")

    # Ledgers name rounds and units: names resolve to ids (a dry run writes
    # nothing); a name that matches nothing is a bad row.
    named = header + ("八届市委第一轮巡察,市城投集团,按名称导入,政治建设,,限期整改,2030-06-30\n")
    path = os.path.join(tmp, "named.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write(named)
    p = cli(["import", "findings", path, "--dry-run"])
    c.ok(p.returncode == 0 and "1 row(s) read, 0 created" in p.stdout.decode()
         and "dry run" in p.stdout.decode(),
         "round title and unit name resolve to ids (%r %r)"
         % (p.stdout.decode().strip(), p.stderr.decode().strip()))
    with open(path, "w", encoding="utf-8") as f:
        f.write(named.replace("市城投集团", "不存在的单位"))
    p = cli(["import", "findings", path])
    c.ok(p.returncode == 2 and "第2行「被巡察单位」: no target you may see is named '不存在的单位'"
         in p.stderr.decode(), "an unknown unit name is a bad row (%r)" % p.stderr.decode().strip())
    c.eq(count_findings(r1), 3, "the dry run and the bad file wrote nothing")

    print("export")
    out = os.path.join(tmp, "export.csv")
    p = cli(["export", "findings", "--round", r1, "--out", out])
    c.eq(p.returncode, 0, "export findings (%s)" % p.stderr.decode().strip())
    with open(out, "rb") as f:
        data = f.read()
    c.ok(data.startswith(b"\xef\xbb\xbf"), "the export starts with a UTF-8 BOM")
    text = data[3:].decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    c.eq(rows[0][:4] if rows else [], ["编号", "巡察轮次", "被巡察单位", "问题"],
         "Chinese column headers")
    c.eq(sorted(r[3] for r in rows[1:]), sorted(["未落实主体责任", "公务接待超标,多次违规",
                                                 "违规发放津贴补贴"]),
         "one row per finding, CSV quoting intact")
    p = cli(["import", "findings", out])
    c.ok(p.returncode == 0 and "0 created, 3 already imported" in p.stdout.decode(),
         "the export imports again as is, creating nothing (%r %r)"
         % (p.stdout.decode().strip(), p.stderr.decode().strip()))
    p = cli(["export", "findings", "--round", r1, "--encoding", "gb18030"])
    c.ok(p.returncode == 0 and "违规发放津贴补贴" in p.stdout.decode("gb18030"),
         "--encoding gb18030 writes GB18030")

    print("leads")
    l1 = made(["lead", "create", "--round", r1, "--target", t1, "--category", "discipline",
               "--recipient", "agency:3101:jw", "--summary", "违规收受礼金",
               "--transfer-date", "2029-11-01"])["id"]
    made(["lead", "create", "--round", r1, "--target", t2, "--category", "discipline",
          "--recipient", "agency:3101:jw", "--summary", "违规兼职取酬",
          "--transfer-date", "2029-09-01"])
    for d in ("立案", "审查调查", "审理"):
        p = cli(["lead", "dispose", l1, "--disposal", d], who="jw")
        c.eq(p.returncode, 0, "lead dispose %s" % d)
    p = cli(["lead", "dispose", l1, "--disposal", "作出处理决定", "--outcome", "张三:党纪:警告",
             "--outcome", "张三:政务:记过", "--outcome", "李四:组织处理:免职"], who="jw")
    c.eq(p.returncode, 0, "lead dispose 作出处理决定 with outcomes (%s)" % p.stderr.decode().strip())

    print("summary")
    # By hand: 1 round; 2 groups; 进驻 reached, so T1 T2 (市直单位, 市属重点企业)
    # and T3 T4 (乡镇, 街道) are inspected; 3 findings; 2 leads, 1 case; 张三
    # sanctioned (1 人, 2 人次); 李四 组织处理 (1 人).
    want = ("截至目前，8届市委已部署开展了1轮巡察，先后派出2个巡察组，对2个市直单位、市属重点企业和"
            "2个乡镇(街道)进行全面政治检视…巡察发现问题3个，移交问题线索2件，其中立案1件，"
            "给予党纪政务处分1人、组织处理1人。")
    p = cli(["report", "summary", "--term", "8"])
    out = p.stdout.decode()
    c.eq(p.returncode, 0, "report summary (%s)" % p.stderr.decode().strip())
    c.eq(out.splitlines()[0] if out else "", want, "the sentence, word for word")
    c.ok("党纪政务处分（人次）" in out and "零办案" in out and "巡察覆盖" in out,
         "followed by the detail tables")
    p = cli(["report", "summary", "--term", "8", "--lang", "en"])
    first = p.stdout.decode().splitlines()[0] if p.returncode == 0 else ""
    c.eq(first, "So far, the 8th municipal Party committee has deployed 1 inspection rounds and "
         "dispatched 2 inspection groups, conducting comprehensive political examinations of 2 "
         "municipal departments and key city-owned enterprises and 2 townships (streets)... The "
         "inspections found 3 problems and transferred 2 problem leads, of which 1 were filed "
         "as cases; 1 persons received Party or government sanctions and 1 persons "
         "organizational handling.", "--lang en")
    p = cli(["report", "summary", "--term", "8", "--json"])
    s = json.loads(p.stdout) if p.returncode == 0 else {}
    cur = s.get("current", {})
    c.eq((cur.get("findings"), cur.get("leads"), cur.get("cases"), cur.get("sanction_person_times"),
          cur.get("leads_report_overdue"), cur.get("overdue")), (3, 2, 1, 2, 1, 0),
         "--json: findings, leads, cases, 人次, leads past 3 months (the 2029-09-01 one), "
         "overdue")
    g = {x["name"]: x for x in s.get("growth", [])}
    c.ok(g.get("findings", {}).get("no_base") is True, "no previous term: growth has no base")
    p = cli(["report", "summary", "--term", "8", "--csv"])
    rows = list(csv.reader(io.StringIO(p.stdout.decode()))) if p.returncode == 0 else []
    c.ok(["findings", "3", "0", ""] in rows and ["cases", "1", "0", ""] in rows,
         "--csv: figure, current, previous, growth")
    p = cli(["report", "coverage", "--term", "8"])
    out = p.stdout.decode()
    c.ok(p.returncode == 0 and "合计" in out and "市教育局" in out,
         "report coverage: the table and the target never visited")
    p = cli(["report", "summary", "--term", "8", "--region", "3101"], who="county-a")
    c.eq(p.returncode, 4, "a county may not report on the city")
    p = cli(["report", "summary", "--term", "8"], who="jw")
    c.eq(p.returncode, 4, "an agency may not run reports")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xunchad", required=True)
    ap.add_argument("--xuncha", required=True)
    ap.add_argument("--certs", required=True)
    args = ap.parse_args()
    return run_suite("xc-reports-", lambda tmp, c: run(args, tmp, c))


if __name__ == "__main__":
    sys.exit(main())
