"""Builders for the two-tenant world most tests start from."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenancy.models import Branch, BranchKind, Membership, Role, Tenant, User
from tenancy.scoping import tenant_scope
from tenancy.services import platform_tenant_create

PASSWORD = "Test-Passw0rd-2026"


def confirmed_totp_device(user: User) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)


def current_totp(device: TOTPDevice) -> str:
    from django_otp.oath import totp

    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


@dataclass
class TenantWorld:
    tenant: Tenant
    hq: Branch
    region: Branch
    branch: Branch
    other_branch: Branch
    members: dict[str, Membership] = field(default_factory=dict)

    def user(self, role: str) -> User:
        return self.members[role].user


@dataclass
class World:
    a: TenantWorld
    b: TenantWorld
    external_auditor: User

    def client_for(self, user: User, tenant: Tenant | None = None, *, second_factor: bool = True) -> Client:
        """A logged-in browser. With second_factor, the user has a confirmed authenticator and
        this session passed the code step (tenant admins cannot work without it)."""
        client = Client()
        client.force_login(user)
        session = client.session
        if tenant is not None:
            session["crm_tenant_id"] = tenant.pk
        if second_factor:
            device = confirmed_totp_device(user)
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client


def _branch(code, name, kind, parent, province="上海市", city="上海市") -> Branch:
    node = Branch(code=code, name=name, kind=kind, parent=parent, province=province, city=city)
    node.save()
    node.path = f"{parent.path}{node.pk}/"
    node.save(update_fields=["path"])
    return node


def build_tenant(code: str, name: str, phone_prefix: str) -> TenantWorld:
    tenant = platform_tenant_create(code=code, name=name, hq_code=f"{code.upper()}-HQ",
                                    hq_name=f"{name}总部", province="上海市", city="上海市")
    with tenant_scope(tenant):
        hq = Branch.objects.get(kind=BranchKind.HQ)
        region = _branch(f"{code.upper()}-R1", f"{name}华东大区", BranchKind.REGION, hq)
        branch = _branch(f"{code.upper()}-B1", f"{name}浦东网点", BranchKind.BRANCH, region)
        other = _branch(f"{code.upper()}-B2", f"{name}杭州网点", BranchKind.BRANCH, region, "浙江省", "杭州市")
        tw = TenantWorld(tenant=tenant, hq=hq, region=region, branch=branch, other_branch=other)
        for i, role in enumerate(Role.values):
            user = User.objects.create_user(f"{code}_{role}", PASSWORD, display_name=f"{name}{role}",
                                            home_tenant=tenant, last_active_tenant=tenant)
            membership = Membership(user=user, role=role, title=f"{role} title",
                                    branch=branch if role in (Role.AGENT, Role.BRANCH_MANAGER) else None)
            membership.work_phone = f"{phone_prefix}{i:04d}"
            membership.save()
            tw.members[role] = membership
    return tw


def build_world() -> World:
    a = build_tenant("alpha", "甲快递", "1381234")
    b = build_tenant("beta", "乙速运", "1391234")
    external = User.objects.create_user("external_auditor", PASSWORD, display_name="外部审计")
    for tw in (a, b):
        with tenant_scope(tw.tenant):
            Membership.objects.create(user=external, role=Role.AUDITOR, title="external")
    return World(a=a, b=b, external_auditor=external)
