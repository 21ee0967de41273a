"""Names, phones, e-mails and addresses of simulated companies — and their messy variants.

Every function takes the one simulator Generator, so the same seed gives the same strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sources.simulator import countries

# (province, city, division code, telephone area code, pinyin, weight)
CITIES: tuple[tuple[str, str, str, str, str, float], ...] = (
    ("北京市", "北京市", "110100", "010", "Beijing", 6),
    ("上海市", "上海市", "310100", "021", "Shanghai", 7),
    ("天津市", "天津市", "120100", "022", "Tianjin", 3),
    ("重庆市", "重庆市", "500100", "023", "Chongqing", 2),
    ("江苏省", "南京市", "320100", "025", "Nanjing", 3),
    ("江苏省", "苏州市", "320500", "0512", "Suzhou", 7),
    ("江苏省", "无锡市", "320200", "0510", "Wuxi", 4),
    ("江苏省", "常州市", "320400", "0519", "Changzhou", 4),
    ("浙江省", "杭州市", "330100", "0571", "Hangzhou", 4),
    ("浙江省", "宁波市", "330200", "0574", "Ningbo", 4),
    ("浙江省", "嘉兴市", "330400", "0573", "Jiaxing", 2),
    ("广东省", "广州市", "440100", "020", "Guangzhou", 4),
    ("广东省", "深圳市", "440300", "0755", "Shenzhen", 7),
    ("广东省", "东莞市", "441900", "0769", "Dongguan", 4),
    ("广东省", "佛山市", "440600", "0757", "Foshan", 2),
    ("广东省", "惠州市", "441300", "0752", "Huizhou", 2),
    ("福建省", "厦门市", "350200", "0592", "Xiamen", 2),
    ("福建省", "宁德市", "350900", "0593", "Ningde", 2),
    ("福建省", "福州市", "350100", "0591", "Fuzhou", 1),
    ("山东省", "济南市", "370100", "0531", "Jinan", 2),
    ("山东省", "青岛市", "370200", "0532", "Qingdao", 2),
    ("山东省", "烟台市", "370600", "0535", "Yantai", 1),
    ("湖北省", "武汉市", "420100", "027", "Wuhan", 3),
    ("湖北省", "襄阳市", "420600", "0710", "Xiangyang", 1),
    ("湖南省", "长沙市", "430100", "0731", "Changsha", 2),
    ("湖南省", "株洲市", "430200", "0731", "Zhuzhou", 1),
    ("四川省", "成都市", "510100", "028", "Chengdu", 3),
    ("四川省", "绵阳市", "510700", "0816", "Mianyang", 1),
    ("陕西省", "西安市", "610100", "029", "Xi'an", 3),
    ("安徽省", "合肥市", "340100", "0551", "Hefei", 3),
    ("安徽省", "芜湖市", "340200", "0553", "Wuhu", 1),
    ("河南省", "郑州市", "410100", "0371", "Zhengzhou", 2),
    ("河南省", "洛阳市", "410300", "0379", "Luoyang", 1),
    ("辽宁省", "沈阳市", "210100", "024", "Shenyang", 2),
    ("辽宁省", "大连市", "210200", "0411", "Dalian", 1),
    ("江西省", "南昌市", "360100", "0791", "Nanchang", 1),
    ("江西省", "宜春市", "360900", "0795", "Yichun", 1),
    ("江西省", "赣州市", "360700", "0797", "Ganzhou", 1),
    ("黑龙江省", "哈尔滨市", "230100", "0451", "Harbin", 1),
    ("吉林省", "长春市", "220100", "0431", "Changchun", 1),
    ("内蒙古自治区", "包头市", "150200", "0472", "Baotou", 1),
    ("广西壮族自治区", "柳州市", "450200", "0772", "Liuzhou", 1),
    ("河北省", "保定市", "130600", "0312", "Baoding", 1),
    ("山西省", "太原市", "140100", "0351", "Taiyuan", 1),
    ("贵州省", "贵阳市", "520100", "0851", "Guiyang", 1),
    ("云南省", "昆明市", "530100", "0871", "Kunming", 1),
)

# Brand characters grouped by pronunciation: the first of a group is the canonical one,
# the others are near-homophones a sales rep may type instead.
BRAND_GROUPS: tuple[tuple[str, str], ...] = (
    ("恒衡", "heng"),
    ("锐瑞睿", "rui"),
    ("华骅", "hua"),
    ("鑫新欣", "xin"),
    ("达大", "da"),
    ("泰太", "tai"),
    ("博搏", "bo"),
    ("远源元", "yuan"),
    ("盛胜", "sheng"),
    ("宏鸿弘", "hong"),
    ("创闯", "chuang"),
    ("凯铠", "kai"),
    ("辰晨", "chen"),
    ("明铭", "ming"),
    ("宇羽禹", "yu"),
    ("航杭", "hang"),
    ("光广", "guang"),
    ("金今", "jin"),
    ("天添", "tian"),
    ("中忠", "zhong"),
    ("晶精京", "jing"),
    ("峰锋丰", "feng"),
    ("昌长", "chang"),
    ("德得", "de"),
    ("卓灼", "zhuo"),
    ("越悦", "yue"),
    ("诺糯", "nuo"),
    ("奥澳", "ao"),
    ("特", "te"),
    ("迈麦", "mai"),
    ("安", "an"),
    ("普谱", "pu"),
    ("智志", "zhi"),
    ("信", "xin"),
    ("东冬", "dong"),
    ("海", "hai"),
    ("隆龙", "long"),
    ("力立", "li"),
    ("科", "ke"),
    ("嘉佳", "jia"),
)
BRAND_CHARS = tuple(g[0][0] for g in BRAND_GROUPS)
PINYIN = {ch: py for chars, py in BRAND_GROUPS for ch in chars}
HOMOPHONES = {chars[0]: chars[1:] for chars, _ in BRAND_GROUPS if len(chars) > 1}

INDUSTRIES = (
    "new_energy_battery",
    "semiconductor",
    "aerospace",
    "medical_devices",
    "electronics",
    "automotive",
    "construction",
)
INDUSTRY_CN = {
    "new_energy_battery": ("新能源电池", "电池制造"),
    "semiconductor": ("半导体", "半导体器件制造"),
    "aerospace": ("航空航天", "航空航天器制造"),
    "medical_devices": ("医疗器械", "医疗仪器设备制造"),
    "electronics": ("电子", "电子元件制造"),
    "automotive": ("汽车", "汽车零部件制造"),
    "construction": ("建筑", "建筑工程"),
}
# (in the legal name, short form, English)
INDUSTRY_WORDS = {
    "new_energy_battery": (
        ("新能源科技", "新能源", "New Energy Technology"),
        ("电池材料", "电池", "Battery Materials"),
        ("储能科技", "储能", "Energy Storage Technology"),
        ("锂电科技", "锂电", "Lithium Battery Technology"),
    ),
    "semiconductor": (
        ("半导体", "半导体", "Semiconductor"),
        ("微电子", "微电子", "Microelectronics"),
        ("集成电路", "芯", "Integrated Circuit"),
    ),
    "aerospace": (
        ("航空科技", "航空", "Aviation Technology"),
        ("航天材料", "航天", "Aerospace Materials"),
        ("飞行器制造", "飞行器", "Aircraft Manufacturing"),
    ),
    "medical_devices": (
        ("医疗器械", "医疗", "Medical Devices"),
        ("生物医疗科技", "生物医疗", "Biomedical Technology"),
    ),
    "electronics": (
        ("电子科技", "电子", "Electronic Technology"),
        ("光电科技", "光电", "Optoelectronic Technology"),
        ("精密电子", "精密", "Precision Electronics"),
    ),
    "automotive": (
        ("汽车零部件", "汽配", "Auto Parts"),
        ("汽车科技", "汽车", "Automotive Technology"),
        ("电驱动系统", "电驱", "E-Drive Systems"),
    ),
    "construction": (
        ("建材科技", "建材", "Building Materials Technology"),
        ("建筑工程", "建工", "Construction Engineering"),
        ("复合材料", "复材", "Composite Materials"),
    ),
}
DISTRIBUTOR_WORDS = (
    ("贸易", "贸易", "Trading"),
    ("供应链管理", "供应链", "Supply Chain Management"),
    ("新材料科技", "新材", "New Material Technology"),
    ("化工材料", "化工", "Chemical Materials"),
)
RESEARCH_DISCIPLINES = (
    ("先进材料", "Advanced Materials"),
    ("新材料", "New Materials"),
    ("能源材料", "Energy Materials"),
    ("功能材料", "Functional Materials"),
    ("复合材料", "Composite Materials"),
)
UNIVERSITY_KINDS = (
    ("理工大学", "University of Technology"),
    ("工业大学", "Polytechnic University"),
    ("科技大学", "University of Science and Technology"),
)

SURNAMES = (
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("林", "lin"),
    ("高", "gao"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
    ("韩", "han"),
    ("冯", "feng"),
    ("邓", "deng"),
    ("曹", "cao"),
    ("彭", "peng"),
)
GIVEN = (
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("华", "hua"),
    ("建", "jian"),
    ("文", "wen"),
    ("辉", "hui"),
    ("玲", "ling"),
    ("鹏", "peng"),
    ("宇", "yu"),
    ("浩", "hao"),
    ("凯", "kai"),
    ("晨", "chen"),
    ("婷", "ting"),
    ("欣", "xin"),
    ("然", "ran"),
    ("博", "bo"),
    ("雪", "xue"),
    ("琳", "lin"),
    ("峰", "feng"),
    ("斌", "bin"),
    ("健", "jian"),
    ("梅", "mei"),
    ("亮", "liang"),
)
TITLES_FIRM = (
    "采购经理",
    "采购专员",
    "研发总监",
    "技术工程师",
    "总经理",
    "财务经理",
    "质量经理",
    "供应链主管",
    "项目经理",
)
TITLES_RESEARCH = ("研究员", "副研究员", "教授", "副教授", "课题组长", "实验室主任", "博士后")
DISTRICTS = ("高新区", "工业园区", "经济技术开发区", "新区", "科学城", "开发区")
ROADS = (
    "科技路",
    "创新大道",
    "长江路",
    "人民路",
    "建设路",
    "星湖街",
    "学府路",
    "工业大道",
    "新华路",
    "金桥路",
    "民生路",
    "滨河路",
)
FREE_MAIL = ("qq.com", "163.com", "126.com", "sina.com", "gmail.com", "outlook.com")
FULL_TO_HALF = str.maketrans("（）", "()")


def city_short(city: str) -> str:
    return city[:-1] if city.endswith("市") and len(city) > 2 else city


def province_short(province: str) -> str:
    for suffix in ("壮族自治区", "自治区", "省", "市"):
        if province.endswith(suffix):
            return province[: -len(suffix)]
    return province


@dataclass
class Person:
    name: str
    surname_py: str
    given_py: str
    title: str
    mobile: str
    email: str
    person_id: str = ""  # the true person, for truth/persons.csv; set by the simulator


@dataclass
class Identity:
    """The true identity of one company and the ways people write it."""

    legal_name: str
    english_name: str
    short_name: str
    legal_form: str
    brand: str
    city_idx: int
    domain: str
    switchboard: tuple[str, str]  # (area code, 8-digit local number)
    address: str
    variants: list[str] = field(default_factory=list)
    lab_variants: list[str] = field(default_factory=list)


def brand_name(rng: np.random.Generator, length: int = 2) -> str:
    return "".join(BRAND_CHARS[i] for i in rng.choice(len(BRAND_CHARS), size=length, replace=False))


def brand_length(used: int) -> int:
    """Characters of the next brand when `used` brands exist: two while at most three quarters
    of the 1,560 two-character brands are taken (every world up to scale ~15), then three
    (59,280 more), so large worlds never run out of unused brands."""
    n, length, capacity = len(BRAND_CHARS), 2, 0
    while True:
        capacity += int(np.prod(np.arange(n - length + 1, n + 1)))
        if used < 0.75 * capacity:
            return length
        length += 1


def brand_pinyin(brand: str) -> str:
    return "".join(PINYIN[ch] for ch in brand)


def address_for(city_idx: int, rng: np.random.Generator) -> str:
    province, city = CITIES[city_idx][0], CITIES[city_idx][1]
    prov = "" if province == city else province
    road = ROADS[int(rng.integers(len(ROADS)))]
    district = DISTRICTS[int(rng.integers(len(DISTRICTS)))]
    return f"{prov}{city}{district}{road}{int(rng.integers(1, 999))}号"


def address_variant(address: str, rng: np.random.Generator, noise: float) -> str:
    if rng.random() >= 2 * noise:
        return address
    kind = int(rng.integers(3))
    if kind == 0:
        for suffix in ("省", "自治区"):
            pos = address.find(suffix)
            if pos > 0:
                return address[pos + len(suffix) :]
        return address
    if kind == 1:
        return address.replace("号", "號" if rng.random() < 0.2 else "").replace("市", "", 1)
    return address + "（" + ("厂区" if rng.random() < 0.5 else "研发楼") + "）"


def _typo(name: str, brand: str, rng: np.random.Generator) -> str:
    """Replace one brand character with a near-homophone, or drop / double a character."""
    options = [ch for ch in brand if ch in HOMOPHONES]
    if options and rng.random() < 0.7:
        ch = options[int(rng.integers(len(options)))]
        alts = HOMOPHONES[ch]
        return name.replace(ch, alts[int(rng.integers(len(alts)))], 1)
    if len(name) > 4:
        pos = int(rng.integers(1, len(name) - 1))
        if rng.random() < 0.5:
            return name[:pos] + name[pos + 1 :]
        return name[:pos] + name[pos] + name[pos:]
    return name + " "


def build_variants(ident: Identity, kind: str, rng: np.random.Generator) -> list[str]:
    """Ways the name appears in operational systems besides the legal name."""
    legal, brand = ident.legal_name, ident.brand
    cshort = city_short(CITIES[ident.city_idx][1])
    out = [ident.short_name, ident.english_name, _typo(legal, brand, rng)]
    if "（" in legal:
        out.append(legal.translate(FULL_TO_HALF))
    if legal.startswith(cshort):
        bare = legal[len(cshort) :]
        out.append(bare)
        if bare.endswith("有限公司"):
            out.append(bare[: -len("有限公司")] + f"（{cshort}）有限公司")
    elif kind != "research":
        out.append(cshort + legal.replace(f"（{cshort}）", ""))
    if legal.endswith("有限责任公司"):
        out.append(legal[: -len("有限责任公司")] + "有限公司")
    elif legal.endswith("股份有限公司"):
        out.append(legal[: -len("股份有限公司")] + "股份公司")
    elif legal.endswith("有限公司"):
        out.append(legal[: -len("有限公司")] + "有限责任公司")
    py = brand_pinyin(brand)
    out.append(py.capitalize() + (" Co., Ltd." if kind != "research" else " Institute"))
    out.append(legal + " ")  # trailing space typed in a form
    seen: list[str] = []
    for v in out:
        if v and v != legal and v not in seen:
            seen.append(v)
    return seen


def lab_variants(ident: Identity, kind: str, rng: np.random.Generator) -> list[str]:
    """Organisation as written on a sample request form: often a department."""
    base = [ident.short_name, ident.legal_name.translate(FULL_TO_HALF)]
    if kind == "research":
        depts = ("材料学院", "课题组", "实验室", "分析测试中心")
    else:
        depts = ("研发部", "技术中心", "采购部", "工程部")
    dept = depts[int(rng.integers(len(depts)))]
    base.append(f"{ident.short_name}{dept}")
    base.append(f"{ident.legal_name} {dept}")
    base.append(_typo(ident.short_name, ident.brand, rng))
    return [v for v in dict.fromkeys(base) if v != ident.legal_name]


def pick_name(ident: Identity, share: float, rng: np.random.Generator, lab: bool = False) -> str:
    """The legal name, or with probability `share` one of the messy variants."""
    if share <= 0 or rng.random() >= share:
        return ident.legal_name
    pool = ident.lab_variants if lab else ident.variants
    return pool[int(rng.integers(len(pool)))]


def mobile_number(rng: np.random.Generator) -> str:
    prefixes = ("139", "138", "137", "136", "135", "150", "151", "158", "186", "188", "177", "199")
    return prefixes[int(rng.integers(len(prefixes)))] + f"{int(rng.integers(0, 10**8)):08d}"


def format_mobile(mobile: str, noise: float, rng: np.random.Generator) -> str:
    if mobile.startswith("+"):  # a mobile abroad, kept as E.164
        return countries.format_mobile(mobile, noise, rng)
    if rng.random() >= 2 * noise:
        return mobile
    a, b, c = mobile[:3], mobile[3:7], mobile[7:]
    forms = (
        f"{a} {b} {c}",
        f"{a}-{b}-{c}",
        f"+86 {a} {b} {c}",
        f"+86{mobile}",
        f"86-{mobile}",
        f"(+86){mobile}",
        f"+86-{a}-{b}-{c}",
    )
    return forms[int(rng.integers(len(forms)))]


def format_landline(area: str, local: str, noise: float, rng: np.random.Generator) -> str:
    if rng.random() >= 2 * noise:
        return f"{area}-{local}"
    ext = str(int(rng.integers(100, 9000)))
    a0 = area[1:]
    forms = (
        f"{area} {local[:4]} {local[4:]}",
        f"({area}){local}",
        f"+86 {a0} {local[:4]} {local[4:]}",
        f"+86-{a0}-{local}",
        f"{area}{local}",
        f"{area}-{local}转{ext}",
        f"{area}-{local}-{ext}",
        f"{area}-{local[:4]} {local[4:]} ext. {ext}",
    )
    return forms[int(rng.integers(len(forms)))]


def person(ident: Identity, research: bool, noise: float, rng: np.random.Generator) -> Person:
    si = int(rng.integers(len(SURNAMES)))
    surname, spy = SURNAMES[si]
    n_given = 1 if rng.random() < 0.35 else 2
    gidx = rng.integers(len(GIVEN), size=n_given)
    given = "".join(GIVEN[i][0] for i in gidx)
    gpy = "".join(GIVEN[i][1] for i in gidx)
    titles = TITLES_RESEARCH if research else TITLES_FIRM
    title = titles[int(rng.integers(len(titles)))]
    mobile = mobile_number(rng)
    if rng.random() < min(0.6, 1.5 * noise):
        domain = FREE_MAIL[int(rng.integers(len(FREE_MAIL)))]
        if domain == "qq.com" and rng.random() < 0.7:
            local = str(int(rng.integers(10**7, 3 * 10**9)))
        else:
            local = f"{spy}{gpy}{int(rng.integers(70, 100)) if rng.random() < 0.5 else ''}"
    else:
        domain = ident.domain
        forms = (f"{spy}{gpy}", f"{spy}.{gpy}", f"{gpy}.{spy}", f"{spy[0]}{gpy}", f"{gpy}{spy}")
        local = forms[int(rng.integers(len(forms)))] if noise > 0 else f"{spy}.{gpy}"
    email = f"{local}@{domain}"
    return Person(surname + given, spy, gpy, title, mobile, email)


def format_email(email: str, noise: float, rng: np.random.Generator) -> str:
    if rng.random() >= noise:
        return email
    kind = int(rng.integers(4))
    if kind == 0:
        return email.upper()
    if kind == 1:
        local, _, domain = email.partition("@")
        return f"{local.capitalize()}@{domain}"
    if kind == 2:
        return f" {email}"
    return email.replace("@", "＠") if rng.random() < 0.3 else email + ";"
