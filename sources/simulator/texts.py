"""Free text of the simulated systems: CRM notes, test feedback, ticket descriptions and
resolution notes, project descriptions.

A text is written from what the simulator already knows (the event's subject or category,
the material family, the company's traits) and carries its truth: one topic, the parameter
requirements it states (in SI units), measured values it mentions, and the hostile kind of
a text meant to break parsers. Chinese mostly, some English and mixed; property names,
comparators, numbers and units are written many ways but never mistyped, since the truth
claims what they say. Everything here draws from the text generator only, so no other
column changes when texts are added.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sources.simulator.world import FAMILIES, MATERIALS, NEW_MATERIALS, World

TOPICS = (
    "spec_requirement",
    "quality_defect",
    "delivery_delay",
    "packaging_damage",
    "price_negotiation",
    "codevelopment",
    "billing_issue",
    "routine_followup",
)
CONCERNS = ("performance", "price", "delivery", "packaging", "codev")
COMPARATORS = ("ge", "le", "gt", "lt", "eq", "between")
HOSTILE_KINDS = ("empty", "whitespace", "emoji", "html", "long", "mojibake")
HOSTILE_SHARE = 0.004  # of the texts written
ENGLISH_SHARE, MIXED_SHARE = 0.05, 0.06  # of a Chinese company's texts (abroad: 0.6, 0.15)
TYPO_SHARE = 0.1  # texts with a typo in a non-key word
FULLWIDTH_SHARE = 0.07  # texts typed with full-width digits
LONG_CHARS = 100_000  # a pasted log: below csv's default field limit (131,072)

SPEC, QUALITY, DELIVERY, PACKAGING, PRICE, CODEV, BILLING, ROUTINE = TOPICS
_CONTENTLESS = frozenset({"empty", "whitespace", "emoji"})  # no topic, no requirements


# ---------------------------------------------------------------------- properties
@dataclass(frozen=True)
class Unit:
    factor: float  # SI = value * factor + offset
    spell: tuple[str, ...]  # spellings in any text
    spell_zh: tuple[str, ...] = ()  # spellings of Chinese texts only
    offset: float = 0.0  # °C -> K
    span: tuple[float, float] = (0.1, 5000.0)  # numbers people write in it (14500 nm: no)

    def si(self, value: float) -> float:
        return float(f"{value * self.factor + self.offset:.12g}")

    def of(self, si: float) -> float:
        return (si - self.offset) / self.factor


@dataclass(frozen=True)
class Property:
    code: str
    si: str  # the SI unit of the truth
    zh: tuple[str, ...]
    en: tuple[str, ...]
    units: tuple[Unit, ...]  # the first is the unit of `ranges`
    ranges: dict[str, tuple[float, float, float]]  # family -> natural (low, high, step)
    comparators: tuple[tuple[str, float], ...]  # the comparators people use, weighted
    grid: tuple[float, ...] = ()  # the values people ask for, if only some (purity grades)

    def natural(self, si: float, slack: float = 0.02) -> bool:
        """Is an SI value inside the natural range of one of the property's families?"""
        x = self.units[0].of(si)
        return any(
            lo - slack * abs(lo) <= x <= hi + slack * abs(hi) for lo, hi, _ in self.ranges.values()
        )


_MPA = Unit(1e6, ("MPa", "Mpa"), ("兆帕",))
_GPA = Unit(1e9, ("GPa", "Gpa"), ("吉帕",), span=(1.0, 1000.0))
_GCM3 = Unit(1000, ("g/cm³", "g/cm3", "g/cc"), ("克每立方厘米",))
_CELSIUS = Unit(1, ("°C", "℃"), (), 273.15)
PROPERTIES: dict[str, Property] = {
    p.code: p
    for p in (
        Property(
            "tensile_strength",
            "Pa",
            ("拉伸强度", "抗拉强度"),
            ("tensile strength",),
            (_MPA, _GPA),
            {"carbon_fibre": (3500, 6400, 10), "specialty_polymers": (50, 150, 1)},
            (("ge", 0.8), ("gt", 0.2)),
        ),
        Property(
            "tensile_modulus",
            "Pa",
            ("拉伸模量", "弹性模量"),
            ("tensile modulus", "modulus"),
            (_GPA,),
            {"carbon_fibre": (230, 380, 1)},
            (("ge", 0.85), ("gt", 0.15)),
        ),
        Property(
            "layer_count",
            "1",
            ("层数",),
            ("layers", "layer count"),
            (Unit(1, ("",), ("层",)),),
            {"graphene": (1, 10, 1)},
            (("le", 0.6), ("between", 0.25), ("eq", 0.15)),
        ),
        Property(
            "specific_surface_area",
            "m2/kg",
            ("比表面积", "BET比表面积"),
            ("specific surface area", "BET surface area", "BET"),
            (Unit(1000, ("m²/g", "m2/g"), ("平方米每克",)),),
            {"graphene": (300, 900, 10)},
            (("ge", 0.75), ("between", 0.25)),
        ),
        Property(
            "sheet_resistance",
            "ohm",
            ("方阻", "面电阻", "方块电阻"),
            ("sheet resistance",),
            (Unit(1, ("Ω/sq", "ohm/sq", "Ω/□"), ("欧姆/方",)),),
            {"graphene": (10, 50, 1)},
            (("le", 0.8), ("lt", 0.2)),
        ),
        Property(
            "purity",
            "1",
            ("纯度",),
            ("purity",),
            (Unit(0.01, ("%",)),),
            {"specialty_ceramics": (99.0, 99.99, 0.01)},
            (("ge", 1.0),),
            (99.0, 99.5, 99.7, 99.8, 99.9, 99.95, 99.99),
        ),
        Property(
            "particle_size_d50",
            "m",
            ("粒径", "中位粒径", "D50", "粒径D50"),
            ("particle size", "D50", "median particle size"),
            (
                Unit(1e-6, ("μm", "um", "µm"), ("微米",)),
                Unit(1e-9, ("nm",), ("纳米",), span=(10.0, 2000.0)),
            ),
            {"specialty_ceramics": (0.2, 2.0, 0.1), "battery_cathode": (5, 15, 0.5)},
            (("eq", 0.35), ("between", 0.45), ("le", 0.2)),
        ),
        Property(
            "density",
            "kg/m3",
            ("密度", "体积密度"),
            ("density", "bulk density"),
            (_GCM3,),
            {"specialty_ceramics": (3.0, 6.0, 0.01)},
            (("ge", 0.7), ("between", 0.2), ("eq", 0.1)),
        ),
        Property(
            "thermal_conductivity",
            "W/(m*K)",
            ("热导率", "导热系数"),
            ("thermal conductivity",),
            (Unit(1, ("W/(m·K)", "W/mK", "W/m·K", "W/(m.K)")),),
            {"specialty_ceramics": (80, 200, 5)},
            (("ge", 0.9), ("gt", 0.1)),
        ),
        Property(
            "specific_capacity",
            "C/kg",
            ("比容量", "克容量", "放电容量"),
            ("specific capacity", "discharge capacity"),
            (Unit(3600, ("mAh/g",), ("毫安时每克",)),),
            {"battery_cathode": (140, 220, 1)},
            (("ge", 0.9), ("gt", 0.1)),
        ),
        Property(
            "compaction_density",
            "kg/m3",
            ("压实密度",),
            ("compaction density", "press density"),
            (_GCM3,),
            {"battery_cathode": (2.2, 3.6, 0.05)},
            (("ge", 0.8), ("between", 0.2)),
        ),
        Property(
            "moisture",
            "1",
            ("水分", "含水量", "水含量"),
            ("moisture", "water content"),
            (Unit(1e-6, ("ppm",)), Unit(0.01, ("%",), span=(0.001, 1.0))),
            {"battery_cathode": (100, 500, 50)},
            (("le", 0.8), ("lt", 0.2)),
        ),
        Property(
            "remanence",
            "T",
            ("剩磁", "剩磁Br", "Br"),
            ("remanence", "Br"),
            (
                Unit(1, ("T",), ("特斯拉",)),
                Unit(0.1, ("kGs", "kG"), ("千高斯",)),
                Unit(1e-3, ("mT",)),
            ),
            {"rare_earth_magnets": (1.2, 1.45, 0.01)},
            (("ge", 0.8), ("between", 0.2)),
        ),
        Property(
            "coercivity",
            "A/m",
            ("内禀矫顽力", "矫顽力", "Hcj"),
            ("coercivity", "intrinsic coercivity", "Hcj"),
            (Unit(1e3, ("kA/m",)), Unit(79577.4715, ("kOe",), ("千奥斯特",))),
            {"rare_earth_magnets": (800, 2000, 10)},
            (("ge", 1.0),),
        ),
        Property(
            "max_operating_temperature",
            "K",
            ("最高使用温度", "工作温度", "耐温"),
            ("max operating temperature", "max. working temperature", "operating temp"),
            (Unit(1, ("°C", "℃"), ("度",), 273.15),),
            {"rare_earth_magnets": (80, 350, 5)},
            (("ge", 1.0),),
        ),
        Property(
            "heat_deflection_temperature",
            "K",
            ("热变形温度", "HDT"),
            ("heat deflection temperature", "HDT"),
            (_CELSIUS,),
            {"specialty_polymers": (150, 300, 5)},
            (("ge", 1.0),),
        ),
        Property(
            "dielectric_strength",
            "V/m",
            ("介电强度", "击穿强度"),
            ("dielectric strength", "breakdown strength"),
            (Unit(1e6, ("kV/mm",)),),
            {"specialty_polymers": (100, 300, 10)},
            (("ge", 0.9), ("gt", 0.1)),
        ),
    )
}
# the properties of each family (index into FAMILIES)
FAMILY_PROPERTIES: tuple[tuple[Property, ...], ...] = tuple(
    tuple(p for p in PROPERTIES.values() if fam in p.ranges) for fam in FAMILIES
)
# catalogue spec keys -> property: a sample's requirement often repeats its material's spec
_SPEC_KEYS = {
    "tensile_strength_mpa": "tensile_strength",
    "modulus_gpa": "tensile_modulus",
    "layers": "layer_count",
    "specific_surface_m2g": "specific_surface_area",
    "sheet_resistance_ohm": "sheet_resistance",
    "purity_pct": "purity",
    "d50_um": "particle_size_d50",
    "density_gcm3": "density",
    "thermal_conductivity_wmk": "thermal_conductivity",
    "capacity_mahg": "specific_capacity",
    "compaction_gcm3": "compaction_density",
    "br_t": "remanence",
    "hcj_kam": "coercivity",
    "max_temp_c": "max_operating_temperature",
    "hdt_c": "heat_deflection_temperature",
    "dielectric_strength_kvmm": "dielectric_strength",
}


