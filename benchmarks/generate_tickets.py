"""Data generator for the ticket benchmarks (issue 6): one tenant with 2,000,000 tickets over the last
120 days and ~10,000,000 timeline events, 200 agents in 8 teams of 25, plus a second small tenant.

    .venv/bin/python -m benchmarks.generate_tickets [--tickets 2000000] [--agents 200] [--teams 8]
        [--small-tickets 20000] [--small-agents 10] [--db courier_crm_bench_tickets] [--workers 2]
        [--chunk 25000] [--long-tickets 20] [--long-events 200] [--nice 10] [--no-vacuum]

Database (once; see benchmarks/README.md): `courier_crm_bench_tickets`, owned by crm_owner, migrated as
the owner with the .data/env roles and master key. Optionally first
`python -m benchmarks.generate_customers --db courier_crm_bench_tickets --persons 100000 --accounts 5000`:
then 65 % of the tickets belong to one of those customers (otherwise customer is NULL).

- Django (as the application role crm_app, under row-level security) creates or finds tenant `bench`
  (`platform_tenant_create`) and `bench-small`, their branch network (generate_shipments.ensure_branches),
  the agents (users `bench-agent-001` …, memberships with role agent at headquarters, no 2FA device),
  the teams (`tickets.Team`, the first member is the lead) with their members (`tickets.TeamMember`), a
  default business calendar and one calendar-time SLA policy per priority. All idempotent.
- Rows are made in the database: `--workers` connections (default: the owner URL of .data/env with the
  benchmark database; `app.tenant_id` set, so row-level security applies to every insert), one
  transaction per chunk of `--chunk` tickets: `INSERT … SELECT … FROM generate_series` computes the
  chunk's tickets into a temporary table (every random choice is `hashint8extended(i, salt)` of the
  ticket's index, so a run is deterministic for a `--seed` and chunks need no shared state), then
  `INSERT INTO tickets_ticket SELECT … FROM stage` and `INSERT INTO tickets_ticketevent SELECT … FROM
  stage CROSS JOIN LATERAL generate_series(…)` (the ticket's timeline). No row passes through Python.
  The connections' PostgreSQL backends are reniced to `--nice` when the script may (root).
- Tickets: ids reserved from the identity sequence; numbers `T<year>-NNNNNN` (tickets.services.core._number,
  the UTC year of created_at, in creation order) and `tenancy_numbersequence` `ticket-<year>` raised
  past them. Created evenly over `--days` days; still open with a probability falling with age (95 %
  under 7 days, 45 % under 14, 12 % under 30, 1 % older: ~10 % open, about half of them past their
  resolution clock), open as new (team queue, no assignee: 30 % of the last two days' open tickets,
  3 % of older ones) or else assigned 25 % / in progress 53 % / waiting for the customer 22 %; done
  tickets resolved after 1 h … 8 days (heavy tail, scaled by priority; 30 % resolved at first contact)
  and closed by the customer or 7 days later (auto-close),
  else still resolved. Assignee: one of the agents (uniform: ~1,000 open each), team: the agent's team,
  category by the team's mix, priority low 10 / normal 65 / high 20 / urgent 5 %, channel phone 48 /
  WeChat 22 / app 13 / web 11 / email 4 / API 2 %, branch one of the delivery branches (85 %),
  Chinese subject and description from per-category templates with a waybill-like number and a city,
  caller name (70 %), a few tags; caller phone/email NULL (nothing to seal).
  SLA fields as the app's defaults set them (tickets.rules: first response 120 min, urgent 30;
  resolution 168 h, high 72 h, urgent 24 h; warnings at 80 %) and as if the SLA sweep last ran
  10 minutes before generation: *_warned / *_breached / escalation_level (1, 2 after another day) /
  escalated_at set for what had passed by then; waiting tickets have sla_paused_at.
- Timeline: created; assigned (by routing or the team lead) with {"from", "to", "to_name"}; status
  changes assigned→in_progress (= first_responded_at), →waiting_customer, →resolved (with the
  resolution note), →closed; 0–7 replies / customer messages / internal notes in between
  (`--middle-power`, mean ~0.9); sla_warning, sla_breached and escalated events where the flags say so. ~5 per
  ticket. Then `--long-tickets` open in-progress tickets (one per agent 1…N) are topped up to exactly
  `--long-events` events; their ids are written to out/generate_tickets.json for bench_tickets.
- Afterwards `VACUUM (ANALYZE)` of the ticket, event, team and membership tables (`--no-vacuum`:
  ANALYZE only), and a check through the ORM as the application role.
Prints rows, seconds and CPU per phase and the table sizes; writes benchmarks/out/generate_tickets.json.
A tenant that already has tickets is left alone (recreate the database to generate again: the
timeline is append-only, its rows cannot be deleted).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from . import _env
from .generate_customers import (
    GIVEN_ONE,
    GIVEN_TWO,
    SURNAMES,
    region_table,
    reserve_ids,
    setup_django,
    weighted_table,
)

DEFAULT_DB = os.environ.get("CRM_TICKETS_BENCH_DB", "courier_crm_bench_tickets")
TENANT_CODE = "bench"
SMALL_TENANT_CODE = "bench-small"
AGENT_USERNAME = "bench-agent-{:03d}"
SMALL_AGENT_USERNAME = "bench-small-agent-{:02d}"
APP_NAME = "generate_tickets"
DAY = 86400
TICKET_TABLE = "tickets_ticket"
EVENT_TABLE = "tickets_ticketevent"
MIDDLE_MAX = 7   # replies / customer messages / notes per ticket in the generated timeline

CATEGORIES = ("tracking_inquiry", "complaint", "claim", "delay", "damage", "loss", "address_change",
              "delivery_urge", "other")
# (code, name, category mix in percent)
TEAMS = (
    ("tracking-1", "查件一组", {"tracking_inquiry": 70, "delivery_urge": 20, "other": 10}),
    ("tracking-2", "查件二组", {"tracking_inquiry": 65, "delivery_urge": 25, "address_change": 10}),
    ("urge", "催派组", {"delivery_urge": 60, "delay": 30, "tracking_inquiry": 10}),
    ("complaint", "投诉组", {"complaint": 80, "delay": 10, "other": 10}),
    ("claims", "理赔组", {"claim": 45, "damage": 30, "loss": 25}),
    ("exceptions", "异常件组", {"damage": 30, "loss": 20, "delay": 40, "claim": 10}),
    ("vip", "大客户组", {"tracking_inquiry": 30, "complaint": 20, "claim": 15, "delay": 15, "address_change": 10,
                       "delivery_urge": 10}),
    ("general", "综合组", {"other": 40, "address_change": 40, "tracking_inquiry": 20}),
)
CHANNELS = (("phone", 48), ("wechat", 22), ("app", 13), ("web", 11), ("email", 4), ("api", 2))
PRIORITIES = ("low", "normal", "high", "urgent")
SUBJECTS = {
    "tracking_inquiry": ("查询快递{n}物流信息", "快递{n}三天没有更新物流", "请帮忙查一下单号{n}现在到哪了",
                         "物流显示已到{city}，一直没有派送", "单号{n}物流信息停在中转站", "寄往{city}的包裹查不到物流",
                         "查询{n}预计送达时间", "物流显示已签收但本人未收到"),
    "complaint": ("投诉快递员态度恶劣", "投诉未经同意将快递放入快递柜", "投诉派件员不送货上门",
                  "投诉{city}网点电话无人接听", "投诉快递员私自代签收", "投诉多次催件无人处理",
                  "投诉快递员要求额外收费", "投诉客服承诺回电未回电"),
    "claim": ("理赔申请：{n}货物损坏", "保价件{n}理赔进度查询", "申请丢件赔偿：{n}", "理赔金额有异议，要求复核",
              "生鲜件变质申请理赔", "{n}延误造成损失申请赔偿"),
    "delay": ("{n}超过承诺时效未送达", "次日达快件三天未到", "寄往{city}的快件严重延误", "生鲜件延误，要求加急处理",
              "{n}在{city}转运中心滞留", "快件延误影响使用，要求说明原因"),
    "damage": ("包裹外包装破损，内物损坏", "易碎品运输途中破损", "收到的快件{n}外箱压坏", "电子产品运输损坏",
               "快件被雨淋湿，物品受损"),
    "loss": ("快件{n}丢失，要求核实", "包裹显示签收但未收到", "快件内物品缺失", "{n}多日无物流疑似丢失"),
    "address_change": ("修改收件地址：{n}", "更改派送时间", "收件人电话填错，需要更正", "改派到{city}新地址",
                       "申请暂存网点自提"),
    "delivery_urge": ("催件：{n}已超时未派送", "客户催促尽快派送{n}", "快件在{city}网点停留两天", "急件请今天送达",
                      "{n}派送中一直未送到"),
    "other": ("咨询寄件价格", "预约上门取件", "申请开具运费发票", "咨询寄往{city}的时效", "快递柜取件码未收到",
              "咨询退货寄回流程", "修改寄件人信息"),
}
DESCRIPTIONS = (
    "客户来电反映：{subject}。客户情绪{mood}，希望尽快给出答复。",
    "客户通过线上渠道留言：{subject}，单号{n}，收件城市{city}。",
    "{subject}。客户表示已多次联系网点未果，要求客服跟进处理并回电。",
    "客户称{subject}，已核实寄件信息无误，需网点协助核查。",
    "{subject}。客户为老客户，近期多次寄件，请优先处理。",
)
MOODS = ("平稳", "较急", "激动", "不满", "平和")
REPLIES = (
    "您好，已为您查询到快件目前在{city}转运中心，预计明天派送，请保持电话畅通。",
    "非常抱歉给您带来不便，我们已联系网点加急处理，今天下午会有专人与您联系。",
    "您好，您的诉求已记录，网点将在24小时内核实并回复您。",
    "已为您催促派送员尽快派送，如有问题可随时联系我们。",
    "您好，理赔申请已受理，请提供物品照片及购买凭证，我们会在3个工作日内处理。",
    "经核实，快件因天气原因延误，现已恢复正常运输，给您带来不便深表歉意。",
    "您好，地址已为您修改成功，快件将按新地址派送。",
    "已与派送员核实，快件已放至您小区的快递柜，取件码已重新发送至您的手机。",
    "您好，关于您反映的问题我们高度重视，已转交相关部门处理，处理结果会第一时间告知您。",
    "抱歉让您久等了，网点反馈快件已找到，今天会为您安排派送。",
)
CUSTOMER_MESSAGES = (
    "你好，我的快递到底什么时候能到？已经等了好几天了。",
    "照片已经上传了，麻烦尽快处理。",
    "我明天不在家，能不能放到驿站？",
    "派送员电话打不通，请帮忙联系一下。",
    "这个处理结果我不接受，请给个说法。",
    "好的，谢谢，收到了。",
    "还是没有收到，请再帮我查一下。",
    "购买凭证已经发到邮箱了，请查收。",
)
NOTES = (
    "已致电{city}网点，网点负责人表示今日安排派送。",
    "客户情绪较激动，注意沟通方式，必要时升级主管。",
    "已提交理赔审核，等待财务确认。",
    "核实派送记录：派送员未电话联系客户即放柜，已反馈网点。",
    "客户为大客户联系人，按VIP流程处理。",
    "网点回复：快件已找到，外包装轻微破损，内物完好。",
    "已调取中转站监控，待安全部门回复。",
    "同一客户本周第二次来电，合并跟进。",
)
RESOLUTIONS = (
    "已告知客户最新物流信息，客户表示认可。",
    "快件已派送签收，客户确认无误。",
    "已按保价金额完成赔付，客户满意。",
    "已向客户致歉并对派送员进行内部处理，客户接受处理结果。",
    "地址已修改，快件按新地址签收。",
    "经核实为系统延迟更新，快件已正常签收。",
    "已补发物品，客户同意结案。",
    "已解答客户咨询，无需进一步处理。",
)
WAITING = (
    "已请客户提供物品照片和购买凭证，等待客户回复。",
    "已联系客户确认新的派送地址，等待客户答复。",
    "已向客户说明处理方案，等待客户确认。",
)
TAGS = (("{}", 80), ("{VIP}", 6), ("{重复来电}", 5), ("{媒体关注}", 1), ("{VIP,重复来电}", 2), ("{升级}", 3),
        ("{节假日}", 3))

# --- SQL -------------------------------------------------------------------------------------------

# A uniform [0, 1) value from (ticket index, salt), and a pick from an array by such a value.
FUNCTIONS = """
CREATE OR REPLACE FUNCTION pg_temp.u(i bigint, salt int) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (hashint8extended(i, salt::bigint) & 2147483647)::float8 / 2147483648.0 $$;
CREATE OR REPLACE FUNCTION pg_temp.pick(a anyarray, x float8) RETURNS anyelement
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT a[1 + floor(x * cardinality(a))::int] $$;
"""

STAGE_DDL = """
CREATE TEMP TABLE stage_ticket (
    i bigint, id bigint, number text, customer_id bigint, caller_name text, category text, channel text,
    priority text, status text, branch_id bigint, team_id bigint, assignee_id bigint, agent_user bigint,
    agent_name text, lead_user bigint, subject text, description text, tags text, sla_policy_id bigint,
    t0 float8, assign_t float8, resp_t float8, paused_t float8, resolved_t float8, closed_t float8,
    fr_due float8, fr_warn float8, res_due float8, res_warn float8, fr_warned bool, fr_breached bool,
    res_warned bool, res_breached bool, esc_level int, esc_t float8, quick bool, m int, updated_t float8,
    city text, n text
) ON COMMIT DELETE ROWS
"""

# Every %(name)s is a parameter of Plan.params(); the chunk is [%(i0)s, %(i1)s).
STAGE_INSERT = """
INSERT INTO stage_ticket
SELECT i, %(base)s + i, z.number, c.customer_id, c.caller_name, b.category, b.channel, a.priority, b.status,
       c.branch_id, (%(teams)s::bigint[])[a.team], CASE WHEN b.status = 'new' THEN NULL ELSE a.agent_m END,
       a.agent_u, a.agent_name, (%(lead_users)s::bigint[])[a.team], c.subject, c.description, c.tags,
       (%(policies)s::bigint[])[a.prio_n], a.t0, e.assign_t, d.resp_t, e.paused_t, d.resolved_t,
       CASE WHEN b.status = 'closed' THEN d.closed_t END,
       f.fr_due, f.fr_warn, f.res_due, f.res_warn,
       coalesce(d.resp_t, %(sweep)s) > f.fr_warn, coalesce(d.resp_t, %(sweep)s) > f.fr_due,
       g.res_end > f.res_warn, g.res_end > f.res_due,
       CASE WHEN g.res_end > f.res_due + 86400 THEN 2 WHEN g.res_end > f.res_due THEN 1 ELSE 0 END,
       CASE WHEN g.res_end > f.res_due THEN f.res_due + 60 END,
       b.quick, g.m,
       greatest(a.t0, e.assign_t, d.resp_t, e.paused_t, d.resolved_t,
                CASE WHEN b.status = 'closed' THEN d.closed_t END,
                CASE WHEN g.m > 0 THEN g.mid_end END),
       c.city, c.n
