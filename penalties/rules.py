"""The rules of violations and fines (DOMAIN.md §5): per-company numbers, versioned by the date they
take effect (tenancy.rules), and the pure tier arithmetic.

Tiers by amount: minor below 1,000 CNY; general from 1,000 up to and including 5,000; serious
above 5,000 (1,000 is general, 5,000 is general, 5,000.01 is serious)."""
from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from tenancy.rules import Rule

from .models import Tier

GENERAL_FROM = Rule("penalties.tier_general_from", Decimal("1000"),
                    _("Fines: the general tier starts at (CNY; below it a fine is minor)"), kind="decimal",
                    min_value=Decimal("0.01"))
SERIOUS_ABOVE = Rule("penalties.tier_serious_above", Decimal("5000"),
                     _("Fines: above this amount a fine is serious (CNY)"), kind="decimal", min_value=Decimal("0.01"))
APPEAL_WINDOW_DAYS = Rule("penalties.appeal_window_days", 15,
                          _("Fines: a confirmed fine may be appealed within (days)"), kind="int",
                          min_value=1, max_value=365)
EVIDENCE_MAX_MB = Rule("penalties.evidence_max_mb", 10, _("Fines: largest evidence file (MB)"), kind="int",
                       min_value=1, max_value=50)
PII_ACCESS_PER_HOUR = Rule("penalties.pii_access_per_hour", 30,
                           _("Fines detector: more than this many personal-data reveals or exports by one "
                             "user within one clock hour is proposed as a violation"), kind="int",
                           min_value=1, max_value=100000)
DETECTOR_LOOKBACK_DAYS = Rule("penalties.detector_lookback_days", 7,
                              _("Fines detectors: look back this many days for facts not yet proposed"),
                              kind="int", min_value=1, max_value=90)


def tier_for(amount: Decimal, *, general_from: Decimal, serious_above: Decimal) -> str:
    """The tier of an amount (pure)."""
    if amount > serious_above:
        return Tier.SERIOUS
    if amount >= general_from:
        return Tier.GENERAL
    return Tier.MINOR


def tier_of(amount: Decimal, on=None) -> str:
    """The tier of an amount under the current company's rules on `on` (default today)."""
    return tier_for(amount, general_from=GENERAL_FROM.value(on=on), serious_above=SERIOUS_ABOVE.value(on=on))


# The catalogue every company starts with (DOMAIN.md §5). Amounts are CNY; legal references for
# regulator items name the article. (code, zh, en, category, min, max, default, severity, legal, detector)
DEFAULT_CATALOGUE = [
    ("DATA_LEAK", "客户信息泄露", "Customer data leak", "data_security", "1000", "50000", "5000", "high",
     "", ""),
    ("PII_ACCESS_ANOMALY", "异常查看或导出个人信息", "Unusual personal-data reveals or exports", "data_security",
     "200", "5000", "500", "medium", "", "pii_access_anomaly"),
    ("FALSE_ADDRESS", "录入虚假地址", "False address entered", "information_accuracy", "100", "2000", "300",
     "medium", "", ""),
    ("FAKE_SCAN", "虚假扫描", "Fake scan", "information_accuracy", "200", "5000", "1000", "high", "", ""),
    ("FAKE_SIGNATURE", "代签收 / 虚假签收", "Fake signature or signing for the customer", "information_accuracy",
     "200", "5000", "1000", "high", "", ""),
    ("TRACKING_LATE", "物流信息未及时更新", "Tracking not updated in time", "tracking_timeliness", "50", "2000",
     "200", "low", "", "tracking_gap"),
    ("CRM_DATA_TAMPERING", "擅自修改或删除客户系统数据", "Unauthorised modification or deletion of CRM data",
     "data_security", "500", "10000", "2000", "high", "", ""),
    ("UNAPPROVED_INTEGRATION", "未经批准对接外部系统", "Connecting the CRM to an external system without approval",
     "data_security", "1000", "20000", "5000", "high", "", ""),
    ("DATA_LOSS_MISHANDLING", "操作不当造成数据丢失或损坏", "Improper operation causing data loss or damage",
     "data_security", "200", "10000", "1000", "medium", "", ""),
    ("ROUGH_HANDLING", "暴力分拣", "Rough handling", "service_quality", "100", "3000", "500", "medium", "", ""),
    ("LOCKER_NO_CONSENT", "未经同意投递至快递柜或驿站", "Delivery to a locker or station without consent",
     "service_quality", "50", "1000", "200", "low", "", ""),
    ("COMPLAINT_OVERDUE", "投诉超时未处理", "Complaint unresolved past its clock", "service_quality", "100",
     "3000", "300", "medium", "", "complaint_overdue"),
    ("REG_TRACKING", "监管处罚：未按规定上传快件处理信息", "Regulator: tracking obligations not met", "regulator",
     "0.01", "30000", "10000", "high", "快递市场管理办法 第二十六条、第五十三条", ""),
    ("REG_WAYBILL_LEAK", "监管处罚：泄露快递运单信息", "Regulator: waybill data leak", "regulator", "10000",
     "100000", "10000", "high", "快递暂行条例 第四十四条", ""),
    ("REG_PIPL", "监管处罚：违反个人信息保护法", "Regulator: Personal Information Protection Law", "regulator",
     "0.01", "50000000", "100000", "high", "个人信息保护法 第六十六条", ""),
]
