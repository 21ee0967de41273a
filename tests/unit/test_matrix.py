"""The model matrix: text features as stable category codes, the rest numeric."""

import math

import pandas as pd

from models_ml.matrix import to_model_matrix
from models_ml.targets import CATEGORICAL_FEATURES, FEATURE_WORDS


def test_text_features_become_stable_category_codes_and_the_rest_stays_numeric():
    assert set(FEATURE_WORDS) >= CATEGORICAL_FEATURES
    frame = pd.DataFrame(
        {
            "customer_type": ["科研客户", None, "科研客户", "渠道商"],
            "is_deregistered": [True, None, False, False],
            "orders_365d": [3, 0, None, 7],
        }
    )
    x = to_model_matrix(frame, ["customer_type", "is_deregistered", "orders_365d"])
    codes = x["customer_type"].tolist()
    assert codes[0] == codes[2] != codes[3] and math.isnan(codes[1])
    assert all(c >= 0 and c == int(c) for c in (codes[0], codes[3]))
    # the same value gets the same code in another frame (training vs scoring)
    again = to_model_matrix(frame.iloc[[3]], ["customer_type", "is_deregistered", "orders_365d"])
    assert again["customer_type"].iloc[0] == codes[3]
    assert x["is_deregistered"].tolist()[::2] == [1.0, 0.0]
    assert x["orders_365d"].tolist()[0] == 3.0


def test_an_undeclared_text_column_is_refused_by_name_not_read_as_missing():
    import pytest

    from models_ml.matrix import FeatureError

    frame = pd.DataFrame({"orders_365d": [3, 1], "payment_terms": ["月结30天", None]})
    with pytest.raises(FeatureError) as err:
        to_model_matrix(frame, ["orders_365d", "payment_terms"])
    message = str(err.value)
    assert "'payment_terms'" in message and "1 of 2 rows" in message and "月结30天" in message
    # declared categorical (an external frame's own list), it is coded like the others
    x = to_model_matrix(frame, ["orders_365d", "payment_terms"], categorical=["payment_terms"])
    assert x["payment_terms"].notna().tolist() == [True, False]