FROM generate_series(%(i0)s::bigint, %(i1)s::bigint - 1) AS i
CROSS JOIN LATERAL (
    SELECT %(start)s + (i + pg_temp.u(i, %(seed)s)) * %(step)s AS t0,
           1 + floor(pg_temp.u(i, %(seed)s + 3) * %(n_agents)s)::int AS agent,
           CASE WHEN pg_temp.u(i, %(seed)s + 4) < 0.10 THEN 1 WHEN pg_temp.u(i, %(seed)s + 4) < 0.75 THEN 2
                WHEN pg_temp.u(i, %(seed)s + 4) < 0.95 THEN 3 ELSE 4 END AS prio_n
    OFFSET 0
) AS a0
CROSS JOIN LATERAL (
    SELECT a0.*, %(now)s - a0.t0 AS age, (ARRAY['low', 'normal', 'high', 'urgent'])[a0.prio_n] AS priority,
           (%(agent_team)s::int[])[a0.agent] AS team, (%(agents_m)s::bigint[])[a0.agent] AS agent_m,
           (%(agents_u)s::bigint[])[a0.agent] AS agent_u, (%(agent_names)s::text[])[a0.agent] AS agent_name
    OFFSET 0
) AS a
CROSS JOIN LATERAL (
    SELECT (pg_temp.u(i, %(seed)s + 1) < CASE WHEN a.age < 7 * 86400 THEN 0.95 WHEN a.age < 14 * 86400 THEN 0.45
                                            WHEN a.age < 30 * 86400 THEN 0.12 ELSE 0.01 END) AS is_open
    OFFSET 0
) AS o
CROSS JOIN LATERAL (
    SELECT (%(cat_table)s::text[])[(a.team - 1) * 100 + 1 + floor(pg_temp.u(i, %(seed)s + 5) * 100)::int] AS category,
           pg_temp.pick(%(channel_table)s::text[], pg_temp.u(i, %(seed)s + 8)) AS channel,
           CASE WHEN o.is_open THEN
                -- new (in the team queue, nobody assigned yet): mostly the last two days' tickets
                CASE WHEN pg_temp.u(i, %(seed)s + 2) < CASE WHEN a.age < 2 * 86400 THEN 0.30 ELSE 0.03 END THEN 'new'
                     WHEN pg_temp.u(i, %(seed)s + 28) < 0.25 THEN 'assigned'
                     WHEN pg_temp.u(i, %(seed)s + 28) < 0.78 THEN 'in_progress' ELSE 'waiting_customer' END
           END AS open_status,
           NOT o.is_open AND pg_temp.u(i, %(seed)s + 6) < %(quick_share)s AS quick
    OFFSET 0
) AS b0
CROSS JOIN LATERAL (
    -- done tickets: time to resolution (seconds), then closure by the customer (30 %%) or auto-close
    SELECT CASE WHEN o.is_open THEN NULL
                WHEN b0.quick THEN 120 + 1680 * pg_temp.u(i, %(seed)s + 10)
                ELSE least(3600 * (1 + 200 * pg_temp.u(i, %(seed)s + 10) ^ 3)
                           * CASE a.priority WHEN 'urgent' THEN 0.15 WHEN 'high' THEN 0.4 ELSE 1 END,
                           a.age * 0.95) END AS d_res
    OFFSET 0
) AS r
CROSS JOIN LATERAL (
    SELECT b0.category, b0.channel, b0.quick,
           CASE WHEN o.is_open THEN b0.open_status
                WHEN a.t0 + r.d_res + CASE WHEN pg_temp.u(i, %(seed)s + 12) < 0.3
                                           THEN 1800 + 3 * 86400 * pg_temp.u(i, %(seed)s + 13)
                                           ELSE 7 * 86400 + 3600 * pg_temp.u(i, %(seed)s + 13) END <= %(now)s
                THEN 'closed' ELSE 'resolved' END AS status
    OFFSET 0
) AS b
CROSS JOIN LATERAL (
    SELECT a.t0 + r.d_res AS resolved_t,
           a.t0 + r.d_res + CASE WHEN pg_temp.u(i, %(seed)s + 12) < 0.3
                                 THEN 1800 + 3 * 86400 * pg_temp.u(i, %(seed)s + 13)
                                 ELSE 7 * 86400 + 3600 * pg_temp.u(i, %(seed)s + 13) END AS closed_t,
           CASE WHEN b.quick THEN a.t0 + r.d_res
                WHEN b.status IN ('new', 'assigned') THEN NULL
                ELSE a.t0 + least(60 * (3 + 150 * pg_temp.u(i, %(seed)s + 11) ^ 3)
                                  * CASE a.priority WHEN 'urgent' THEN 0.25 ELSE 1 END,
                                  0.5 * coalesce(r.d_res, a.age)) END AS resp_t
    OFFSET 0
) AS d
CROSS JOIN LATERAL (
    SELECT CASE WHEN b.status = 'new' OR b.quick THEN NULL
                ELSE a.t0 + least(60 + 540 * pg_temp.u(i, %(seed)s + 9), 0.5 * (coalesce(d.resp_t, %(now)s) - a.t0))
           END AS assign_t,
           CASE WHEN b.status = 'waiting_customer'
                THEN d.resp_t + (%(now)s - d.resp_t) * (0.3 + 0.6 * pg_temp.u(i, %(seed)s + 14)) END AS paused_t
    OFFSET 0
) AS e
CROSS JOIN LATERAL (
    SELECT a.t0 + CASE a.priority WHEN 'urgent' THEN 30 ELSE 120 END * 60 AS fr_due,
           a.t0 + CASE a.priority WHEN 'urgent' THEN 30 ELSE 120 END * 48 AS fr_warn,
           a.t0 + CASE a.priority WHEN 'urgent' THEN 24 WHEN 'high' THEN 72 ELSE 168 END * 3600 AS res_due,
           a.t0 + CASE a.priority WHEN 'urgent' THEN 24 WHEN 'high' THEN 72 ELSE 168 END * 2880 AS res_warn
    OFFSET 0
) AS f
CROSS JOIN LATERAL (
    SELECT coalesce(d.resolved_t, e.paused_t, %(sweep)s) AS res_end,
           -- replies / messages / notes: more for older and harder tickets, at most 1 before an agent works it
           CASE WHEN b.quick THEN 0
                WHEN b.status IN ('new', 'assigned') THEN floor(1.6 * pg_temp.u(i, %(seed)s + 7))::int
                ELSE floor((%(middle_max)s + 1) * pg_temp.u(i, %(seed)s + 7) ^ %(middle_power)s)::int END AS m,
           coalesce(e.paused_t, d.resolved_t, %(now)s - 60) AS mid_end
    OFFSET 0
) AS g
CROSS JOIN LATERAL (
    SELECT pg_temp.pick(%(cities)s::text[], pg_temp.u(i, %(seed)s + 15)) AS city,
           'BW' || lpad(((hashint8extended(i, %(seed)s + 16) & 1099511627775) %% 10000000000)::text, 10, '0') AS n,
           pg_temp.pick((%(subjects)s::text[])
                            [(%(subject_from)s::int[])[array_position(%(categories)s::text[], b.category)]
                             : (%(subject_to)s::int[])[array_position(%(categories)s::text[], b.category)]],
                        pg_temp.u(i, %(seed)s + 17)) AS tpl
    OFFSET 0
) AS s0
CROSS JOIN LATERAL (
    SELECT replace(replace(s0.tpl, '{n}', s0.n), '{city}', s0.city) AS subject
    OFFSET 0
) AS s1
CROSS JOIN LATERAL (
    SELECT s0.city, s0.n, s1.subject,
           replace(replace(replace(replace(pg_temp.pick(%(descriptions)s::text[], pg_temp.u(i, %(seed)s + 18)),
                   '{subject}', s1.subject), '{n}', s0.n), '{city}', s0.city),
                   '{mood}', pg_temp.pick(%(moods)s::text[], pg_temp.u(i, %(seed)s + 19))) AS description,
           pg_temp.pick(%(tags)s::text[], pg_temp.u(i, %(seed)s + 20)) AS tags,
           CASE WHEN %(cust_n)s > 0 AND pg_temp.u(i, %(seed)s + 21) < %(cust_share)s
                THEN %(cust_lo)s + floor(pg_temp.u(i, %(seed)s + 22) * %(cust_n)s)::bigint END AS customer_id,
           CASE WHEN pg_temp.u(i, %(seed)s + 23) < 0.7
                THEN pg_temp.pick(%(surnames)s::text[], pg_temp.u(i, %(seed)s + 24))
                     || pg_temp.pick(%(given)s::text[], pg_temp.u(i, %(seed)s + 25)) ELSE '' END AS caller_name,
           CASE WHEN pg_temp.u(i, %(seed)s + 26) < 0.85
                THEN pg_temp.pick(%(branches)s::bigint[], pg_temp.u(i, %(seed)s + 27)) END AS branch_id
    OFFSET 0
) AS c
CROSS JOIN LATERAL (
    SELECT y.year, y.first FROM unnest(%(years)s::int[], %(year_first)s::bigint[]) AS y(year, first)
    WHERE y.first <= i ORDER BY y.first DESC LIMIT 1
    OFFSET 0
) AS yr
CROSS JOIN LATERAL (
    SELECT 'T' || yr.year || '-' || CASE WHEN i - yr.first + 1 < 1000000 THEN lpad((i - yr.first + 1)::text, 6, '0')
                                        ELSE (i - yr.first + 1)::text END AS number
    OFFSET 0
) AS z
"""

TICKET_INSERT = """
INSERT INTO tickets_ticket (id, tenant_id, number, customer_id, contact_id, caller_name, caller_email, caller_phone,
    caller_phone_bidx, waybill_id, category, channel, priority, status, branch_id, team_id, assignee_id, subject,
    description, tags, exception_kind, external_ref, sla_policy_id, first_response_warn_at, resolution_warn_at,
    sla_paused_at, first_response_warned, resolution_warned, escalated_at, escalation_level, merged_into_id,
    split_from_id, first_response_due, resolution_due, first_response_breached, resolution_breached, created_by_id,
    created_at, first_responded_at, resolved_at, closed_at, updated_at)