def _anchors() -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for mat in (*MATERIALS, *(m for _, m in NEW_MATERIALS)):
        spec = {}
        for key, value in json.loads(mat[7]).items():
            code = _SPEC_KEYS.get(key)
            number = value.lstrip("<>=")
            if code and number.replace(".", "", 1).isdigit():
                spec[code] = float(number)
        out[mat[0]] = spec
    return out


ANCHORS = _anchors()
MATERIAL_NAMES = {m[0]: (m[3], m[4]) for m in (*MATERIALS, *(m for _, m in NEW_MATERIALS))}

# comparator spellings: (symbols, words before the number, words after it)
CMP_ZH = {
    "ge": (("≥", ">="), ("不低于", "不小于", "至少", "大于等于"), ("以上",)),
    "le": (("≤", "<="), ("不高于", "不超过", "不大于", "小于等于"), ("以下", "以内")),
    "gt": ((">", "＞"), ("大于", "高于", "超过"), ()),
    "lt": (("<", "＜"), ("小于", "低于"), ()),
    "eq": (("=",), ("为", "约", "控制在"), ("左右",)),
}
CMP_EN = {
    "ge": (("≥", ">="), ("at least", "no less than", "min.", "minimum"), ()),
    "le": (("≤", "<="), ("at most", "no more than", "max.", "not exceeding"), ()),
    "gt": ((">",), ("above", "greater than", "more than", "over"), ()),
    "lt": (("<",), ("below", "less than", "under"), ()),
    "eq": (("=",), ("of", "approx.", "around", "about"), ()),
}
DASHES = ("-", "-", "~", "～", "至", "到", "—")
_FULLWIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


