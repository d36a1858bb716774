#!/usr/bin/env bash
# load-demo.sh: loads a small demo data set into a running xunchad through the
# CLI, then runs a few queries. Every create carries a fixed --request-id, so
# running it again returns the records it made the first time instead of
# making duplicates.
#
# Environment: XC_BIN (the xuncha CLI), XC_CERTS (a folder made by
# `certs/xuncha-certs dev`), XC_SERVER (HOST:PORT).
set -euo pipefail

: "${XC_BIN:?set XC_BIN to the xuncha CLI}"
: "${XC_CERTS:?set XC_CERTS to the certificate folder}"
: "${XC_SERVER:=127.0.0.1:7443}"

# as OFFICE ARGS...: runs the CLI with the certificate of one office.
as() {
  local who=$1; shift
  "$XC_BIN" --server "$XC_SERVER" --ca "$XC_CERTS/ca.pem" \
    --cert "$XC_CERTS/$who.pem" --key "$XC_CERTS/$who.key" "$@"
}

# new OFFICE RESOURCE REQUEST_ID ARGS...: creates a record, prints its id.
new() {
  local who=$1 resource=$2 rid=$3; shift 3
  as "$who" --json "$resource" create --request-id "demo-$rid" "$@" |
    sed -n 's/^ *"id": *"\([^"]*\)".*/\1/p' | head -n 1
}

echo "==> loading the demo data set (市委巡察办 3101, 城东区 310104, 城西区 310105)"
t_fin=$(new city target t1 --region 3101 --name 市财政局 --kind 市直单位 --secretary 王建国)
t_ent=$(new city target t2 --region 3101 --name 市城投集团有限公司 --kind 市属重点企业 --secretary 李明)
t_edu=$(new county-a target t3 --region 310104 --name 城东区教育局 --kind 区县直单位 --secretary 赵红)
t_str=$(new county-a target t4 --region 310104001 --name 东湖街道 --kind 街道 --secretary 钱伟)
t_com=$(new county-a target t5 --region 310104001001 --name 东湖社区 --kind 社区 --secretary 孙丽)
t_twn=$(new county-b target t6 --region 310105002 --name 西山镇 --kind 乡镇 --secretary 周强)

r_city=$(new city round r1 --region 3101 --term 12 --number 3 --kind 常规 \
  --title 十二届市委第三轮巡察 --start-date 2026-09-01 --end-date 2026-11-30 \
  --target "$t_fin" --target "$t_ent")
r_elev=$(new city round r2 --region 310104001 --term 12 --number 4 --kind 提级 \
  --title 十二届市委第四轮巡察（提级巡察东湖街道） --start-date 2026-10-08 --target "$t_str")
r_cnty=$(new county-a round r3 --region 310104 --term 8 --number 2 --kind 延伸 \
  --title 城东区委八届第二轮巡察（巡乡带村） --start-date 2026-09-15 \
  --target "$t_edu" --target "$t_com")

new city group g1 --round "$r_city" --name 第一巡察组 --leader 陈志远 \
  --member 林晓 --member 黄海 --member 吴静 --target "$t_fin" --target "$t_ent" \
  --recusal "黄海:$t_ent:曾在该企业任职" >/dev/null
new county-a group g2 --round "$r_cnty" --name 区委第二巡察组 --leader 郑国平 \
  --member 冯雪 --member 何军 --target "$t_edu" --target "$t_com" >/dev/null

f1=$(new city finding f1 --round "$r_city" --target "$t_fin" --area 作风建设 \
  --title 违规发放津贴补贴 --tag 八项规定 --tag 四风 --basis 中央八项规定精神 \
  --evidence 财务凭证2026-031 --found-by 第一巡察组 --found-date 2026-10-12 \
  --mode 限期整改 --leader 王建国 --department 市财政局办公室 --measures 清退违规发放款项 \
  --deadline 2026-12-31)
new city finding f2 --round "$r_city" --target "$t_ent" --area 政治建设 \
  --title 落实重大决策部署打折扣 --tag 假落实 --tag 三重一大 --found-date 2026-10-20 \
  --mode 立行立改 --leader 李明 >/dev/null
new county-a finding f3 --round "$r_cnty" --target "$t_com" --area 脱贫攻坚 \
  --title 惠民资金发放不及时 --tag 慢落实 --found-date 2026-10-02 \
  --mode 限期整改 --deadline 2026-11-15 >/dev/null
new city finding f4 --round "$r_elev" --target "$t_str" --area 组织建设 \
  --title 选人用人程序不规范 --tag 选人用人 --found-date 2026-10-25 >/dev/null

# Leads are sent to directory entries: the city lists its agencies first.
new city directory d1 --region 3101 --name 市纪委监委 --kind 纪委监委 \
  --identity agency:3101:jw >/dev/null
new city directory d2 --region 3101 --name 市委组织部 --kind 组织部 \
  --identity agency:3101:zzb >/dev/null

l1=$(new city lead l1 --round "$r_city" --target "$t_fin" --finding "$f1" --category 违纪违法 \
  --recipient agency:3101:jw --summary 某处长涉嫌违规收受礼金 --person 张某:处长 \
  --transfer-date 2026-11-05)
new city lead l2 --round "$r_elev" --target "$t_str" --category 选人用人 \
  --recipient agency:3101:zzb --summary 干部选拔任用程序违规 --person 刘某:副主任 \
  --transfer-date 2026-11-10 >/dev/null

# 届: the city's 12th term, so reports know its dates (made once).
if ! as city --json term list | grep -q '"number": 12'; then
  as city term create --number 12 --start 2026-01-01 --end 2030-12-31 >/dev/null
fi

# Workflows: the round moves on, rectification progress with evidence, the
# agency records its handling. Each step is taken only if it was not yet, so
# running the script again changes nothing.
if as city --json round get "$r_city" | grep -q '^  "stage": "ROUND_STAGE_PREPARATION"'; then
  as city round advance "$r_city" --to 进驻 >/dev/null
fi
if as city --json finding get "$f1" | grep -q '"status": "RECTIFICATION_STATUS_OPEN"'; then
  as city rectification progress "$f1" --step 方案 --text 制定清退方案 \
    --evidence 财办〔2026〕12号 >/dev/null
fi
if as jw --json lead get "$l1" | grep -q '"disposal": "LEAD_DISPOSAL_PENDING"'; then
  as jw lead dispose "$l1" --disposal 初步核实 --note 已启动初核 >/dev/null
fi

echo
echo "==> 市委巡察办 (office:3101): xuncha target list"
as city target list
echo
echo "==> 城东区委巡察办 (office:310104) sees only its own region: xuncha target list"
as county-a target list
echo
echo "==> xuncha round list"
as city round list
echo
echo "==> xuncha finding list --round $r_city"
as city finding list --round "$r_city"
echo
echo "==> 市纪委监委 (agency:3101:jw) sees the leads sent to it: xuncha lead list"
as jw lead list
echo
echo "==> 城东区委巡察办 sees none of the city's leads on 东湖街道 (an empty list)"
as county-a lead list --target "$t_str"
echo
echo "==> 拖延式整改 (past the deadline, not done): xuncha rectification overdue"
as city rectification overdue
echo
echo "==> 整改完成率: xuncha rectification rate --round $r_city"
as city rectification rate --round "$r_city"
echo
echo "==> xuncha directory list"
as city directory list
echo
echo "==> xuncha --json finding get $f1"
as city --json finding get "$f1"
echo
echo "==> 讲话中的数字: xuncha report summary --term 12"
as city report summary --term 12