SELECT id, %(tenant)s, number, customer_id, NULL, caller_name, NULL, NULL, NULL, NULL, category, channel, priority,
       status, branch_id, team_id, assignee_id, subject, description, tags::varchar(30)[], '', '', sla_policy_id,
       to_timestamp(fr_warn), to_timestamp(res_warn), to_timestamp(paused_t), fr_warned, res_warned,
       to_timestamp(esc_t), esc_level, NULL, NULL, to_timestamp(fr_due), to_timestamp(res_due), fr_breached,
       res_breached, CASE WHEN channel = 'phone' THEN agent_user END, to_timestamp(t0), to_timestamp(resp_t),
       to_timestamp(resolved_t), to_timestamp(closed_t), to_timestamp(updated_t)
FROM stage_ticket ORDER BY id
"""

# A ticket's timeline: the fixed steps (slot 0 created, 1 assigned, 2 → in progress, 3 → waiting,
# 4 → resolved, 5 → closed, 6 SLA warning, 7 SLA breached, 8 escalated) where they apply, then its m
# replies / customer messages / internal notes spread between the first response and the end.
EVENT_INSERT = """
INSERT INTO tickets_ticketevent (tenant_id, ticket_id, kind, actor_id, from_status, to_status, body, data, created_at)
SELECT %(tenant)s, s.id, v.kind, v.actor, v.from_status, v.to_status, v.body, v.data::jsonb, to_timestamp(v.at)
FROM stage_ticket s
CROSS JOIN LATERAL (SELECT pg_temp.u(s.i, %(seed)s + 40) AS x) AS h
CROSS JOIN LATERAL (
    VALUES
        (0, true, 'created', NULL::bigint, '', 'new', '', '{}', s.t0),
        (1, s.assign_t IS NOT NULL, 'assigned', CASE WHEN h.x < 0.2 THEN s.lead_user END, 'new', 'assigned', '',
            json_build_object('from', NULL, 'to', s.assignee_id, 'to_name', s.agent_name)::text, s.assign_t),
        (2, NOT s.quick AND s.status NOT IN ('new', 'assigned'), 'status', s.agent_user, 'assigned', 'in_progress',
            '', '{}', s.resp_t),
        (3, s.status = 'waiting_customer', 'status', s.agent_user, 'in_progress', 'waiting_customer',
            pg_temp.pick(%(waiting)s::text[], h.x), '{}', s.paused_t),
        (4, s.resolved_t IS NOT NULL, 'status', s.agent_user, CASE WHEN s.quick THEN 'new' ELSE 'in_progress' END,
            'resolved', pg_temp.pick(%(resolutions)s::text[], h.x), '{}', s.resolved_t),
        (5, s.status = 'closed', 'status', CASE WHEN h.x < 0.3 THEN s.agent_user END, 'resolved', 'closed', '', '{}',
            s.closed_t),
        (6, s.res_warned, 'sla_warning', NULL, '', '', '',
            json_build_object('target', 'resolution', 'due', to_timestamp(s.res_due))::text, s.res_warn),
        (7, s.res_breached, 'sla_breached', NULL, '', '', '',
            json_build_object('target', 'resolution', 'due', to_timestamp(s.res_due))::text, s.res_due),
        (8, s.esc_level > 0, 'escalated', NULL, '', '', '', json_build_object('level', s.esc_level)::text, s.esc_t)
) AS v(slot, present, kind, actor, from_status, to_status, body, data, at)
WHERE v.present
UNION ALL
SELECT %(tenant)s, s.id, mk.kind, CASE WHEN mk.kind = 'customer_message' THEN NULL ELSE s.agent_user END, '', '',
       replace(pg_temp.pick(CASE mk.kind WHEN 'reply' THEN %(replies)s::text[] WHEN 'note' THEN %(notes)s::text[]
                                        ELSE %(messages)s::text[] END, pg_temp.u(s.i * 8 + j, %(seed)s + 41)),
               '{city}', s.city),
       '{}'::jsonb,
       to_timestamp(w.mid_start + (j + 0.2 + 0.6 * pg_temp.u(s.i * 8 + j, %(seed)s + 42)) / s.m
                    * (w.mid_end - w.mid_start))