def number(x: float) -> str:
    """At most two decimals, no trailing zeros: 4900, 4.9, 0.35."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Requirement:
    prop: Property
    comparator: str
    low: float  # as written, in `unit`
    high: float | None  # the upper bound of a range
    unit: Unit
    family: str  # whose natural range it was drawn from

    def truth(self) -> dict:
        high = None if self.high is None else self.unit.si(self.high)
        return {
            "property": self.prop.code,
            "comparator": self.comparator,
            "value": self.unit.si(self.low),
            "value_high": high,
            "unit": self.prop.si,
        }


def _meets(req: Requirement, si: float) -> bool:
    """Does a value (SI) meet the requirement?"""
    low = req.unit.si(req.low)
    high = low if req.high is None else req.unit.si(req.high)
    eps = 1e-9 * max(abs(low), abs(high)) + 1e-12
    return {
        "ge": si >= low - eps,
        "gt": si > low + eps,
        "le": si <= low + eps,
        "lt": si < low - eps,
        "between": low - eps <= si <= high + eps,
    }.get(req.comparator, abs(si - low) <= eps)


@dataclass(frozen=True)
class Measured:
    prop: Property
    value: float  # as written, in `unit`
    unit: Unit

    def truth(self) -> dict:
        return {"property": self.prop.code, "value": self.unit.si(self.value), "unit": self.prop.si}


class Text:
    """A text as written and its truth (see `truth/texts.csv`)."""

    __slots__ = ("company", "hostile", "measured", "requirements", "text", "topic")

    def __init__(self, text, company, topic, requirements=(), measured=(), hostile=""):
        self.text = text
        self.company = company
        self.topic = topic
        self.requirements = requirements
        self.measured = measured
        self.hostile = hostile

    def truth(self) -> list[str]:
        """company_id, topic, requirements, measured, hostile."""
        reqs = json.dumps([r.truth() for r in self.requirements]) if self.requirements else "[]"
        meas = json.dumps([m.truth() for m in self.measured]) if self.measured else "[]"
        return [self.company, self.topic, reqs, meas, self.hostile]


# ---------------------------------------------------------------------- vocabulary
FAMILY_ZH = (
    ("碳纤维", "碳丝", "CF"),
    ("石墨烯", "石墨烯粉体"),
    ("陶瓷粉体", "氧化铝粉", "特种陶瓷"),
    ("正极材料", "三元材料", "正极粉"),
    ("钕铁硼", "磁钢", "稀土永磁"),
    ("特种工程塑料", "PEEK", "改性料"),
)
FAMILY_EN = (
    ("carbon fibre", "CF"),
    ("graphene",),
    ("ceramic powder",),
    ("cathode material", "CAM"),
    ("NdFeB magnets", "magnets"),
    ("engineering plastics", "PEEK"),
)
APP_ZH = (
    ("风电叶片", "压力容器", "无人机机身", "自行车架"),
    ("导热膜", "导电浆料", "防腐涂料"),
    ("陶瓷基板", "结构件", "导热填料"),
    ("动力电池", "储能电芯"),
    ("驱动电机", "伺服电机", "风力发电机"),
    ("连接器", "密封件", "绝缘膜"),
)
APP_EN = (
    ("wind blades", "pressure vessels", "drone frames"),
    ("thermal films", "conductive paste"),
    ("substrates", "structural parts"),
    ("EV batteries", "energy storage cells"),
    ("traction motors", "servo motors"),
    ("connectors", "seals", "insulation film"),
)
PACK_ZH = ("真空铝箔袋包装", "25kg小包装", "充氮包装", "加厚纸箱+木托盘", "防潮内衬袋")
PACK_EN = (
    "vacuum-sealed foil bags",
    "25 kg small bags",
    "nitrogen-filled packaging",
    "wooden pallets",
)
EMOJI = ("👍", "🙏🙏", "😂😂😂", "👌", "🔥💯", "😊", "🙂🙂")
TAILS_MIX = ("，pls confirm", " ASAP", "，thanks", " FYI", "，please check", "，OK?")
TYPO_SWAPS = {
    "的": "得",
    "已": "己",
    "在": "再",
    "做": "作",
    "账": "帐",
    "需": "须",
    "再": "在",
    "型": "形",
    "到": "道",
    "以": "已",
}

# openers by channel (outbound; "_in": the customer reached out) and by kind of text
OPENERS_ZH = {
    "visit": ("拜访客户，", "上门拜访：", "到客户工厂拜访，", ""),
    "phone": ("电话沟通：", "电话回访，", "打电话给客户，", ""),
    "wechat": ("微信：", "微信联系客户，", "", ""),
    "email": ("邮件：", "邮件跟进：", "发邮件给客户，"),
    "exhibition": ("展会交流，", "展会上遇到客户，"),
    "online_meeting": ("线上会议，", "腾讯会议沟通：", "视频会议纪要："),
    "visit_in": ("客户来访，", "客户到访：", ""),
    "phone_in": ("客户来电，", "客户来电咨询：", "电话沟通：", ""),
    "wechat_in": ("客户微信留言，", "微信：", "", ""),
    "email_in": ("客户邮件询问，", "收到客户邮件，", "邮件："),
    "ticket": ("客户反映：", "客户来电反馈，", "", "用户反馈：", "【客户】"),
    "resolution": ("", "", "处理结果：", "结论："),
    "feedback": ("", "", "测试结论：", "送样测试反馈："),
    "project": ("项目目标：", "", "项目说明："),
}
OPENERS_EN = {
    "visit": ("Visit notes: ", ""),
    "phone": ("Call with customer: ", ""),
    "wechat": ("WeChat: ", ""),
    "email": ("Email follow-up: ", ""),
    "exhibition": ("Met at the fair: ",),
    "online_meeting": ("Online meeting: ", ""),
    "visit_in": ("Customer visit: ", ""),
    "phone_in": ("Customer called: ", ""),
    "wechat_in": ("WeChat from customer: ", ""),
    "email_in": ("Email from customer: ", ""),
    "ticket": ("Customer reports: ", "Customer called: ", ""),
    "resolution": ("",),
    "feedback": ("Test result: ", ""),
    "project": ("Project goal: ", ""),
}

# Bodies by (kind, topic, variant); kind "*" is the fallback of notes and tickets. Variant
# "R": states {R}, the requirements; "M": a measured value {M} and the requirement without
# its property's name {Rn} ({N}: the name, {Rtail}: a second requirement or nothing); "":
# no requirement. Each value: (Chinese bodies, English bodies).
BODIES: dict[tuple[str, str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("*", SPEC, "R"): (
        (
            "客户询价{fam}，要求{R}，月用量约{qty}。",
            "咨询{fam}规格：{R}，需要我们提供COA和TDS。",
            "新项目用于{app}，技术要求：{R}，请技术部评估能否满足。",
            "确认规格，{R}，其余按标准执行。",
            "客户关注{R}，希望先寄样测试。",
            "{app}项目选材，{fam}需满足{R}，下周给回复。",
            "问我们的{fam}能不能做到{R}，说竞品已经能做到了",
        ),
        (
            "Customer inquiry for {fam_en}: {R}. Please confirm and send TDS.",
            "Spec confirmation for the {app_en} project: {R}.",
            "They need {fam_en} with {R}, monthly volume about {qty}.",
        ),
    ),
    ("*", QUALITY, "R"): (
        (
            "客户投诉{fam}质量问题，{R}未满足，要求分析原因。",
            "批次一致性差，不同批次波动大，客户要求{R}。",
            "{fam}杂质含量偏高，影响{app}，客户要求{R}。",
            "关键参数未达标，客户重申{R}，要求出8D报告。",
        ),
        (
            "Quality complaint: {R} not met, customer asks for an 8D report.",
            "Batch inconsistency, customer insists on {R}.",
        ),
    ),
    ("*", QUALITY, "M"): (
        (
            "客户反馈{batch}{fam}不达标，{M}，{Rn}{Rtail}，要求分析原因。",
            "来料检验不合格：{M}，{Rn}{Rtail}。客户要求退换货。",
            "{app}上试用出了问题，{M}，{N}{dev}，{Rn}{Rtail}。",
        ),
        (
            "Batch {batch} failed incoming inspection: {M}, {Rn}{Rtail}.",
            "Customer reports {N} too {dev_en}: {M}, {Rn}{Rtail}.",
        ),
    ),
    ("*", DELIVERY, ""): (
        (
            "订单{order}延迟{n}天还没到货，客户产线等料，催促尽快发货。",
            "交期比合同约定晚了{n}天，客户很不满意，要求说明原因。",
            "客户确认交期，上一批晚到{n}天，这次希望{n2}周内到货。",
            "物流延误，货在途{n}天，客户要求加急处理。",
            "询问{fam}交期，客户希望{n2}周内交货，否则影响{app}项目进度。",
        ),
        (
            "Delivery delayed by {n} days, the customer's line is waiting.",
            "Customer asks for the ETA of order {order}, needs the goods within {n2} weeks.",
        ),
    ),
    ("*", PACKAGING, ""): (
        (
            "到货外包装破损，{n}箱中有{k}箱受潮，要求补发。",
            "铝箔袋密封不良，{fam}受潮结块，客户拒收了一部分。",
            "运输途中托盘倒塌，部分包装破损漏料。",
            "客户希望改为{pack}，减少运输破损。",
            "包装桶变形，内衬袋破了，现场有撒料。",
        ),
        (
            "Packaging damaged on arrival, {k} of {n} drums leaking.",
            "Customer requests {pack_en} to avoid moisture.",
        ),
    ),
    ("*", PRICE, ""): (
        (
            "客户反馈我们价格比竞品高{p}%，希望下调{q}%。",
            "年度框架价格谈判，对方要求降价{q}%，否则考虑其他供应商。",
            "客户压价，竞品报价{price}元/kg，我方报价{price2}元/kg。",
            "报价跟进：客户认为单价偏高，要求给{q}个点的折扣。",
            "采购要求按量给阶梯价，年用量{qty}以上降价{q}%。",
        ),
        (
            "Customer says our price is {p}% above the competitor's, asks for {q}% off.",
            "Annual price negotiation, their target is -{q}%.",
        ),
    ),
    ("*", CODEV, ""): (
        (
            "双方探讨联合开发{app}用{fam}，客户负责应用验证，我方负责材料改性。",
            "客户有意共同研发新一代{fam}，计划签订技术合作协议。",
            "客户研究院希望建立联合实验室，共同开发{app}材料。",
            "讨论co-development方案，客户愿意投入测试资源。",
        ),
        (
            "Discussed co-development of {fam_en} for {app_en}; they run the application tests.",
            "Joint development proposal, NDA to be signed.",
        ),
    ),
    ("*", CODEV, "R"): (
        (
            "技术交流：讨论联合开发方案，目标{R}。",
            "联合开发项目进展：第{n2}轮样品已送测，目标{R}。",
            "客户希望共同研发{app}用{fam}，指标要达到{R}。",
        ),
        ("Co-development target: {R}.",),
    ),
    ("*", BILLING, ""): (
        (
            "发票抬头有误，客户要求重开增值税专用发票。",
            "对账单金额与客户记录不一致，差额{amt}元，需核对。",
            "客户询问付款进度，财务说{month}月的货款已安排。",
            "付款提醒：有发票已逾期{n}天，客户答应月底前付款。",
            "客户要求把账期延长到{days}天。",
            "发票丢失，需要补开。",
        ),
        (
            "Invoice title incorrect, please reissue.",
            "Payment overdue {n} days, customer promises to pay by month end.",
            "Customer asks about a statement difference of CNY {amt}.",
        ),
    ),
    ("*", ROUTINE, ""): (
        (
            "例行拜访，对方负责人出差，留了资料。",
            "节日问候，顺便了解下季度采购计划。",
            "客户近期产线满负荷，需求稳定。",
            "沟通顺利，无异常。",
            "已联系，客户说有需要再联系我们。",
        ),
        (
            "Quarterly visit, no issues.",
            "Courtesy call, demand stable.",
            "Routine follow-up, nothing new.",
        ),
    ),
    ("resolution", QUALITY, ""): (
        (
            "已退换货。",
            "已补发合格批次，原批次退回。",
            "已提供8D报告，调整了工艺参数。",
            "已重新检测。",
            "已安排技术人员现场处理。",
        ),
        ("Replaced.", "Re-tested, OK.", "8D report sent."),
    ),
    ("resolution", QUALITY, "R"): (
        ("已重新检测，{R}，合格。", "复测结果满足{R}，已告知客户。"),
        ("Re-tested: {R}, passed.",),
    ),
    ("resolution", SPEC, ""): (
        ("已提供TDS和COA。", "已回复客户技术参数。", "已安排技术工程师对接。", "已寄样。"),
        ("Sent TDS/COA.",),
    ),
    ("resolution", SPEC, "R"): (
        ("已确认可满足{R}。", "已回复：我司产品可达到{R}。"),
        ("Confirmed we can meet {R}.",),
    ),
    ("resolution", DELIVERY, ""): (
        (
            "已安排加急发货，预计{n2}天到货。",
            "已发货，物流单号已告知客户。",
            "已协调生产，交期确认。",
        ),
        ("Shipped by express.",),
    ),
    ("resolution", PACKAGING, ""): (
        ("已补发。", "已更换包装供应商。", "已改用加厚包装并补发破损部分。"),
        ("Reshipped the damaged drums.",),
    ),
    ("resolution", BILLING, ""): (
        ("已重开发票。", "已核对账单，差额已调整。", "已开具红字发票并重开。", "已告知付款进度。"),
        ("Invoice reissued.",),
    ),
    ("pass", ROUTINE, ""): (
        (
            "各项指标满足要求",
            "测试通过，准备小批量试用",
            "性能稳定，符合规格",
            "样品测试合格，后续会下试产订单。",
        ),
        ("All parameters OK, ready for a pilot order.",),
    ),
    ("pass", SPEC, "M"): (
        (
            "测试通过，{M}，满足规格（{Rn}）{Rtail}。",
            "{M}（{Rn}{Rtail}），合格，准备小批量试用。",
            "各项指标合格，其中{M}，{Rn}{Rtail}。",
        ),
        ("Passed: {M}, {Rn}{Rtail}.",),
    ),
    ("pass", SPEC, "R"): (("测试合格，满足{R}。", "符合规格：{R}。"), ("Meets the spec: {R}.",)),
    ("fail", QUALITY, "M"): (
        (
            "关键参数未达标：{M}，{Rn}{Rtail}。",
            "不合格，{M}，{N}{dev}，{Rn}{Rtail}。",
            "批次一致性差，{M}，{Rn}{Rtail}。",
        ),
        ("Failed: {M}, {Rn}{Rtail}.",),
    ),
    ("fail", QUALITY, "R"): (
        ("关键参数未达标，要求{R}。", "杂质含量偏高，另外需满足{R}。"),
        ("Key parameter not met: {R}.",),
    ),
    ("conditional", QUALITY, "M"): (
        ("基本满足，{N}临界，{M}，{Rn}{Rtail}，需复测。", "部分指标临界：{M}，{Rn}{Rtail}。"),
        ("Borderline: {M}, {Rn}{Rtail}; please re-test.",),
    ),
    ("conditional", QUALITY, "R"): (
        ("部分指标临界，需复测，要求{R}。", "基本满足，需调整：{R}。"),
        ("Usable, but needs {R}.",),
    ),
    ("conditional", PACKAGING, ""): (
        (
            "可用但需改进包装",
            "性能可以，但包装破损较多，建议改用{pack}。",
            "到样时包装受潮，建议改进包装后再送样。",
        ),
        ("Usable, but packaging needs improvement.",),
    ),
    ("project", CODEV, "R"): (
        (
            "联合开发{app}用高性能{fam}，目标{R}，周期{n}个月。",
            "与客户共同研发{fam}改性工艺，技术指标：{R}。",
            "co-development：{app}专用{fam}，目标{R}，双方共享知识产权。",
        ),
        ("Joint development of {fam_en} for {app_en}, target {R}.",),
    ),
    ("project", CODEV, ""): (
        (
            "联合开发{app}用{fam}，客户负责应用验证，我方负责材料开发。",
            "技术共创项目：面向{app}的新一代{fam}。",
        ),
        ("Co-development of next-generation {fam_en}.",),
    ),
    ("supply", SPEC, "R"): (
        (
            "年度供货协议：{fam}，技术要求{R}，年用量约{qty}。",
            "长期供货，{app}用{fam}，验收标准：{R}。",
            "框架供货协议，质量条款：{R}，按批次提供COA。",
        ),
        ("Supply agreement, {fam_en}: {R}.", "Annual supply of {fam_en} for {app_en}; spec {R}."),
    ),
    ("trial", SPEC, "R"): (
        (
            "小批量试用{mat}，验证{R}，试用周期{n2}个月。",
            "{app}用{fam}试产，关键指标：{R}。",
            "试产验证：{fam}在{app}上的表现，要求{R}。",
        ),
        ("Trial of {mat_en}: verify {R}.", "Pilot run for {app_en}, key spec: {R}."),
    ),
}

# routine notes of the outbound subjects (the generic ones otherwise)
ROUTINE_BY_SUBJECT = {
    "季度回访": (
        ("季度回访，客户使用正常，暂无新需求。", "季度回访，对方反馈产品稳定，下季度用量持平。"),
        (
            "Quarterly visit, no issues.",
            "Quarterly review: stable usage, same volume next quarter.",
        ),
    ),
    "报价跟进": (
        ("报价已发，客户在内部走流程，下周再跟进。", "跟进报价，客户说还在比价。"),
        ("Quote sent, waiting for their internal approval.",),
    ),
    "新品推介": (
        ("新品推介，客户表示有兴趣，后续跟进。", "介绍了新牌号，客户要了资料。"),
        ("Introduced new grades, customer interested, follow up next month.",),
    ),
    "年度框架协议沟通": (
        ("年度框架协议沟通，下次会议再议。", "框架协议条款基本确认，等客户法务审核。"),
        ("Annual framework agreement: terms agreed, legal review pending.",),
    ),
}

# the variants a (kind, topic) uses and their shares; absent: "" only
_VARIANTS = {
    ("note", SPEC): {"R": 1.0},
    ("ticket", SPEC): {"R": 1.0},
    ("note", QUALITY): {"M": 0.45, "R": 0.55},
    ("ticket", QUALITY): {"M": 0.45, "R": 0.55},
    ("note", CODEV): {"R": 0.3, "": 0.7},
    ("resolution", QUALITY): {"R": 0.35, "": 0.65},
    ("resolution", SPEC): {"R": 0.3, "": 0.7},
    ("pass", SPEC): {"M": 0.85, "R": 0.15},
    ("fail", QUALITY): {"M": 0.7, "R": 0.3},
    ("conditional", QUALITY): {"M": 0.5, "R": 0.5},
    ("project", CODEV): {"R": 0.6, "": 0.4},
    ("supply", SPEC): {"R": 1.0},
    ("trial", SPEC): {"R": 1.0},
}
# interaction notes and texts left empty where people leave them empty
EMPTY_SHARE = {
    "outbound": 0.45,
    "inbound": 0.2,
    "ticket": 0.05,
    "resolution": 0.2,
    "feedback": 0.1,
    "project": 0.15,
}

_CP1252 = tuple(
    chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252")
    for b in range(256)
)
_HTML = (
    "<p>{}</p><br/>&nbsp;",
    '<div style="font-family:微软雅黑;font-size:14px">{}<br></div>',
    "<html><body><p>{}&nbsp;</p><p><br/></p></body></html>",
    '<p><span style="color:#333333">{}</span></p>&nbsp;&nbsp;',
)
_LOG = "".join(
    f"2024-03-05 08:{i // 6:02d}:{i * 7 % 60:02d}.{i * 137 % 1000:03d} "
    f"{'WARN' if i % 7 == 3 else 'INFO'}  [PLC-0{i % 3 + 1}] line={i % 4 + 1} "
    f"T1={180 + i * 0.7:.1f} T2={176 + i * 0.3:.1f} v={12 + i % 5 * 0.25:.2f} "
    f"rpm={1400 + i * 10} status={'E104' if i % 7 == 3 else 'OK'}\n"
    for i in range(40)
)
_TABLE = "| 序号 | 时间 | 炉温 | 线速 | 状态 |\n|---|---|---|---|---|\n" + "".join(
    f"| {i + 1} | {8 + i // 12:02d}:{i * 5 % 60:02d} | {180 + i * 0.7:.1f} | "
    f"{12 + i % 5 * 0.25:.2f} | {'异常' if i % 9 == 4 else '正常'} |\n"
    for i in range(40)
)


def hostile(kind: str, text: str, variant: float) -> str:
    """`text` made hostile: empty, whitespace-only, emoji-only, HTML (escaped, in tags), a
    normal text followed by a pasted log (LONG_CHARS), or mojibake (its UTF-8 bytes read as
    Windows-1252 or GBK). `variant` in [0, 1) picks among the forms of a kind."""
    if kind == "empty":
        return ""
    if kind == "whitespace":
        return (" ", "   ", "\t", " \t ", "\u3000\u3000", "\u00a0", " \n ")[int(variant * 7)]
    if kind == "emoji":
        return EMOJI[int(variant * len(EMOJI))]
    if kind == "html":
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return _HTML[int(variant * len(_HTML))].format(escaped)
    if kind == "long":
        paste = _LOG if variant < 0.5 else _TABLE
        head = f"{text}\n---- 附：{'设备日志' if variant < 0.5 else '生产记录'} ----\n"
        return (head + paste * (LONG_CHARS // len(paste) + 1))[:LONG_CHARS]
    if kind == "mojibake":
        data = text.encode("utf-8")
        if variant < 0.6:
            return "".join([_CP1252[b] for b in data])
        return data.decode("gbk", errors="replace")
    raise ValueError(f"unknown hostile kind {kind!r}")


def _uniforms(rng: np.random.Generator):
    """The generator's uniforms one at a time, drawn in blocks (a scalar draw costs ~1 µs)."""
    while True:
        yield from rng.random(4096).tolist()


