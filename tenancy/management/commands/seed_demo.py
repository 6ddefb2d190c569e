"""Demo data for `make run`: two courier companies, their branch trees, one login per role per
company and an external auditor who is a member of both. Runs once (skips when present)."""
from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from compliance.demo import seed_compliance_demo
from customers.churn_demo import seed_churn_demo
from customers.demo import seed_customers
from penalties.demo import seed_fines_demo
from reports.demo import seed_reports_demo
from shipments.demo import seed_shipments
from tenancy.models import Branch, BranchKind, Membership, Role, Tenant, User
from tenancy.scoping import tenant_scope
from tenancy.services import platform_tenant_create
from tickets.claims_demo import seed_claims_demo
from tickets.demo import seed_service_desk
from tickets.surveys_demo import seed_surveys_demo

DEMO_PASSWORD = "Courier-Demo-2026"

COMPANIES = [
    {
        "code": "shunda", "name": "顺达快递", "name_en": "Shunda Express", "prefix": "SD", "phones": "1376688",
        "hq": ("顺达快递总部", "上海市", "上海市"),
        "regions": [
            ("EC", "华东大区", "上海市", "上海市", [
                ("SH-PD", "上海浦东网点", "上海市", "上海市"),
                ("HZ-XH", "杭州西湖网点", "浙江省", "杭州市"),
            ]),
            ("SC", "华南大区", "广东省", "广州市", [
                ("GZ-TH", "广州天河网点", "广东省", "广州市"),
                ("SZ-NS", "深圳南山网点", "广东省", "深圳市"),
            ]),
        ],
        "people": {
            Role.AGENT: ("王小梅", "客服专员", "SH-PD", "13812345678"),
            Role.SALES_MANAGER: ("李建国", "大客户经理", "EC", "13923456789"),
            "sales2": ("王芳", "销售经理", "EC", "13923456790"),
            Role.BRANCH_MANAGER: ("赵海涛", "网点负责人", "SH-PD", "13734567890"),
            Role.AUDITOR: ("孙丽华", "内审专员", None, "13645678901"),
            Role.EXECUTIVE: ("周志远", "运营副总裁", None, "13556789012"),
            Role.TENANT_ADMIN: ("陈静", "系统管理员", None, "13467890123"),
        },
    },
    {
        "code": "xunjie", "name": "迅捷速运", "name_en": "Xunjie Logistics", "prefix": "XJ", "phones": "1588899",
        "hq": ("迅捷速运总部", "北京市", "北京市"),
        "regions": [
            ("NC", "华北大区", "北京市", "北京市", [
                ("BJ-CY", "北京朝阳网点", "北京市", "北京市"),
                ("TJ-BH", "天津滨海网点", "天津市", "天津市"),
            ]),
            ("SW", "西南大区", "四川省", "成都市", [
                ("CD-GX", "成都高新网点", "四川省", "成都市"),
                ("CQ-YB", "重庆渝北网点", "重庆市", "重庆市"),
            ]),
        ],
        "people": {
            Role.AGENT: ("刘洋", "客服专员", "BJ-CY", "15012345678"),
            Role.SALES_MANAGER: ("黄伟", "销售经理", "NC", "15123456789"),
            "sales2": ("许晴", "销售经理", "NC", "15123456790"),
            Role.BRANCH_MANAGER: ("吴敏", "网点负责人", "CD-GX", "15234567890"),
            Role.AUDITOR: ("郑凯", "审计主管", None, "15345678901"),
            Role.EXECUTIVE: ("马骏", "总经理", None, "15856789012"),
            Role.TENANT_ADMIN: ("林芳", "系统管理员", None, "15967890123"),
        },
    },
]

# A second sales manager per company, so leads are assigned in turn inside the sales team.
EXTRA_LOGINS = {"sales2": Role.SALES_MANAGER}

ROLE_LOGIN_SUFFIX = {
    Role.AGENT: "agent", Role.SALES_MANAGER: "sales", Role.BRANCH_MANAGER: "branch",
    Role.AUDITOR: "auditor", Role.EXECUTIVE: "exec", Role.TENANT_ADMIN: "admin",
}


class Command(BaseCommand):
    help = "Load the demo companies, branches and logins (once)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="seed even if demo data exists")

    def handle(self, *args, **options):
        if Tenant.objects.filter(code__in=[c["code"] for c in COMPANIES]).exists() and not options["force"]:
            self.stdout.write("demo data already present")
            return
        with transaction.atomic():
            external = User.objects.create_user("ext_auditor", DEMO_PASSWORD, display_name="外部审计 何晓")
            for company in COMPANIES:
                self._seed_company(company, external)
        self.stdout.write(self.style.SUCCESS("demo data loaded"))

    def _seed_company(self, company: dict, external: User) -> None:
        hq_name, hq_province, hq_city = company["hq"]
        tenant = platform_tenant_create(code=company["code"], name=company["name"], name_en=company["name_en"],
                                        hq_code=f"{company['prefix']}-HQ", hq_name=hq_name,
                                        province=hq_province, city=hq_city)
        with tenant_scope(tenant):
            hq = Branch.objects.get(kind=BranchKind.HQ)
            nodes = {"HQ": hq}
            for code, name, province, city, branches in company["regions"]:
                region = self._branch(f"{company['prefix']}-{code}", name, BranchKind.REGION, hq, province, city)
                nodes[code] = region
                for b_code, b_name, b_province, b_city in branches:
                    nodes[b_code] = self._branch(f"{company['prefix']}-{b_code}", b_name, BranchKind.BRANCH,
                                                 region, b_province, b_city)
            for key, (display, title, branch_key, phone) in company["people"].items():
                role = EXTRA_LOGINS.get(key, key)
                suffix = key if key in EXTRA_LOGINS else ROLE_LOGIN_SUFFIX[role]
                user = User.objects.create_user(
                    f"{company['code']}_{suffix}", DEMO_PASSWORD, display_name=display,
                    home_tenant=tenant, last_active_tenant=tenant)
                membership = Membership(user=user, role=role, title=title,
                                        branch=nodes.get(branch_key) if branch_key else None)
                membership.work_phone = phone
                membership.save()
            Membership.objects.create(user=external, role=Role.AUDITOR, title="外部审计师")
        admin = User.objects.get(username=f"{company['code']}_admin")
        with tenant_scope(tenant, user=admin):
            seed_customers(tenant=tenant, admin=admin, phone_prefix=company["phones"],
                           provinces=[(province, city) for _c, _n, province, city, _b in company["regions"]])
            seed_service_desk(admin=admin, prefix=company["prefix"])
            seed_shipments(prefix=company["prefix"])
            seed_claims_demo()
            seed_fines_demo()
            seed_compliance_demo()
            seed_surveys_demo(tenant)
            seed_churn_demo(tenant)
            seed_reports_demo()

    @staticmethod
    def _branch(code, name, kind, parent, province, city) -> Branch:
        branch = Branch(code=code, name=name, kind=kind, parent=parent, province=province, city=city)
        branch.save()
        branch.path = f"{parent.path}{branch.pk}/"
        branch.save(update_fields=["path"])
        return branch