FROM stage_ticket s
CROSS JOIN LATERAL generate_series(0, s.m - 1) AS j
CROSS JOIN LATERAL (
    SELECT coalesce(s.resp_t, s.assign_t, s.t0) AS mid_start,
           coalesce(s.paused_t, s.resolved_t, %(now)s - 60) AS mid_end,
           (ARRAY['reply', 'reply', 'reply', 'customer_message', 'customer_message', 'note', 'note', 'reply'])
               [1 + floor(pg_temp.u(s.i * 8 + j, %(seed)s + 43) * 8)::int] AS kind
) AS w
CROSS JOIN LATERAL (SELECT w.kind) AS mk
"""

LONG_PICK = """
SELECT DISTINCT ON (assignee_id) id, assignee_id
FROM tickets_ticket
WHERE tenant_id = %(tenant)s AND status = 'in_progress' AND assignee_id = ANY(%(agents)s)
ORDER BY assignee_id, created_at DESC
"""

LONG_TOP_UP = """
INSERT INTO tickets_ticketevent (tenant_id, ticket_id, kind, actor_id, from_status, to_status, body, data, created_at)
SELECT %(tenant)s, t.id, x.kind, CASE WHEN x.kind = 'customer_message' THEN NULL ELSE m.user_id END, '', '',
       replace(pg_temp.pick(CASE x.kind WHEN 'reply' THEN %(replies)s::text[] WHEN 'note' THEN %(notes)s::text[]
                                        ELSE %(messages)s::text[] END, pg_temp.u(t.id * 1000 + j, 77)),
               '{city}', '上海市'),
       '{}'::jsonb,
       w.since + (j + 0.5)::float8 / %(extra)s * (now() - interval '1 minute' - w.since)
