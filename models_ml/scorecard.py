"""A WoE-binned logistic scorecard: the banking convention a credit team knows, and the
baseline a credit-risk model must beat (issue 17).

Each feature is cut into monotone-risk bins by optbinning's optimal binning (a mathematical
programming formulation, with minimum bin sizes), each bin replaced by its weight of evidence
ln(share of goods / share of bads), and a logistic regression fitted on the WoE values; the
points table (`points`) is the same model in the scorecard's usual scaling (PDO 20, 600
points at odds 50:1). Categorical features are binned as categories, missing values get a bin
of their own. optbinning because it is the maintained library for this (release 1.0, 2026),
written by the author of the formulation it implements.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from optbinning import BinningProcess, Scorecard
from sklearn.linear_model import LogisticRegression


@dataclass
class WoEScorecard:
    scorecard: Scorecard
    features: list[str]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """P(bad) per row."""
        return self.scorecard.predict_proba(frame.loc[:, self.features])[:, 1]

    def points(self) -> pd.DataFrame:
        """The points table: feature, bin, count, event rate, WoE, points."""
        table = self.scorecard.table(style="detailed")
        return table.loc[:, ["Variable", "Bin", "Count", "Event rate", "WoE", "Points"]]


def fit_scorecard(
    frame: pd.DataFrame, y: np.ndarray, features: list[str], categorical: Iterable[str] = ()
) -> WoEScorecard:
    """Fit the scorecard on a training frame (raw feature values, text categories allowed in
    `categorical`) and its 0/1 labels."""
    categorical = [c for c in categorical if c in features]
    binning = BinningProcess(
        variable_names=list(features),
        categorical_variables=categorical or None,
        min_prebin_size=0.02,
        # keep every feature: the baseline is the scorecard on the model's own inputs
        selection_criteria=None,
    )
    card = Scorecard(
        binning_process=binning,
        estimator=LogisticRegression(C=1.0, max_iter=2000),
        scaling_method="pdo_odds",
        scaling_method_params={"pdo": 20, "odds": 50, "scorecard_points": 600},
    )
    card.fit(frame.loc[:, features], np.asarray(y, dtype=int))
    return WoEScorecard(card, list(features))
