"""Behavioural segments: named by what sets them apart, planted groups found and ranked."""

import numpy as np
import pandas as pd

from models_ml.segment import BEHAVIOUR, fit_segments, name_segments


def test_segments_are_named_by_what_sets_them_apart():
    profiles = pd.DataFrame(
        [[2.0, 1.0] + [0.0] * (len(BEHAVIOUR) - 2), [-2.0, -1.5] + [0.0] * (len(BEHAVIOUR) - 2)],
        columns=list(BEHAVIOUR),
    )
    names = name_segments(profiles)
    assert names == {0: "high value, frequent orders", 1: "low value, few orders"}


def test_kmeans_finds_planted_groups_and_ranks_them_by_value():
    rng = np.random.default_rng(1)
    rows = []
    centres = rng.uniform(0, 1, size=(3, len(BEHAVIOUR)))
    for g, (revenue, n) in enumerate(((1e7, 30), (1e5, 30), (1e6, 30))):
        for _ in range(n):
            values = centres[g] + rng.normal(0, 0.02, len(BEHAVIOUR))
            row = dict(zip(BEHAVIOUR, values, strict=True))
            row["revenue_cny_365d"] = revenue * rng.uniform(0.9, 1.1)
            rows.append(row)
    seg = fit_segments(pd.DataFrame(rows), k_range=range(3, 6))
    assert seg.k == 3 and seg.coords.shape == (90, 2)
    assert list(pd.Series(seg.labels[:30]).unique()) == [0]
    assert seg.profiles["revenue_cny_365d"].idxmax() == 0
    assert len(set(seg.names.values())) == 3