FROM tickets_ticket t
CROSS JOIN LATERAL (SELECT greatest(t.first_responded_at, now() - interval '20 days') AS since) AS w
JOIN tenancy_membership m ON m.id = t.assignee_id
CROSS JOIN generate_series(0, %(extra)s - 1) AS j
CROSS JOIN LATERAL (
    SELECT (ARRAY['reply', 'customer_message', 'note', 'reply', 'customer_message'])[1 + (j %% 5)] AS kind
) AS x
WHERE t.tenant_id = %(tenant)s AND t.id = %(ticket)s
"""


# --- fixtures (Django, application role) ----------------------------------------------------------

def ensure_tenant(code: str, name: str):
    from tenancy.models import Tenant
    from tenancy.services import platform_tenant_create

    tenant = Tenant.objects.filter(code=code).first()
    if tenant is None:
        tenant = platform_tenant_create(code=code, name=name, name_en=name, province="上海市", city="浦东新区")
    return tenant


def agent_name(n: int) -> str:
    surnames = weighted_table(SURNAMES, 1000)
    given = weighted_table(GIVEN_ONE, 500) + weighted_table(GIVEN_TWO, 500)
    return surnames[(n * 7919) % len(surnames)] + given[(n * 104729) % len(given)]


def ensure_staff(tenant, agents: int, teams: int, username: str) -> dict:
    """Agents (memberships with role agent at headquarters), teams of equal size with their members,
    a default calendar and one SLA policy per priority. Idempotent."""
    from tenancy.models import Branch, BranchKind, Membership, User
    from tenancy.scoping import tenant_scope
    from tickets.models import BusinessCalendar, SlaPolicy, Team, TeamMember

    out: dict = {"agents_m": [], "agents_u": [], "agent_names": [], "agent_team": []}
    with tenant_scope(tenant):
        hq = Branch.objects.get(kind=BranchKind.HQ)
        existing = {u.username: u for u in User.objects.filter(username__in=[username.format(n)
                                                                             for n in range(1, agents + 1)])}
        memberships = {m.user_id: m for m in Membership.objects.filter(user__in=existing.values())}
        team_objs = []
        for t in range(teams):
            code, name, _mix = TEAMS[t % len(TEAMS)]
            code = code if t < len(TEAMS) else f"{code}-{t + 1}"
            team = Team.objects.filter(code=code).first()
            if team is None:
                team = Team(code=code, name=name if t < len(TEAMS) else f"{name}{t + 1}")
                team.save()
            team_objs.append(team)
        members = set(TeamMember.objects.values_list("team_id", "membership_id"))
        for n in range(1, agents + 1):
            name = username.format(n)
            user = existing.get(name)
            display = agent_name(n)
            if user is None:
                user = User.objects.create_user(name, None, display_name=display, home_tenant=tenant,
                                                last_active_tenant=tenant)
            membership = memberships.get(user.pk)
            if membership is None:
                membership = Membership(user=user, role="agent", branch=hq, title="客服专员")
                membership.save()
            t = (n - 1) * teams // agents   # every team gets members (25 each at 200 / 8)
            team = team_objs[t]
            if (team.pk, membership.pk) not in members:
                TeamMember(team=team, membership=membership).save()
            if team.lead_id is None:
                team.lead = membership
                team.save(update_fields=["lead"])
            out["agents_m"].append(membership.pk)
            out["agents_u"].append(user.pk)
            out["agent_names"].append(user.display_name)
            out["agent_team"].append(t + 1)
        out["teams"] = [t.pk for t in team_objs]
        out["lead_users"] = [Membership.objects.get(pk=t.lead_id).user_id for t in team_objs]
        out["team_mix"] = [TEAMS[t % len(TEAMS)][2] for t in range(teams)]
        calendar = BusinessCalendar.objects.filter(is_default=True).first()
        if calendar is None:
            calendar = BusinessCalendar(name="标准工作日历", workdays=[1, 2, 3, 4, 5], is_default=True)
            calendar.save()
        policies = []
        for priority, first, resolution in (("low", 120, 168 * 60), ("normal", 120, 168 * 60),
                                            ("high", 120, 72 * 60), ("urgent", 30, 24 * 60)):
            policy = SlaPolicy.objects.filter(category="", priority=priority, contract=None, is_active=True).first()
            if policy is None:
                policy = SlaPolicy(name=f"默认时效（{priority}）", category="", priority=priority, calendar=calendar,
                                   first_response_minutes=first, first_response_clock="calendar",
                                   resolution_minutes=resolution, resolution_clock="calendar")
                policy.save()
            policies.append(policy.pk)
        out["policies"] = policies
        out["hq"] = hq.pk
    return out


def customer_range(tenant) -> tuple[int, int]:
    """(first id, count) of the tenant's customers if their ids are contiguous (generate_customers)."""
    from django.db import connection

    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id), count(*) FROM customers_customer WHERE tenant_id = %s", [tenant.pk])
        lo, hi, count = cursor.fetchone()
    if not count:
        return 0, 0
    if hi - lo + 1 != count:
        print(f"  customers of {tenant.code}: ids not contiguous ({count:,} in {lo}…{hi}); tickets get none")
        return 0, 0
    return lo, count


