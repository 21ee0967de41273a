"""Every reason word the models can give has Chinese words in the panel."""

from models_ml.targets import TARGETS
from portrait.service import i18n


def test_every_feature_word_has_chinese():
    from models_ml import targets

    words = set()
    for name in dir(targets):
        value = getattr(targets, name)
        if name.endswith("_WORDS") and isinstance(value, dict):
            words |= set(value.values())
    assert words, "models_ml.targets exposes its feature words"
    assert TARGETS
    missing = sorted(words - set(i18n.REASON_WORDS_CN))
    assert missing == []


def test_reasons_translate_and_keep_their_effect():
    assert i18n.reason("days since the last order (+0.22)", "zh") == "距上次下单天数 (+0.22)"
    assert i18n.reason("days since the last order (+0.22)", "en").startswith("days since")
    assert i18n.reason("something new (+0.10)", "zh") == "something new (+0.10)"
    assert i18n.label("customers", "en") == "Customers"
    assert i18n.label("customers", "zh") == "客户列表"