class _Fields(dict):
    """Template fields: requirement phrases given, the rest drawn when a template uses them."""

    def __init__(self, writer: TextWriter, fam: int, lang: str, mat: str | None):
        super().__init__()
        self.writer, self.fam, self.lang, self.mat = writer, fam, lang, mat

    def __missing__(self, key: str) -> str:
        value = self[key] = self.writer._fill(key, self)
        return value


class TextWriter:
    """Writes the free text of one world from its own generator `rng`: per company concerns
    drawn once from the traits, then one text per call. `encodings`: source -> encoding
    (emoji only where it is UTF-8); `abroad`: companies that mostly write English."""

    def __init__(
        self,
        rng: np.random.Generator,
        world: World,
        encodings: dict[str, str],
        abroad=(),
    ):
        self.rng = rng
        self.w = world
        self.utf8 = {s for s, e in encodings.items() if e.lower().replace("-", "") == "utf8"}
        self.abroad = set(abroad)
        n = world.n
        tech, codev = np.asarray(world.tech), np.asarray(world.codev)
        p = np.column_stack(
            [
                np.select([tech > 0.6, tech > 0.45], [0.75, 0.25], 0.06),  # performance
                np.select([tech < 0.35, tech < 0.5], [0.7, 0.25], 0.06),  # price
                np.where(np.asarray(world.ctype) == 1, 0.28, 0.12),  # delivery: manufacturers
                np.full(n, 0.12),  # packaging
                np.select([codev > 0.6, codev > 0.4], [0.75, 0.2], 0.04),  # codev
            ]
        )
        self.flags: list[tuple[bool, ...]] = [tuple(r) for r in (rng.random((n, 5)) < p).tolist()]
        self._u = _uniforms(rng).__next__  # one uniform in [0, 1) per call

    def _pick(self, seq):
        return seq[int(self._u() * len(seq))]

    def _weighted(self, weights) -> str:
        """A key of `weights` (a dict or pairs) drawn by weight."""
        pairs = weights.items() if isinstance(weights, dict) else weights
        x = self._u() * sum(wt for _, wt in pairs)
        key = ""
        for key, wt in pairs:
            if wt > 0:
                x -= wt
                if x < 0:
                    return key
        return key

    def concerns(self, c: int) -> tuple[str, ...]:
        return tuple(code for code, on in zip(CONCERNS, self.flags[c], strict=True) if on)

    def write_concerns(self, path: Path) -> None:
        """`truth/concerns.csv`: the concerns of every company, ';'-joined."""
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["company_id", "concerns"])
            for c in range(self.w.n):
                w.writerow([self.w.ids[c], ";".join(self.concerns(c))])

    def _family(self, c: int) -> int:
        return int(self.w.families[c][0] if self._u() < 0.7 else self.w.families[c][1])

    def _lang(self, c: int) -> str:
        en, mix = (0.6, 0.15) if c in self.abroad else (ENGLISH_SHARE, MIXED_SHARE)
        u = self._u()
        return "en" if u < en else "mix" if u < en + mix else "zh"

    # ------------------------------------------------------------------ the texts
    def interaction(self, c: int, subject: str, outbound: bool, channel: str) -> Text | None:
        """The notes of a CRM interaction, or None (left empty)."""
        if self._u() < EMPTY_SHARE["outbound" if outbound else "inbound"]:
            return None
        perf, price, deliv, pack, codev = self.flags[c]
        if subject == "价格谈判":
            topic = PRICE
        elif subject == "付款提醒":
            topic = BILLING
        elif subject == "投诉反馈":
            topic = self._weighted(
                {
                    QUALITY: 0.5 + 0.3 * perf,
                    DELIVERY: 0.3 + 0.5 * deliv,
                    PACKAGING: 0.2 + 0.5 * pack,
                }
            )
        elif subject in ("交期确认", "交期咨询"):
            topic = DELIVERY
        elif subject in ("询价", "技术咨询", "规格确认", "新项目需求沟通"):
            new = subject in ("新项目需求沟通", "技术咨询")
            topic = self._weighted(
                {
                    SPEC: 1.0,
                    CODEV: (1.2 if new else 0.5) * codev,
                    PRICE: 1.0 * price * (subject == "询价"),
                    DELIVERY: 0.5 * deliv,
                    PACKAGING: 0.4 * pack,
                }
            )
        else:  # routine outbound subjects: the company's concerns come up (a concerned
            # customer raises its concern in about half of these talks)
            quote = subject in ("报价跟进", "年度框架协议沟通")
            topic = self._weighted(
                {
                    ROUTINE: 1.0,
                    PRICE: 0.2 * quote + (1.0 + 0.5 * quote) * price,
                    PACKAGING: 0.9 * pack,
                    DELIVERY: 1.0 * deliv,
                    SPEC: 0.8 * perf,
                    CODEV: 0.6 * codev,
                }
            )
        opener = channel if outbound else f"{channel}_in"
        bodies = None
        if topic == ROUTINE and subject in ROUTINE_BY_SUBJECT and self._u() < 0.75:
            bodies = ROUTINE_BY_SUBJECT[subject]
        return self._text(c, "crm", "note", opener, topic, self._family(c), bodies=bodies)

    def ticket(self, c: int, category: str) -> tuple[Text | None, Text | None]:
        """A ticket's description and its resolution note (the closed version's), or None."""
        perf, _, _, pack, _ = self.flags[c]
        if category == "quality":
            topic = QUALITY
        elif category == "delivery":
            topic = DELIVERY
        elif category == "technical":
            topic = SPEC if self._u() < 0.6 + 0.25 * perf else QUALITY
        elif category in ("return", "replacement"):
            topic = PACKAGING if self._u() < 0.35 + 0.35 * pack else QUALITY
        elif category == "billing":
            topic = BILLING
        else:
            topic = SPEC
        fam = self._family(c)
        desc = None
        if self._u() >= EMPTY_SHARE["ticket"]:
            desc = self._text(c, "service", "ticket", "ticket", topic, fam)
        note = None
        if self._u() >= EMPTY_SHARE["resolution"]:
            reqs = () if desc is None else desc.requirements[:1]
            note = self._text(c, "service", "resolution", "resolution", topic, fam, given=reqs)
        return desc, note

    def feedback(self, c: int, fam: int, material: str, result: str) -> Text | None:
        """The comments of a sample's test feedback (pass, fail or conditional), or None."""
        if self._u() < EMPTY_SHARE["feedback"]:
            return None
        if result == "pass":
            topic = SPEC if self._u() < 0.5 + 0.3 * self.flags[c][0] else ROUTINE
        elif result == "fail":
            topic = QUALITY
        else:
            topic = PACKAGING if self._u() < 0.3 + 0.3 * self.flags[c][3] else QUALITY
        return self._text(c, "lab", result, "feedback", topic, fam, material=material)

    def project(self, c: int, kind: str) -> Text | None:
        """The description of a new project (co_development, supply_agreement, trial)."""
        if self._u() < EMPTY_SHARE["project"]:
            return None
        topic, body = {"co_development": (CODEV, "project"), "trial": (SPEC, "trial")}.get(
            kind, (SPEC, "supply")
        )
        return self._text(c, "projects", body, "project", topic, int(self.w.families[c][0]))

    # ------------------------------------------------------------------ composing
    def _text(
        self, c, src, kind, opener, topic, fam, material=None, given=None, bodies=None
    ) -> Text:
        lang = self._lang(c)
        shares = _VARIANTS.get((kind, topic), {})
        variant = self._weighted(shares) if shares else ""
        if given is not None and variant == "R" and not given:
            variant = ""  # a resolution restates the ticket's requirement or none
        if bodies is None or variant:
            bodies = BODIES.get((kind, topic, variant)) or BODIES[("*", topic, variant)]
        mat = None if material is None else MATERIAL_NAMES[material][lang == "en"]
        fields = _Fields(self, fam, lang, mat)
        reqs: tuple[Requirement, ...] = ()
        measured: tuple[Measured, ...] = ()
        wide = self._u() < FULLWIDTH_SHARE
        if variant:
            if given:
                reqs = tuple(given)
            else:
                n = 1 + (self._u() < (0.25 if variant == "M" else 0.35))
                reqs = self._requirements(fam, n, ANCHORS.get(material or "", {}), c)
            if variant == "R":
                sep = (
                    self._pick(("，", "；", "、", " ", "；"))
                    if lang != "en"
                    else self._pick((", ", "; ", " and "))
                )
                fields["R"] = sep.join(self._phrase(r, lang, wide) for r in reqs)
            else:
                r0 = reqs[0]
                m = self._measure(r0, passed=kind == "pass", borderline=kind == "conditional")
                measured = (m,)
                fields["M"] = self._measured_phrase(m, lang, wide)
                fields["Rn"] = self._phrase(r0, lang, wide, named=False)
                fields["N"] = self._name(r0.prop, lang)
                low = m.unit.si(m.value) < r0.unit.si(r0.low)
                fields["dev"] = "偏低" if low else "偏高"
                fields["dev_en"] = "low" if low else "high"
                tail = ""
                if len(reqs) > 1:
                    lead = ", also " if lang == "en" else self._pick(("，另外", "；同时", "，"))
                    tail = lead + self._phrase(reqs[1], lang, wide)
                fields["Rtail"] = tail
        zh, en = bodies
        openers = OPENERS_EN if lang == "en" else OPENERS_ZH
        start = openers.get(opener) or openers[opener.removesuffix("_in")]
        template = self._pick(start) + self._pick(en if lang == "en" else zh)
        if lang != "en" and self._u() < TYPO_SHARE:
            template = self._typo(template)
        text = template.format_map(fields)
        if lang == "mix" and self._u() < 0.4:
            text = text.rstrip("。") + self._pick(TAILS_MIX)
        if opener.startswith("wechat") and src in self.utf8 and self._u() < 0.08:
            text += self._pick(EMOJI)
        kind_h = ""
        if self._u() < HOSTILE_SHARE:
            kinds = (
                HOSTILE_KINDS
                if src in self.utf8
                else tuple(k for k in HOSTILE_KINDS if k != "emoji")
            )
            kind_h = self._pick(kinds)
            text = hostile(kind_h, text, self._u())
            if kind_h in _CONTENTLESS:
                topic, reqs, measured = "", (), ()
        return Text(text, self.w.ids[c], topic, reqs, measured, kind_h)

    def _fill(self, key: str, fields: _Fields) -> str:
        u, fam, lang, mat = self._u, fields.fam, fields.lang, fields.mat
        if key == "fam":
            return self._pick(FAMILY_EN[fam] if lang == "en" else FAMILY_ZH[fam])
        if key == "fam_en":
            return self._pick(FAMILY_EN[fam])
        if key == "app":
            return self._pick(APP_ZH[fam])
        if key == "app_en":
            return self._pick(APP_EN[fam])
        if key in ("mat", "mat_en"):
            return mat or self._pick(FAMILY_EN[fam] if key == "mat_en" else FAMILY_ZH[fam])
        if key == "pack":
            return self._pick(PACK_ZH)
        if key == "pack_en":
            return self._pick(PACK_EN)
        if key == "qty":
            tons = 1 + int(u() * 20)
            if lang == "en":
                return f"{tons} t"
            return f"{tons}吨" if u() < 0.6 else f"{tons * 50}kg"
        if key == "batch":
            day = f"{2023 + int(u() * 2)}{1 + int(u() * 12):02d}{1 + int(u() * 28):02d}"
            return f"{'' if lang == 'en' else '批号'}{day}-{1 + int(u() * 9):02d}"
        if key == "order":
            return f"PO{100000 + int(u() * 900000)}" if lang == "en" or u() < 0.6 else ""
        if key == "n":
            return str(2 + int(u() * 12))
        if key == "n2":
            return str(1 + int(u() * 4))
        if key == "k":
            return str(1 + int(u() * 3))
        if key == "p":
            return str(3 + int(u() * 13))
        if key == "q":
            return str(2 + int(u() * 9))
        if key == "price":  # the competitor's, below ours
            return str(50 + 10 * int(u() * 60))
        if key == "price2":
            return str(round(int(fields["price"]) * (1.05 + 0.25 * u())))
        if key == "amt":
            return f"{100 + int(u() * 50000)}"
        if key == "month":
            return str(1 + int(u() * 12))
        if key == "days":
            return self._pick(("60", "90", "120"))
        raise KeyError(key)

    def _typo(self, s: str) -> str:
        """One typo in a template's own words (fields are filled afterwards)."""
        u = self._u()
        if u < 0.5:
            swaps = [i for i, ch in enumerate(s) if ch in TYPO_SWAPS]
            if swaps:
                i = self._pick(swaps)
                return s[:i] + TYPO_SWAPS[s[i]] + s[i + 1 :]
        cjk = [i for i, ch in enumerate(s) if "\u4e00" <= ch <= "\u9fff"]
        if not cjk:
            return s
        i = self._pick(cjk)
        return s[:i] + s[i + 1 :] if u < 0.8 else s[:i] + s[i] + s[i:]

    # ------------------------------------------------------------------ requirements
    def _requirements(self, fam: int, n: int, anchor: dict, c: int) -> tuple[Requirement, ...]:
        props = list(FAMILY_PROPERTIES[fam])
        chosen = []
        for _ in range(min(n, len(props))):
            prop = props.pop(int(self._u() * len(props)))
            chosen.append(self._requirement(prop, FAMILIES[fam], anchor.get(prop.code), c))
        return tuple(chosen)

    def _round(self, x: float, lo: float, hi: float, step: float) -> float:
        return round(min(hi, max(lo, round(x / step) * step)), 6)

    def _requirement(self, prop: Property, fam: str, anchor: float | None, c: int) -> Requirement:
        lo, hi, step = prop.ranges[fam]
        cmp = self._weighted(prop.comparators)
        tech = float(self.w.tech[c])
        if cmp == "between":
            width = max(step, (hi - lo) * (0.1 + 0.25 * self._u()))
            a = self._round(lo + (hi - lo - width) * self._u(), lo, hi, step)
            b = self._round(a + width, lo, hi, step)
            if b <= a:
                a = self._round(b - step, lo, hi, step)
            values = (a, b)
        else:
            if anchor is not None and lo <= anchor <= hi and self._u() < 0.6:
                x = anchor
            else:
                u = self._u() ** (1.6 - tech)  # demanding customers ask for more
                x = lo + (hi - lo) * (1 - u if cmp in ("le", "lt") else u)
            if prop.grid:
                x = min(prop.grid, key=lambda g: abs(g - x))
            values = (self._round(x, lo, hi, step), None)
        unit, written = self._in_unit(prop, values)
        return Requirement(prop, cmp, written[0], written[1], unit, fam)

    def _in_unit(self, prop: Property, values) -> tuple[Unit, tuple]:
        """The values written in a unit drawn for them, if people write such numbers in it
        and two decimals keep them within 0.5 %; else in the property's first unit."""
        base = prop.units[0]
        if len(prop.units) > 1 and self._u() < 0.3:
            unit = self._pick(prop.units[1:])
            out = []
            for v in values:
                if v is None:
                    out.append(None)
                    continue
                si = base.si(v)
                w = round(unit.of(si), 2)
                if not unit.span[0] <= w <= unit.span[1] or abs(unit.si(w) - si) > 0.005 * abs(si):
                    break
                out.append(w)
            else:
                return unit, tuple(out)
        return base, values

    def _measure(self, req: Requirement, passed: bool, borderline: bool) -> Measured:
        """A measured value that meets `req` (passed) or fails it (slightly if borderline),
        in the requirement's unit if two decimals keep it on the right side."""
        prop, unit, cmp = req.prop, req.unit, req.comparator
        base = prop.units[0]
        lo, hi, step = prop.ranges[req.family]
        width = hi - lo
        x = base.of(unit.si(req.low))
        x_hi = x if req.high is None else base.of(unit.si(req.high))
        dev = max(
            step, width * ((0.01 + 0.03 * self._u()) if borderline else (0.03 + 0.12 * self._u()))
        )
        if passed:
            up = width * 0.08 * self._u()
            m = {
                "ge": x + up,
                "gt": x + max(up, step),
                "le": x - up,
                "lt": x - max(up, step),
                "between": x + (x_hi - x) * self._u(),
            }.get(cmp, x)
            if prop.code == "purity":
                m = min(m, 99.99)
        elif cmp in ("ge", "gt") or (cmp == "between" and x - dev > 0 and self._u() < 0.5):
            m = x - dev
        elif cmp in ("le", "lt", "between") or x - dev <= 0 or self._u() < 0.5:
            m = x_hi + dev
        else:
            m = x - dev
        m = round(round(m / step) * step, 6)
        written = round(unit.of(base.si(m)), 2)
        if m > 0 and written > 0 and _meets(req, unit.si(written)) == passed:
            return Measured(prop, written, unit)
        if m > 0 and _meets(req, base.si(m)) == passed:
            return Measured(prop, m, base)
        # off the step grid (a catalogue value): meet it exactly, or miss it by a step
        if passed:
            m = {"gt": x + step, "lt": x - step}.get(cmp, x)
        else:
            m = x - step if cmp in ("ge", "gt") and x > step else x_hi + step
        return Measured(prop, round(m, 6), base)

    # ------------------------------------------------------------------ phrases
    def _name(self, prop: Property, lang: str) -> str:
        if lang == "en" or (lang == "mix" and self._u() < 0.5):
            return self._pick(prop.en)
        return self._pick(prop.zh)

    def _num(self, x: float, wide: bool) -> str:
        s = number(x)
        if x >= 1000 and x == int(x) and self._u() < 0.05:
            s = f"{int(x):,}"
        return s.translate(_FULLWIDTH) if wide else s

    def _unit(self, unit: Unit, lang: str) -> str:
        spell = unit.spell if lang == "en" or not unit.spell_zh else unit.spell + unit.spell_zh
        s = self._pick(spell)
        if not s:
            return ""
        return (" " if self._u() < (0.6 if lang == "en" else 0.3) else "") + s

    def _phrase(self, r: Requirement, lang: str, wide: bool, named: bool = True) -> str:
        """A requirement as people write it: 拉伸强度≥4900MPa, 纯度不低于99.5%, D50 3~5 微米,
        'tensile strength >= 4.9 GPa'; without the name after a measured value: 要求≥4900MPa."""
        unit = self._unit(r.unit, lang)
        num = self._num(r.low, wide)
        english = lang == "en" or (lang == "mix" and self._u() < 0.3)
        if r.comparator == "between":
            high = self._num(r.high, wide)
            if english:
                core = self._pick(
                    (
                        f"{num}-{high}{unit}",
                        f"between {num} and {high}{unit}",
                        f"{num} to {high}{unit}",
                    )
                )
            else:
                d = self._pick(DASHES)
                core = self._pick(
                    (
                        f"{num}{d}{high}{unit}",
                        f"控制在{num}{d}{high}{unit}",
                        f"在{num}{unit}至{high}{unit}之间",
                        f"介于{num}~{high}{unit}之间",
                    )
                )
            seps, leads = ("", " ", "："), ("要求", "规格")
        elif english:
            syms, words, _ = CMP_EN[r.comparator]
            core = f"{self._pick(syms if self._u() < 0.5 else words)} {num}{unit}"
            seps, leads = (" ", " ", ": "), ("spec ", "required ")
        else:
            syms, words, after = CMP_ZH[r.comparator]
            u = self._u()
            if u < 0.5 or (lang == "mix" and u < 0.8):
                core = f"{self._pick(syms)}{self._pick(('', '', ' '))}{num}{unit}"
                seps, leads = ("", "", "：", " ", "要求"), ("要求", "标准", "规格要求")
            elif u < 0.85 or not after:
                core = f"{self._pick(words)}{num}{unit}"
                seps, leads = ("", "要求", "需", "应"), ("要求", "规格")
            else:
                fill = "达到" if r.comparator == "ge" and self._u() < 0.4 else ""
                core = f"{fill}{num}{unit}{self._pick(after)}"
                seps, leads = ("", "要求"), ("要求",)
        if not named:
            return self._pick(leads) + core
        name = self._name(r.prop, lang)
        sep = self._pick(seps)
        if not sep and name[-1:].isascii() and name[-1:].isalnum() and core[:1].isalnum():
            sep = " "  # "D50 3-5 um", not "D503-5 um"
        return name + sep + core

    def _measured_phrase(self, m: Measured, lang: str, wide: bool) -> str:
        name = self._name(m.prop, lang)
        value = self._num(m.value, wide) + self._unit(m.unit, lang)
        glue = " " if name[-1:].isascii() and name[-1:].isalnum() else ""  # "D50 1.6μm"
        if lang == "en":
            forms = (
                f"measured {name} {value}",
                f"{name} measured at {value}",
                f"actual {name}: {value}",
            )
        else:
            forms = (
                f"实测{name}{glue}{value}",
                f"{name}实测值{value}",
                f"检测结果{name}为{value}",
                f"实测{name} {value}",
                f"我们测的{name}是{value}",
            )
        return self._pick(forms)