# --- loading --------------------------------------------------------------------------------------

class Loader:
    """One connection per worker thread (psycopg releases the GIL while PostgreSQL works)."""

    def __init__(self, dsn: str, tenant_id: int, nice: int):
        self.dsn, self.tenant_id, self.nice = dsn, tenant_id, nice
        self.local = threading.local()
        self.conns: list = []
        self.lock = threading.Lock()

    def conn(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = connect(self.dsn, self.tenant_id, self.nice)
            conn.execute("SET temp_buffers = '256MB'")
            conn.execute(STAGE_DDL)
            self.local.conn = conn
            with self.lock:
                self.conns.append(conn)
        return conn

    def close(self) -> None:
        for conn in self.conns:
            conn.close()

    def pids(self) -> list[int]:
        return [c.info.backend_pid for c in self.conns]


def connect(dsn: str, tenant_id: int, nice: int):
    import psycopg

    conn = psycopg.connect(dsn, autocommit=True, application_name=APP_NAME)
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET work_mem = '64MB'")
    conn.execute("SET jit = off")  # the generating expressions are large: compiling them costs seconds per chunk
    conn.execute("SELECT set_config('app.tenant_id', %s, false)", [str(tenant_id)])
    conn.execute(FUNCTIONS)
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, conn.info.backend_pid, nice)
        except OSError:
            pass  # not allowed (not root, or PostgreSQL on another host): run at normal priority
    return conn


def load_chunk(loader: Loader, params: dict, i0: int, i1: int) -> tuple[int, int, float, dict]:
    conn = loader.conn()
    start = time.perf_counter()
    p = {**params, "i0": i0, "i1": i1}
    phases = {}
    with conn.transaction():
        t = time.perf_counter()
        conn.execute(STAGE_INSERT, p)
        phases["stage"] = time.perf_counter() - t
        t = time.perf_counter()
        tickets = conn.execute(TICKET_INSERT, p).rowcount
        phases["tickets"] = time.perf_counter() - t
        t = time.perf_counter()
        events = conn.execute(EVENT_INSERT, p).rowcount
        phases["events"] = time.perf_counter() - t
        t = time.perf_counter()
    phases["commit"] = time.perf_counter() - t  # the deferred foreign-key checks run here
    return tickets, events, time.perf_counter() - start, phases


def year_firsts(conn, seed: int, start: float, step: float, n: int) -> tuple[list[int], list[int]]:
    """The first ticket index of each UTC year the tickets span (numbers restart per year)."""
    end = start + n * step
    years, firsts = [dt.datetime.fromtimestamp(start, dt.UTC).year], [0]
    for year in range(years[0] + 1, dt.datetime.fromtimestamp(end, dt.UTC).year + 1):
        boundary = dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp()
        guess = int((boundary - start) / step)
        first = conn.execute(
            "SELECT min(i) FROM generate_series(%s::bigint, %s::bigint) i "
            "WHERE %s + (i + pg_temp.u(i, %s)) * %s >= %s",
            [max(0, guess - 2), min(n - 1, guess + 2), start, seed, step, boundary]).fetchone()[0]
        if first is not None:
            years.append(year)
            firsts.append(first)
    return years, firsts


def category_table(mixes: list[dict]) -> list[str]:
    table = []
    for mix in mixes:
        table += weighted_table(tuple(mix.items()), 100)
    return table


def subject_arrays() -> tuple[list[str], list[int], list[int]]:
    flat, lo, hi = [], [], []
    for cat in CATEGORIES:
        lo.append(len(flat) + 1)
        flat += SUBJECTS[cat]
        hi.append(len(flat))
    return flat, lo, hi


def plan_params(tenant_id: int, staff: dict, branches: list[int], customers: tuple[int, int], args, n: int,
                base: int, now: float) -> dict:
    subjects, subject_from, subject_to = subject_arrays()
    cities = [city for _p, city, _c in region_table()[::20]]
    start = now - args.days * DAY
    return {
        "tenant": tenant_id, "base": base, "seed": args.seed, "start": start, "step": (now - 600 - start) / n,
        "now": now, "sweep": now - 600, "n_agents": len(staff["agents_m"]),
        "agents_m": staff["agents_m"], "agents_u": staff["agents_u"], "agent_names": staff["agent_names"],
        "agent_team": staff["agent_team"], "teams": staff["teams"], "lead_users": staff["lead_users"],
        "policies": staff["policies"], "cat_table": category_table(staff["team_mix"]),
        "channel_table": weighted_table(CHANNELS, 100), "categories": list(CATEGORIES), "subjects": subjects,
        "subject_from": subject_from, "subject_to": subject_to, "descriptions": list(DESCRIPTIONS),
        "moods": list(MOODS), "tags": weighted_table(TAGS, 100), "cities": cities,
        "surnames": weighted_table(SURNAMES, 1000),
        "given": weighted_table(GIVEN_ONE, 600) + weighted_table(GIVEN_TWO, 400),
        "branches": branches or [staff["hq"]], "cust_lo": customers[0], "cust_n": customers[1],
        "cust_share": 0.65, "middle_max": MIDDLE_MAX, "middle_power": args.middle_power,
        "quick_share": args.quick_share,
        "replies": list(REPLIES), "notes": list(NOTES), "messages": list(CUSTOMER_MESSAGES),
        "waiting": list(WAITING), "resolutions": list(RESOLUTIONS),
    }


