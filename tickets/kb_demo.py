"""Demo knowledge base of a courier service desk: four categories, ten published articles and
one draft, written through the services. Call inside a tenant scope; does nothing when the
tenant already has articles (so seeding twice is harmless)."""
from __future__ import annotations

from .models import KbArticle, KbCategory
from .services import kb as services

CATEGORIES = [("查件与派送", 10), ("理赔", 20), ("投诉处理", 30), ("改址与退回", 40)]

# (category, ticket category, title, text)
ARTICLES = [
    ("查件与派送", "tracking_inquiry", "如何帮客户查件",
     "1. 请客户提供运单号（或寄件人/收件人手机号后四位核验身份）。\n"
     "2. 在系统中输入运单号查看物流轨迹，按最新一条扫描告知客户快件所在网点和状态。\n"
     "3. 在途超过24小时没有新的扫描记录时，系统会自动生成延误异常工单，请告知客户已在跟进。\n"
     "4. 客户只能查询与本人有关的快件，不得向第三方透露收寄件人的姓名、电话和地址。"),
    ("查件与派送", "delivery_urge", "客户催派的处理流程",
     "客户催促派送时：\n"
     "1. 查看快件是否已到达派送网点、是否已出仓派送（派送中）。\n"
     "2. 已在派送中：告知预计送达时段，并在工单中备注联系派件员。\n"
     "3. 未到达网点：说明当前所在中转场，如超过承诺时效，按延误处理并登记。\n"
     "4. 生鲜、急件可将工单优先级调整为“紧急”，并通知网点负责人。"),
    ("查件与派送", "complaint", "快递柜和驿站投递须征得收件人同意",
     "根据《快递市场管理办法》第二十八条，未经收件人同意，不得将快件投递到智能快件箱（快递柜）或快递服务站（驿站），"
     "也不得代替收件人签收。\n"
     "客户投诉“没打电话直接放驿站/快递柜”时：\n"
     "1. 查询是否有收件人的同意记录（电话、短信或App授权）。\n"
     "2. 没有同意记录的，向客户致歉，可安排重新上门派送，并按投诉登记，转网点负责人处理。\n"
     "3. 客户今后希望送货上门的，在客户偏好中备注。"),
    ("理赔", "damage", "快件破损理赔指引",
     "客户收到破损快件时，请客户保留外包装和内件，并提供：破损照片（外箱、内件、面单）、购买凭证或发票。\n"
     "保价快件：按实际损失赔偿，最高不超过保价金额（《快递暂行条例》第二十七条）。\n"
     "未保价快件：按实际损失赔偿，最高不超过运费的3倍（公司公布的赔偿标准）。\n"
     "理赔审批：500元以内由组长审批，5000元以内由网点负责人审批，5000元以上报总部审批。"),
    ("理赔", "loss", "快件丢失理赔与保价规则",
     "确认丢失前先核对物流轨迹并联系末端网点、中转场查找。确认丢失后：\n"
     "• 保价快件：按实际损失赔偿，以保价金额为上限；\n"
     "• 未保价快件：按实际损失赔偿，最高为运费的3倍；\n"
     "• 内件价值超过1000元的，寄件时应建议客户保价。\n"
     "请客户提供价值证明（发票、订单截图）。理赔时效：自寄件之日起一年内提出。"),
    ("理赔", "delay", "快件延误如何赔付",
     "快件超过承诺时效送达、但内件价值未受影响的，退还运费（保价费不退）。\n"
     "因延误导致内件失去价值（如生鲜变质）的，按丢失或破损处理，适用保价或运费3倍的赔偿规则。\n"
     "请在工单中记录承诺送达时间与实际送达时间。"),
    ("投诉处理", "complaint", "投诉处理7日时限",
     "根据《快递暂行条例》，对用户的投诉应当在7日内处理完毕并将处理结果告知用户。\n"
     "默认服务标准：投诉首次响应2个工作小时内，7个自然日内处理完毕。\n"
     "处理过程中分阶段告知客户：受理时、每个处理阶段、处理完毕时。\n"
     "客户7日内未获答复或对结果不满意，可向邮政管理部门申诉（12305），被转来的申诉须在15日内答复。"),
    ("投诉处理", "complaint", "派件员服务态度投诉的处理",
     "1. 向客户致歉，记录事发时间、运单号、派件员信息和具体经过。\n"
     "2. 工单分类选择“投诉”，转所属网点负责人核实。\n"
     "3. 核实属实的，按违规目录登记，并在7日内将处理结果回复客户。\n"
     "4. 结案后系统会自动发送满意度回访。"),
    ("改址与退回", "address_change", "改址申请的受理条件",
     "快件尚未派送签收前可以申请改址：\n"
     "1. 核验申请人身份：寄件人可以改址；收件人改址须核对收件手机号。\n"
     "2. 同城改址一般免费；跨城改址可能产生续重费用，并重新计算时效。\n"
     "3. 快件已在派送中或已签收的，无法改址，可与派件员协商或办理退回。"),
    ("改址与退回", "other", "拒收与退回件的处理",
     "收件人拒收时，派件员须在系统中登记拒收原因，快件按退回流程返还寄件人。\n"
     "退回运费按公司标准由寄件人承担（协议客户按合同约定）。\n"
     "如拒收原因是快件破损，应同时按破损流程登记，由寄件人决定是否提出理赔。"),
]

DRAFT = ("理赔", "claim", "理赔所需材料清单（修订中）",
         "本文正在修订，发布前请勿引用。\n材料：理赔申请表、价值证明、破损照片、签收时的破损报告。")


def seed_kb_demo() -> int:
    """Seed the current tenant's knowledge base; returns the number of articles created."""
    if KbArticle.objects.exists():
        return 0
    existing = {c.name: c for c in KbCategory.objects.all()}
    categories = {name: existing.get(name) or services.category_create(actor=None, name=name, position=position)
                  for name, position in CATEGORIES}
    for category, ticket_category, title, body in ARTICLES:
        services.article_create(actor=None, title=title, body=body, category=categories[category],
                                ticket_category=ticket_category, note="初始版本", publish=True)
    category, ticket_category, title, body = DRAFT
    services.article_create(actor=None, title=title, body=body, category=categories[category],
                            ticket_category=ticket_category, note="草稿")
    return len(ARTICLES) + 1
