"""Requirement extraction and unit normalisation, rule by rule: given a text, expect rows
(property, comparator, value in SI, high end, is_measured). docs/text.md lists the rules."""

import math

import pytest

from texts.clean import clean
from texts.lexicon import load_lexicon
from texts.requirements import Extractor

GIVEN_EXPECT = [
    # comparator before the value, units written many ways
    ("拉伸强度不低于4900MPa", [("tensile_strength", "ge", 4.9e9, None, False)]),
    ("拉伸强度≥4.9GPa", [("tensile_strength", "ge", 4.9e9, None, False)]),
    ("抗拉强度 >= 4900 兆帕", [("tensile_strength", "ge", 4.9e9, None, False)]),
    ("拉伸强度大于等于4.9吉帕", [("tensile_strength", "ge", 4.9e9, None, False)]),
    # full-width digits and signs (NFKC)
    ("拉伸强度＞＝４９００ＭＰａ", [("tensile_strength", "ge", 4.9e9, None, False)]),
    # comparator after the value
    ("模量230GPa以上", [("tensile_modulus", "ge", 2.3e11, None, False)]),
    ("含水量300ppm以下", [("moisture", "le", 3e-4, None, False)]),
    # ranges
    ("粒径D50控制在3-5μm", [("particle_size_d50", "between", 3e-6, 5e-6, False)]),
    ("粒径 3~5 微米", [("particle_size_d50", "between", 3e-6, 5e-6, False)]),
    ("D50 3至5um", [("particle_size_d50", "between", 3e-6, 5e-6, False)]),
    ("粒径D50:12-15微米", [("particle_size_d50", "between", 12e-6, 15e-6, False)]),  # not 50:12
    ("弹性模量达到270吉帕以上", [("tensile_modulus", "ge", 2.7e11, None, False)]),
    ("粒度 500nm", [("particle_size_d50", "eq", 5e-7, None, False)]),
    # percentages, temperatures (offset to kelvin), magnetic units
    ("纯度≥99.9%", [("purity", "ge", 0.999, None, False)]),
    ("最高使用温度150℃", [("max_operating_temperature", "eq", 423.15, None, False)]),
    ("热变形温度不低于260°C", [("heat_deflection_temperature", "ge", 533.15, None, False)]),
    ("剩磁Br≥14.2kGs", [("remanence", "ge", 1.42, None, False)]),
    ("内禀矫顽力不低于20kOe", [("coercivity", "ge", 20 * 79577.4715, None, False)]),
    ("矫顽力≥876kA/m", [("coercivity", "ge", 876e3, None, False)]),
    ("比表面积不小于500 m²/g", [("specific_surface_area", "ge", 5e5, None, False)]),
    ("层数≤5层", [("layer_count", "le", 5.0, None, False)]),
    ("方阻 30 Ω/sq 以下", [("sheet_resistance", "le", 30.0, None, False)]),
    ("导热系数≥120W/(m·K)", [("thermal_conductivity", "ge", 120.0, None, False)]),
    ("体积密度不低于3.10g/cm3", [("density", "ge", 3100.0, None, False)]),
    ("压实密度≥2.4 g/cc", [("compaction_density", "ge", 2400.0, None, False)]),
    ("比容量不低于200mAh/g", [("specific_capacity", "ge", 7.2e5, None, False)]),
    ("介电强度≥200kV/mm", [("dielectric_strength", "ge", 2e8, None, False)]),
    # a value without a unit takes the property's default unit (with a comparator)
    ("比容量不低于200", [("specific_capacity", "ge", 7.2e5, None, False)]),
    # English and mixed
    (
        "tensile strength >= 4.9 GPa please confirm",
        [("tensile_strength", "ge", 4.9e9, None, False)],
    ),
    ("purity of at least 99.95%", [("purity", "ge", 0.9995, None, False)]),
    ("Hcj min 1353 kA/m", [("coercivity", "ge", 1.353e6, None, False)]),
    # a requirement stated after the property, then measured values
    (
        "实测拉伸强度4650MPa，要求不低于4900MPa",
        [
            ("tensile_strength", "eq", 4.65e9, None, True),
            ("tensile_strength", "ge", 4.9e9, None, False),
        ],
    ),
    (
        "拉伸强度要求≥4900MPa，实测只有4650MPa。",
        [
            ("tensile_strength", "ge", 4.9e9, None, False),
            ("tensile_strength", "eq", 4.65e9, None, True),
        ],
    ),
    # two properties in one sentence
    (
        "拉伸强度≥4900MPa，模量≥230GPa",
        [
            ("tensile_strength", "ge", 4.9e9, None, False),
            ("tensile_modulus", "ge", 2.3e11, None, False),
        ],
    ),
    # decimals and ranges of four digits are not dates
    ("拉伸强度4900.5MPa", [("tensile_strength", "eq", 4.9005e9, None, False)]),
    ("拉伸强度3500-4900MPa", [("tensile_strength", "between", 3.5e9, 4.9e9, False)]),
    # thousands separators
    ("拉伸强度不低于4,900 MPa", [("tensile_strength", "ge", 4.9e9, None, False)]),
]

NOTHING = [
    "T700级碳纤维 12K 订单SO2024030001",  # grades and ids are not values
    "交期2-3周，请尽快发货",  # no property
    "拉伸强度报告已收到",  # a property without a value
    "拉伸强度 2024-03-01 送检",
    "拉伸强度 2024年3月 送检，10:30 到",  # dates and times are not values
    "模量 5t 一批",  # a unit of another kind
    "要求热导率高，月用量约1吨",  # a quantity further on is not the property's value
]


@pytest.fixture(scope="module")
def extractor():
    return Extractor()


def _rows(extractor, text):
    return [
        (r.property, r.comparator, r.value_si, r.value_high_si, r.is_measured)
        for r in extractor.extract(clean(text).text)
    ]


@pytest.mark.parametrize(("text", "expected"), GIVEN_EXPECT)
def test_extracts(extractor, text, expected):
    got = _rows(extractor, text)
    assert len(got) == len(expected), got
    for g, e in zip(got, expected, strict=True):
        assert g[:2] == e[:2], (text, g)
        assert math.isclose(g[2], e[2], rel_tol=1e-9), (text, g)
        assert (g[3] is None) == (e[3] is None) and (
            e[3] is None or math.isclose(g[3], e[3], rel_tol=1e-9)
        ), (text, g)
        assert g[4] == e[4], (text, g)


@pytest.mark.parametrize("text", NOTHING)
def test_extracts_nothing(extractor, text):
    assert _rows(extractor, text) == []


def test_every_property_unit_normalises():
    """Each unit spelling of each property converts to its SI unit as declared."""
    lx = load_lexicon()
    for prop in lx.properties.values():
        assert prop.names and prop.units, prop.code
        for unit, factor in prop.units.items():
            assert prop.to_si(1.0, unit) == pytest.approx(factor + prop.offset), (prop.code, unit)
        if prop.default_unit is not None:
            assert prop.default_unit in prop.units


def test_the_unitless_default_needs_a_comparator_or_closeness(extractor):
    assert _rows(extractor, "比容量 200") == [("specific_capacity", "eq", 7.2e5, None, False)]
    far = "比容量的测试报告已经在上周发给贵司了，编号 200"
    assert _rows(extractor, far) == []