def generate(tenant, staff: dict, branches: list[int], args, n: int, dsn: str, label: str) -> dict:
    """Load `n` tickets with their timelines for `tenant`; returns the phase's figures."""
    from .bench_api_list import cpu_seconds

    main = connect(dsn, tenant.pk, args.nice)
    existing = main.execute("SELECT count(*) FROM (SELECT 1 FROM tickets_ticket WHERE tenant_id = %s LIMIT 1) x",
                            [tenant.pk]).fetchone()[0]
    if existing:
        main.close()
        print(f"  {label}: tenant {tenant.code} already has tickets: left alone (recreate the database to "
              "generate again)")
        return {"skipped": True}
    customers = customer_range(tenant)
    now = time.time()
    base = reserve_ids(main, TICKET_TABLE, n)
    params = plan_params(tenant.pk, staff, branches, customers, args, n, base, now)
    years, firsts = year_firsts(main, args.seed, params["start"], params["step"], n)
    params.update(years=years, year_first=firsts)
    loader = Loader(dsn, tenant.pk, args.nice)
    tasks = [(a, min(a + args.chunk, n)) for a in range(0, n, args.chunk)]
    tickets = events = 0
    phase_s: dict[str, float] = {}
    report_every = max(1, len(tasks) // 10)
    load0 = os.getloadavg()
    started = time.perf_counter()
    cpu0 = time.process_time()
    backend_cpu = 0.0
    with ThreadPoolExecutor(args.workers) as pool:
        futures = [pool.submit(load_chunk, loader, params, a, b) for a, b in tasks]
        for k, future in enumerate(futures, 1):
            t, e, _s, phases = future.result()
            tickets += t
            events += e
            for name, value in phases.items():
                phase_s[name] = phase_s.get(name, 0.0) + value
            if k % report_every == 0 or k == len(tasks):
                elapsed = time.perf_counter() - started
                print(f"  {label}: {tickets:>10,} tickets {events:>11,} events  {elapsed:7.1f} s  "
                      f"{(tickets + events) / elapsed:8,.0f} rows/s  load {os.getloadavg()[0]:.1f}", flush=True)
        backend_cpu = cpu_seconds(loader.pids())
    load_s = time.perf_counter() - started
    loader.close()

    # numbers: the app's next ticket of each year follows the loaded ones
    t = time.perf_counter()
    counts = [(firsts[k + 1] if k + 1 < len(firsts) else n) - firsts[k] for k in range(len(firsts))]
    for year, count in zip(years, counts, strict=True):
        main.execute("INSERT INTO tenancy_numbersequence (tenant_id, name, last_value) VALUES (%s, %s, %s) "
                     "ON CONFLICT (tenant_id, name) DO UPDATE SET last_value = GREATEST("
                     "tenancy_numbersequence.last_value, EXCLUDED.last_value)", [tenant.pk, f"ticket-{year}", count])
    numbers_s = time.perf_counter() - t

    # long timelines
    t = time.perf_counter()
    long_ids = []
    if args.long_tickets:
        picked = main.execute(LONG_PICK, {"tenant": tenant.pk,
                                          "agents": staff["agents_m"][:args.long_tickets]}).fetchall()
        for ticket_id, _assignee in picked:
            have = main.execute("SELECT count(*) FROM tickets_ticketevent WHERE tenant_id = %s AND ticket_id = %s",
                                [tenant.pk, ticket_id]).fetchone()[0]
            extra = args.long_events - have
            if extra > 0:
                with main.transaction():
                    main.execute(LONG_TOP_UP, {**params, "ticket": ticket_id, "extra": extra})
                    main.execute("UPDATE tickets_ticket SET updated_at = now() WHERE tenant_id = %s AND id = %s",
                                 [tenant.pk, ticket_id])
                events += extra
            long_ids.append(ticket_id)
    long_s = time.perf_counter() - t
    main_cpu = cpu_seconds([main.info.backend_pid])
    main.close()
    return {"tickets": tickets, "events": events, "load_s": load_s, "phases_s": phase_s,
            "python_cpu_s": time.process_time() - cpu0, "db_cpu_s": backend_cpu + main_cpu,
            "numbers": dict(zip([f"ticket-{y}" for y in years], counts, strict=True)), "numbers_s": numbers_s,
            "long_tickets": long_ids, "long_s": long_s, "base_id": base, "now": now,
            "loadavg": (load0, os.getloadavg()), "customers": customers}


# --- checks -----------------------------------------------------------------------------------------

def summary_sql(conn, tenant_id: int) -> dict:
    conn.execute("SELECT set_config('app.tenant_id', %s, false)", [str(tenant_id)])
    statuses = dict(conn.execute("SELECT status, count(*) FROM tickets_ticket WHERE tenant_id = %s GROUP BY 1",
                                 [tenant_id]).fetchall())
    per_agent = conn.execute(
        """SELECT min(c), percentile_disc(0.5) WITHIN GROUP (ORDER BY c), max(c), count(*) FROM (
               SELECT assignee_id, count(*) AS c FROM tickets_ticket
               WHERE tenant_id = %s AND status NOT IN ('resolved', 'closed') AND assignee_id IS NOT NULL
               GROUP BY 1) x""", [tenant_id]).fetchone()
    sla = conn.execute(
        """SELECT count(*) FILTER (WHERE resolution_due < now()), count(*) FILTER (WHERE resolution_due >= now()),
                  count(*) FILTER (WHERE resolution_breached), count(*) FILTER (WHERE NOT resolution_breached
                                                                                 AND resolution_due < now()),
                  count(*) FILTER (WHERE first_responded_at IS NULL AND NOT first_response_breached)
           FROM tickets_ticket WHERE tenant_id = %s AND status NOT IN ('resolved', 'closed')""",
        [tenant_id]).fetchone()
    kinds = dict(conn.execute("SELECT kind, count(*) FROM tickets_ticketevent WHERE tenant_id = %s GROUP BY 1",
                              [tenant_id]).fetchall())
    return {"statuses": statuses, "open": sum(v for k, v in statuses.items() if k not in ("resolved", "closed")),
            "open_per_agent": {"min": per_agent[0], "median": per_agent[1], "max": per_agent[2],
                               "agents": per_agent[3]},
            "open_sla": {"due_past": sla[0], "due_future": sla[1], "breached_flag": sla[2],
                         "past_due_not_flagged": sla[3], "first_response_pending": sla[4]},
            "event_kinds": kinds}


def verify(tenant, other, long_ids: list[int], long_events: int) -> list[str]:
    """Through the ORM as the application role (row-level security on)."""
    from tenancy.scoping import tenant_scope
    from tickets.models import Ticket, TicketEvent

    notes = []
    with tenant_scope(tenant):
        sample = list(Ticket.objects.order_by("-id")[:3]) + list(Ticket.objects.order_by("id")[:3])
        for t in sample:
            assert t.number.startswith("T") and t.subject and t.resolution_due > t.created_at, t.number
            assert TicketEvent.objects.filter(ticket_id=t.pk, kind="created").count() == 1, t.number
        for pk in long_ids:
            count = TicketEvent.objects.filter(ticket_id=pk).count()
            assert count == long_events, (pk, count)
        notes.append(f"{len(sample)} tickets read back (number, subject, clock, one 'created' event); "
                     f"{len(long_ids)} long tickets have exactly {long_events} events")
        if other is not None:
            foreign = Ticket.objects.filter(tenant_id=other.pk).count()
            assert foreign == 0
    if other is not None:
        with tenant_scope(other):
            assert not Ticket.objects.filter(pk__in=[s.pk for s in sample]).exists()
        notes.append(f"isolation: tenant {other.code} sees none of {tenant.code}'s tickets and vice versa")
    return notes


# --- main -------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2_000_000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--teams", type=int, default=8)
    parser.add_argument("--small-tickets", type=int, default=20_000, help="tickets of the second tenant (0: none)")
    parser.add_argument("--small-agents", type=int, default=10)
    parser.add_argument("--days", type=int, default=120, help="tickets created over the last DAYS days")
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--database-url", default="",
                        help="connection for the loading (default: DATABASE_OWNER_URL of .data/env, --db)")
    parser.add_argument("--tenant", default=TENANT_CODE)
    parser.add_argument("--workers", type=int, default=2, help="connections loading chunks at once")
    parser.add_argument("--chunk", type=int, default=25_000, help="tickets (with their events) per transaction")
    parser.add_argument("--long-tickets", type=int, default=20, help="open tickets topped up to --long-events")
    parser.add_argument("--long-events", type=int, default=200)
    parser.add_argument("--middle-power", type=float, default=6.0,
                        help="replies/messages/notes per worked ticket: floor(8 · u^POWER) (sets the mean)")
    parser.add_argument("--quick-share", type=float, default=0.30,
                        help="share of done tickets resolved at first contact (created → resolved → closed)")
    parser.add_argument("--nice", type=int, default=10, help="renice the loading backends (root only; 0: no)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-vacuum", action="store_true", help="ANALYZE only (no VACUUM) after loading")
    args = parser.parse_args()
    if not (1 <= args.tickets <= 50_000_000 and 1 <= args.teams <= args.agents and args.workers >= 1
            and args.chunk >= 100 and 0 <= args.small_tickets <= 5_000_000 and 1 <= args.days <= 3650
            and 0 <= args.long_tickets <= args.agents and args.long_events >= 10 and 0 < args.middle_power):
        parser.error("--tickets in [1, 5e7], 1 ≤ --teams ≤ --agents, --chunk ≥ 100, --long-tickets ≤ --agents")
    try:
        os.nice(args.nice)
    except OSError:
        pass

    env = setup_django(args.db)
    dsn = args.database_url or env["DATABASE_OWNER_URL"]
    from django.db import connections

    from .bench_api_list import cpu_seconds
    from .generate_customers import role_bypasses_rls
    from .generate_shipments import ensure_branches

    t0 = time.perf_counter()
    tenant = ensure_tenant(args.tenant, "Benchmark tickets")
    hubs, leaves = ensure_branches(tenant, 9, 300)
    staff = ensure_staff(tenant, args.agents, args.teams, AGENT_USERNAME)
    small = small_staff = None
    small_leaves: list = []
    if args.small_tickets:
        small = ensure_tenant(SMALL_TENANT_CODE, "Benchmark tickets (small)")
        _h, small_leaves = ensure_branches(small, 2, 20)
        small_staff = ensure_staff(small, args.small_agents, 1, SMALL_AGENT_USERNAME)
    setup_s = time.perf_counter() - t0
    connections.close_all()

    import psycopg

    with psycopg.connect(dsn, autocommit=True) as probe:
        role = probe.execute("SELECT current_user").fetchone()[0]
        direct = role_bypasses_rls(probe)
    print(f"generate_tickets  {dt.datetime.now().isoformat(timespec='seconds')}  {_env.machine()}")
    print(f"tenant {args.tenant} (id {tenant.pk}): {args.tickets:,} tickets over {args.days} days, "
          f"{args.agents} agents in {args.teams} teams; tenant {SMALL_TENANT_CODE}: {args.small_tickets:,} tickets, "
          f"{args.small_agents} agents; {args.workers} connections, {args.chunk:,} tickets per transaction, "
          f"as {role} ({'bypasses RLS' if direct else 'under RLS'}), backends niced to {args.nice}; "
          f"set-up (tenants, branches, staff, SLA policies) {setup_s:.1f} s", flush=True)
    load_start = os.getloadavg()
    started = time.perf_counter()
    results = {"main": generate(tenant, staff, [b[0] for b in leaves], args, args.tickets, dsn, args.tenant)}
    if small is not None:
        small_args = argparse.Namespace(**{**vars(args), "long_tickets": min(2, args.small_agents)})
        results["small"] = generate(small, small_staff, [b[0] for b in small_leaves], small_args,
                                    args.small_tickets, dsn, SMALL_TENANT_CODE)
    load_s = time.perf_counter() - started

    conn = connect(dsn, tenant.pk, args.nice)
    own = [conn.info.backend_pid]
    cpu0 = cpu_seconds(own)
    t = time.perf_counter()
    statement = "ANALYZE" if args.no_vacuum else "VACUUM (ANALYZE)"
    for table in (TICKET_TABLE, EVENT_TABLE, "tickets_team", "tickets_teammember", "tickets_slapolicy",
                  "tenancy_membership", "tenancy_user", "tenancy_numbersequence", "tenancy_branch"):
        conn.execute(f"{statement} {table}")
    analyze_s = time.perf_counter() - t
    analyze_cpu = cpu_seconds(own) - cpu0
    total_s = time.perf_counter() - started
    sizes = dict(conn.execute(
        """SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
           WHERE c.relname IN ('tickets_ticket', 'tickets_ticketevent') ORDER BY 1""").fetchall())
    heap = dict(conn.execute(
        """SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c
           WHERE c.relname IN ('tickets_ticket', 'tickets_ticketevent') ORDER BY 1""").fetchall())
    summaries = {"main": summary_sql(conn, tenant.pk)}
    if small is not None:
        summaries["small"] = summary_sql(conn, small.pk)
    conn.close()

    for key, res in results.items():
        if res.get("skipped"):
            continue
        ph = res["phases_s"]
        print(f"  {key}: {res['tickets']:,} tickets + {res['events']:,} events ({res['events'] / res['tickets']:.2f} "
              f"per ticket) in {res['load_s']:.1f} s = {(res['tickets'] + res['events']) / res['load_s']:,.0f} rows/s; "
              f"in the connections: stage {ph['stage']:.0f} s, tickets {ph['tickets']:.0f} s, events "
              f"{ph['events']:.0f} s, commit (deferred FK checks) {ph['commit']:.0f} s; backend CPU "
              f"{res['db_cpu_s']:.0f} s; long timelines {res['long_s']:.1f} s; numbers {res['numbers']}")
    print(f"  {statement}: {analyze_s:.1f} s (backend CPU {analyze_cpu:.0f} s)")
    print(f"  total: {total_s:.1f} s ({total_s / 60:.1f} min) after {setup_s:.1f} s set-up")
    for key, s in summaries.items():
        print(f"  {key}: statuses {s['statuses']}; open {s['open']:,}; open per agent {s['open_per_agent']}; "
              f"open SLA {s['open_sla']}")
        print(f"  {key}: events by kind {s['event_kinds']}")
    print("  sizes (with indexes): " + ", ".join(f"{k} {v / 2**20:,.0f} MiB (heap {heap[k] / 2**20:,.0f})"
                                                 for k, v in sizes.items()))
    print(f"load average at start {load_start[0]:.2f}, at end {os.getloadavg()[0]:.2f}", flush=True)
    notes = verify(tenant, small, results["main"].get("long_tickets", []), args.long_events) \
        if not results["main"].get("skipped") else []
    for note in notes:
        print(f"check: {note}")

    _env.OUT.mkdir(parents=True, exist_ok=True)
    out = _env.OUT / "generate_tickets.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    report = {
        "date": dt.datetime.now().isoformat(timespec="seconds"), "machine": _env.machine(), "database": args.db,
        "role": role, "args": {k: v for k, v in vars(args).items() if k != "database_url"},
        "tenant": args.tenant, "tenant_id": tenant.pk, "small_tenant": small.code if small else None,
        "small_tenant_id": small.pk if small else None, "setup_s": setup_s, "load_s": load_s,
        "analyze_statement": statement, "analyze_s": analyze_s, "analyze_cpu_s": analyze_cpu, "total_s": total_s,
        "results": results, "summaries": summaries, "sizes": sizes, "heap_sizes": heap,
        "loadavg_start": load_start, "loadavg_end": os.getloadavg(), "checks": notes,
        "agents": {"main": staff["agents_m"], "small": small_staff["agents_m"] if small_staff else []},
        "teams": {"main": staff["teams"], "small": small_staff["teams"] if small_staff else []},
    }
    if results["main"].get("skipped") and previous.get("database") == args.db:
        report["results"]["main"] = previous.get("results", {}).get("main", report["results"]["main"])
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"written {out.relative_to(_env.BASE_DIR)}")


if __name__ == "__main__":
    sys.exit(main())
