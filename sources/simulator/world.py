"""The simulated world: companies with true identities and latent traits, and the catalog."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sources.simulator import identity as ident
from sources.simulator import uscc

CUSTOMER_TYPES = ("科研客户", "制造客户", "终端用户", "渠道商")
TYPE_KEYS = ("research", "manufacturer", "end_user", "distributor")
TYPE_SHARES = (0.15, 0.45, 0.25, 0.15)

# Relationship (lifecycle) states, financial states and project phases of the latent process.
RELATIONSHIP = ("prospect", "growing", "mature", "declining", "lost")
FINANCIAL = ("healthy", "stressed", "distressed")
PROJECT_PHASE = ("idle", "qualifying", "buying")

FAMILIES = (
    "carbon_fibre",
    "graphene",
    "specialty_ceramics",
    "battery_cathode",
    "rare_earth_magnets",
    "specialty_polymers",
)
# industry -> preferred families (weights over FAMILIES)
FAMILY_AFFINITY = {
    "new_energy_battery": (0.05, 0.30, 0.05, 0.50, 0.05, 0.05),
    "semiconductor": (0.02, 0.15, 0.45, 0.02, 0.06, 0.30),
    "aerospace": (0.45, 0.05, 0.25, 0.02, 0.08, 0.15),
    "medical_devices": (0.10, 0.05, 0.35, 0.02, 0.08, 0.40),
    "electronics": (0.05, 0.35, 0.15, 0.05, 0.20, 0.20),
    "automotive": (0.25, 0.05, 0.05, 0.25, 0.35, 0.05),
    "construction": (0.55, 0.10, 0.10, 0.02, 0.03, 0.20),
}

# (material_id, family, grade, name_cn, name_en, unit, list price CNY, key spec)
MATERIALS: tuple[tuple[str, str, str, str, str, str, float, str], ...] = (
    (
        "CF-T300-3K",
        "carbon_fibre",
        "T300 3K",
        "T300级碳纤维 3K",
        "T300 carbon fibre 3K",
        "kg",
        180.0,
        '{"tensile_strength_mpa": ">=3530", "modulus_gpa": ">=230"}',
    ),
    (
        "CF-T700-12K",
        "carbon_fibre",
        "T700 12K",
        "T700级碳纤维 12K",
        "T700 carbon fibre 12K",
        "kg",
        260.0,
        '{"tensile_strength_mpa": ">=4900", "modulus_gpa": ">=230"}',
    ),
    (
        "CF-T800-12K",
        "carbon_fibre",
        "T800 12K",
        "T800级碳纤维 12K",
        "T800 carbon fibre 12K",
        "kg",
        650.0,
        '{"tensile_strength_mpa": ">=5490", "modulus_gpa": ">=294"}',
    ),
    (
        "CF-T1000-12K",
        "carbon_fibre",
        "T1000 12K",
        "T1000级碳纤维",
        "T1000 carbon fibre",
        "kg",
        1800.0,
        '{"tensile_strength_mpa": ">=6370", "modulus_gpa": ">=294"}',
    ),
    (
        "CF-M40J-6K",
        "carbon_fibre",
        "M40J 6K",
        "M40J高模碳纤维",
        "M40J high-modulus fibre",
        "kg",
        2200.0,
        '{"modulus_gpa": ">=377"}',
    ),
    (
        "GR-FLG-P",
        "graphene",
        "few-layer powder",
        "少层石墨烯粉体",
        "Few-layer graphene powder",
        "kg",
        2600.0,
        '{"layers": "<=5", "specific_surface_m2g": ">=500"}',
    ),
    (
        "GR-GO-DS",
        "graphene",
        "graphene oxide dispersion",
        "氧化石墨烯分散液",
        "Graphene oxide dispersion",
        "kg",
        900.0,
        '{"solid_content_pct": "1.0", "c_o_ratio": ">=2"}',
    ),
    (
        "GR-CP-LB",
        "graphene",
        "conductive paste",
        "石墨烯导电浆料",
        "Graphene conductive paste",
        "kg",
        120.0,
        '{"sheet_resistance_ohm": "<=30"}',
    ),
    (
        "CE-AL995",
        "specialty_ceramics",
        "Al2O3 99.5%",
        "99.5%氧化铝陶瓷粉",
        "Alumina 99.5% powder",
        "kg",
        85.0,
        '{"purity_pct": ">=99.5", "d50_um": "0.5"}',
    ),
    (
        "CE-YSZ3",
        "specialty_ceramics",
        "3YSZ",
        "3Y氧化锆粉体",
        "3YSZ zirconia powder",
        "kg",
        420.0,
        '{"purity_pct": ">=99.9", "d50_um": "0.3"}',
    ),
    (
        "CE-SI3N4",
        "specialty_ceramics",
        "Si3N4",
        "氮化硅粉体",
        "Silicon nitride powder",
        "kg",
        760.0,
        '{"alpha_phase_pct": ">=93", "oxygen_pct": "<=1.2"}',
    ),
    (
        "CE-SIC-S",
        "specialty_ceramics",
        "SiC sintered",
        "烧结碳化硅",
        "Sintered silicon carbide",
        "kg",
        980.0,
        '{"density_gcm3": ">=3.10", "thermal_conductivity_wmk": ">=120"}',
    ),
    (
        "BC-NCM811",
        "battery_cathode",
        "NCM811",
        "NCM811三元正极材料",
        "NCM811 cathode",
        "kg",
        180.0,
        '{"capacity_mahg": ">=200", "d50_um": "10"}',
    ),
    (
        "BC-NCM523",
        "battery_cathode",
        "NCM523",
        "NCM523三元正极材料",
        "NCM523 cathode",
        "kg",
        140.0,
        '{"capacity_mahg": ">=165"}',
    ),
    (
        "BC-LFP",
        "battery_cathode",
        "LFP",
        "磷酸铁锂正极材料",
        "LFP cathode",
        "kg",
        55.0,
        '{"capacity_mahg": ">=155", "compaction_gcm3": ">=2.4"}',
    ),
    (
        "BC-LMFP",
        "battery_cathode",
        "LMFP",
        "磷酸锰铁锂",
        "LMFP cathode",
        "kg",
        75.0,
        '{"capacity_mahg": ">=150", "mn_fe_ratio": "6:4"}',
    ),
    (
        "RE-N52",
        "rare_earth_magnets",
        "N52",
        "烧结钕铁硼 N52",
        "Sintered NdFeB N52",
        "kg",
        520.0,
        '{"br_t": ">=1.42", "hcj_kam": ">=876"}',
    ),
    (
        "RE-N48H",
        "rare_earth_magnets",
        "N48H",
        "烧结钕铁硼 N48H",
        "Sintered NdFeB N48H",
        "kg",
        610.0,
        '{"br_t": ">=1.37", "hcj_kam": ">=1353"}',
    ),
    (
        "RE-SMCO",
        "rare_earth_magnets",
        "Sm2Co17",
        "钐钴磁体",
        "SmCo magnet",
        "kg",
        1350.0,
        '{"max_temp_c": ">=350"}',
    ),
    (
        "PO-PEEK",
        "specialty_polymers",
        "PEEK",
        "聚醚醚酮粒料",
        "PEEK pellets",
        "kg",
        680.0,
        '{"tensile_strength_mpa": ">=98", "melt_index": "10-20"}',
    ),
    (
        "PO-PI-F",
        "specialty_polymers",
        "PI film",
        "聚酰亚胺薄膜",
        "Polyimide film",
        "kg",
        950.0,
        '{"thickness_um": "25", "dielectric_strength_kvmm": ">=200"}',
    ),
    (
        "PO-PPS",
        "specialty_polymers",
        "PPS GF40",
        "PPS玻纤增强 40%",
        "PPS GF40",
        "kg",
        95.0,
        '{"hdt_c": ">=260"}',
    ),
    (
        "PO-LCP",
        "specialty_polymers",
        "LCP",
        "液晶聚合物",
        "Liquid crystal polymer",
        "kg",
        310.0,
        '{"dk_10ghz": "<=3.0"}',
    ),
)
# Grades introduced during the history: (month index, material row).
NEW_MATERIALS = (
    (
        12,
        (
            "CF-T1100-12K",
            "carbon_fibre",
            "T1100 12K",
            "T1100级碳纤维",
            "T1100 carbon fibre",
            "kg",
            2600.0,
            '{"tensile_strength_mpa": ">=6600"}',
        ),
    ),
    (
        20,
        (
            "BC-NCM9",
            "battery_cathode",
            "NCM90",
            "超高镍正极 NCM90",
            "Ultra-high-nickel NCM90",
            "kg",
            230.0,
            '{"capacity_mahg": ">=215"}',
        ),
    ),
    (
        28,
        (
            "GR-SLG-F",
            "graphene",
            "single-layer film",
            "单层石墨烯薄膜",
            "Single-layer graphene film",
            "kg",
            9800.0,
            '{"layers": "1"}',
        ),
    ),
)


@dataclass
class World:
    n: int
    ids: list[str]
    identities: list[ident.Identity]
    ctype: np.ndarray  # index into CUSTOMER_TYPES
    industry: np.ndarray  # index into identity.INDUSTRIES
    city: np.ndarray
    group_id: list[str]
    twin_of: list[str]
    credit_code: list[str]
    founded_day: np.ndarray  # days relative to start (negative)
    capital: np.ndarray  # registered capital CNY
    # latent traits
    size: np.ndarray
    tech: np.ndarray
    loyalty: np.ndarray
    codev: np.ndarray
    fin: np.ndarray
    burst: np.ndarray  # purchase rhythm: True = project bursts, False = steady reorders
    entry_day: np.ndarray  # first seen, days relative to start
    terms: np.ndarray  # payment terms in days
    families: np.ndarray  # (n, 2) preferred material families
    init_r: np.ndarray
    init_f: np.ndarray
    init_p: np.ndarray
    init_j: np.ndarray


def _beta(rng: np.random.Generator, a: float, b: float, n: int) -> np.ndarray:
    return rng.beta(a, b, size=n)


def build(n: int, months: int, rng: np.random.Generator, irng: np.random.Generator) -> World:
    """Draw `n` companies. `rng` draws the world and its traits, `irng` only names."""
    ctype = rng.choice(4, size=n, p=TYPE_SHARES)
    industry = rng.integers(0, len(ident.INDUSTRIES), size=n)
    weights = np.array([c[5] for c in ident.CITIES], dtype=float)
    city = rng.choice(len(ident.CITIES), size=n, p=weights / weights.sum())
    research = ctype == 0
    distributor = ctype == 3
    size = _beta(rng, 1.6, 3.2, n) * np.where(research, 0.7, 1.0)
    # names first: namesakes ("twins") take over their partner's industry and another city
    identities, group_id, twin_of, codes = _identities(n, ctype, industry, city, size, rng, irng)
    tech = np.clip(
        _beta(rng, 2.0, 2.0, n) + np.select([research, distributor], [0.35, -0.3], 0.0), 0.02, 0.98
    )
    loyalty = _beta(rng, 2.2, 2.0, n) - 0.15 * distributor
    loyalty = np.clip(loyalty, 0.02, 0.98)
    codev = np.clip(_beta(rng, 1.5, 3.0, n) + 0.4 * research - 0.2 * distributor, 0.01, 0.98)
    fin = np.clip(_beta(rng, 3.0, 1.6, n) + 0.15 * research - 0.1 * distributor, 0.02, 0.99)

    burst_p = np.select([research, distributor, ctype == 2], [0.8, 0.15, 0.5], 0.35)
    burst = rng.random(n) < burst_p

    # A third of the customers appear during the history; the rest were customers before it.
    days_total = int(months * 30.44)
    new = rng.random(n) < 0.33
    entry_day = np.where(
        new,
        rng.integers(0, max(1, days_total - 60), size=n),
        -rng.integers(30, 8 * 365, size=n),
    )
    founded_day = np.minimum(entry_day, 0) - rng.integers(200, 25 * 365, size=n)
    capital = np.round(10 ** (6.0 + 3.0 * size + 0.5 * fin + rng.normal(0, 0.3, n)), -4)
    terms = np.select([size > 0.55, size > 0.3], [90, 60], 30)
    terms = np.where(research, 60, terms)

    fam = np.zeros((n, 2), dtype=np.int64)
    for i in range(n):
        aff = np.array(FAMILY_AFFINITY[ident.INDUSTRIES[industry[i]]])
        fam[i] = rng.choice(6, size=2, replace=False, p=aff)

    init_r = np.where(new, 0, rng.choice([0, 1, 2, 3], size=n, p=[0.08, 0.22, 0.55, 0.15]))
    u = rng.random(n)
    init_f = np.where(u < 0.25 * (1 - fin), 1, 0)
    init_p = np.where(burst, rng.choice(3, size=n, p=[0.5, 0.2, 0.3]), 2)
    init_j = (rng.random(n) < 0.25 * codev).astype(np.int64)

    ids = [f"CO{i + 1:06d}" for i in range(n)]
    return World(
        n=n, ids=ids, identities=identities, ctype=ctype, industry=industry, city=city,
        group_id=group_id, twin_of=twin_of, credit_code=codes, founded_day=founded_day,
        capital=capital, size=size, tech=tech, loyalty=loyalty, codev=codev, fin=fin,
        burst=burst, entry_day=entry_day, terms=terms, families=fam, init_r=init_r,
        init_f=init_f, init_p=init_p, init_j=init_j,
    )  # fmt: skip


def _identities(n, ctype, industry, city, size, rng, irng):
    """Legal names with groups (subsidiaries sharing brand and domain) and twins
    (unrelated companies with the same brand in another city)."""
    identities: list[ident.Identity] = []
    group_id = [""] * n
    twin_of = [""] * n
    codes: list[str] = []
    used_names: set[str] = set()
    used_brands: set[str] = set()
    i = 0
    group_no = 0
    while i < n:
        kind = TYPE_KEYS[ctype[i]]
        length = ident.brand_length(len(used_brands))
        brand = ident.brand_name(rng, length)
        while brand in used_brands:
            brand = ident.brand_name(rng, length)
        used_brands.add(brand)
        u = rng.random()
        if kind != "research" and u < 0.12 and i + 1 < n:
            members = min(n - i, int(rng.integers(2, 5)))
            group_no += 1
            domain = f"{ident.brand_pinyin(brand)}group.com"
            for k in range(members):
                pattern = "parent" if k == 0 and rng.random() < 0.5 else "subsidiary"
                identities.append(
                    _one(
                        i + k, brand, pattern, domain, ctype, industry, city, size, rng, used_names
                    )
                )
                group_id[i + k] = f"G{group_no:05d}"
            i += members
            continue
        pattern = kind
        identities.append(
            _one(i, brand, pattern, None, ctype, industry, city, size, rng, used_names)
        )
        if kind != "research" and u > 0.93 and i + 1 < n and ctype[i + 1] == ctype[i]:
            # the next company is an unrelated namesake in a different city
            if city[i + 1] == city[i]:
                city[i + 1] = (city[i] + 7) % len(ident.CITIES)
            industry[i + 1] = industry[i]
            identities.append(
                _one(
                    i + 1,
                    brand,
                    pattern,
                    None,
                    ctype,
                    industry,
                    city,
                    size,
                    rng,
                    used_names,
                    twin_word=identities[-1].short_name,
                )
            )
            twin_of[i + 1] = f"CO{i + 1:06d}"
            twin_of[i] = f"CO{i + 2:06d}"
            i += 2
            continue
        i += 1
    for k, idn in enumerate(identities):
        prefix = "12" if idn.legal_form == "事业单位" else "91"
        division = ident.CITIES[city[k]][2][:4] + f"{int(rng.integers(1, 13)):02d}"
        codes.append(uscc.make(prefix, division, rng))
        idn.variants = ident.build_variants(idn, TYPE_KEYS[ctype[k]], irng)
        idn.lab_variants = ident.lab_variants(idn, TYPE_KEYS[ctype[k]], irng)
    return identities, group_id, twin_of, codes


def _one(i, brand, pattern, domain, ctype, industry, city, size, rng, used, twin_word=None):
    province, cityname, _, area, city_py, _ = ident.CITIES[city[i]]
    cshort = ident.city_short(cityname)
    pshort = ident.province_short(province)
    ind_key = ident.INDUSTRIES[industry[i]]
    words = ident.DISTRIBUTOR_WORDS if ctype[i] == 3 else ident.INDUSTRY_WORDS[ind_key]
    word, wshort, wen = words[int(rng.integers(len(words)))]
    if twin_word is not None:
        # reuse the namesake's industry word so the short names collide
        for cand in words:
            if brand + cand[1] == twin_word:
                word, wshort, wen = cand
    bpy = ident.brand_pinyin(brand).capitalize()
    legal_form = "有限责任公司"
    for _attempt in range(20):
        if pattern == "parent":
            legal = f"{brand}集团股份有限公司"
            english = f"{bpy} Group Co., Ltd."
            short = f"{brand}集团"
            legal_form = "股份有限公司"
        elif pattern == "subsidiary":
            legal = f"{brand}{word}（{cshort}）有限公司"
            english = f"{bpy} {wen} ({city_py}) Co., Ltd."
            short = f"{brand}{wshort}"
        elif pattern == "research":
            u = rng.random()
            if u < 0.4:
                disc, den = ident.RESEARCH_DISCIPLINES[int(rng.integers(5))]
                legal = f"{cshort}{brand}{disc}研究院"
                english = f"{city_py} {bpy} Institute of {den}"
                short = f"{brand}研究院"
            elif u < 0.75:
                uk, uen = ident.UNIVERSITY_KINDS[int(rng.integers(3))]
                legal = f"{cshort}{brand}{uk}"
                english = f"{city_py} {bpy} {uen}"
                short = f"{cshort}{brand}{uk[:2]}"
            else:
                disc, den = ident.RESEARCH_DISCIPLINES[int(rng.integers(5))]
                legal = f"中国科学院{cshort}{disc}研究所"
                english = f"{city_py} Institute of {den}, Chinese Academy of Sciences"
                short = f"中科院{cshort}所"
            legal_form = "事业单位"
        else:
            u = rng.random()
            short = f"{brand}{wshort}"
            if twin_word is not None or u < 0.45:
                legal = f"{cshort}{brand}{word}有限公司"
                english = f"{city_py} {bpy} {wen} Co., Ltd."
            elif u < 0.6:
                legal = f"{brand}{word}（{cshort}）有限公司"
                english = f"{bpy} {wen} ({city_py}) Co., Ltd."
            elif u < 0.6 + 0.3 * size[i]:
                legal = f"{brand}{word}股份有限公司"
                english = f"{bpy} {wen} Co., Ltd."
                legal_form = "股份有限公司"
            elif u < 0.9:
                legal = f"{pshort}{brand}{word}有限责任公司"
                english = f"{bpy} {wen} Co., Ltd."
            else:
                legal = f"{brand}{word}有限公司"
                english = f"{bpy} {wen} Co., Ltd."
        if legal not in used:
            break
        brand = ident.brand_name(rng, len(brand))
        bpy = ident.brand_pinyin(brand).capitalize()
    used.add(legal)
    if domain is None:
        initials = "".join(ident.PINYIN[ch][0] for ch in brand)
        suffix = (".com", ".com.cn", ".cn", ".net")[int(rng.integers(4))]
        if pattern == "research":
            domain = f"{ident.brand_pinyin(brand)}{'.edu.cn' if '大学' in legal else '.ac.cn'}"
        elif twin_word is not None:
            domain = f"{initials}{city_py.lower().replace(chr(39), '')}{suffix}"
        else:
            domain = f"{ident.brand_pinyin(brand)}{suffix}"
    local = f"{int(rng.integers(2, 9))}{int(rng.integers(0, 10**7)):07d}"
    return ident.Identity(
        legal_name=legal,
        english_name=english,
        short_name=short,
        legal_form=legal_form,
        brand=brand,
        city_idx=int(city[i]),
        domain=domain,
        switchboard=(area, local),
        address=ident.address_for(int(city[i]), rng),
    )
