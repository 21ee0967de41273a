"""Behavioural segments: K-means on standardised behaviour features of one snapshot, k chosen
by silhouette, PCA coordinates for a map, each segment named by what sets it apart.

Writes ``ml.customer_segments`` (one row per cid for the date; re-running a date replaces it)
and logs the fit (silhouette per k, segment profiles, a PCA scatter plot) to MLflow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from models_ml import data, plots, tracking
from models_ml.matrix import FeatureError, to_model_matrix
from portrait import db

EXPERIMENT = "portrait/segments"
K_RANGE = range(3, 9)

# Behaviour features and how a segment reads when it sits high / low on each. Money and
# counts are log-scaled first so a few very large customers do not own the geometry.
BEHAVIOUR: dict[str, tuple[str, str]] = {
    "revenue_cny_365d": ("high value", "low value"),
    "orders_365d": ("frequent orders", "few orders"),
    "days_since_last_order": ("lapsing", "recently active"),
    "order_gap_cv_365d": ("irregular reorders", "steady reorders"),
    "revenue_trend_90d": ("growing", "shrinking"),
    "material_families_365d": ("broad material mix", "narrow material mix"),
    "top_family_share_365d": ("one-family buyers", "spread across families"),
    "avg_price_to_list_365d": ("pays near list price", "discount-driven"),
    "late_invoice_share_365d": ("often pays late", "pays on time"),
}
LOG_SCALED = {"revenue_cny_365d", "orders_365d", "days_since_last_order", "revenue_trend_90d"}

SEGMENTS_DDL = """
-- governance/roles.sql creates the schema for its owner; `create schema if not exists`
-- would need the database's CREATE privilege even when the schema exists.
do $$ begin if to_regnamespace('ml') is null then create schema ml; end if; end $$;
create table if not exists ml.customer_segments (
    cid text not null,
    as_of_date date not null,
    segment_id integer not null,
    segment_name text not null,
    pc1 double precision not null,
    pc2 double precision not null,
    model_run_id text not null,
    computed_at timestamptz not null default now(),
    primary key (cid, as_of_date)
);
"""
SEGMENT_COLUMNS = ["cid", "as_of_date", "segment_id", "segment_name", "pc1", "pc2", "model_run_id"]


@dataclass
class Segmentation:
    labels: np.ndarray  # segment_id per row, 0 = highest mean value
    names: dict[int, str]
    coords: np.ndarray  # (n, 2) PCA coordinates
    silhouettes: dict[int, float]
    k: int
    profiles: pd.DataFrame  # mean standardised feature per segment
    explained_variance: tuple[float, float]


@dataclass
class SegmentResult:
    """What a segmentation run wrote, for XCom and the CLI."""

    as_of_date: dt.date
    rows: int
    k: int
    silhouette: float
    segments: dict[str, int]  # customers per segment name
    run_id: str

    def to_dict(self) -> dict:
        return {
            "as_of_date": str(self.as_of_date),
            "rows": self.rows,
            "k": self.k,
            "silhouette": self.silhouette,
            "segments": self.segments,
            "run_id": self.run_id,
        }


def behaviour_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """The behaviour features as standardisable floats: log-scaled, missing -> median."""
    x = to_model_matrix(frame, list(BEHAVIOUR))
    for col in LOG_SCALED:
        x[col] = np.log1p(x[col].clip(lower=0))
    return x.fillna(x.median()).fillna(0.0)


def name_segments(profiles: pd.DataFrame, top: int = 2) -> dict[int, str]:
    """Name each segment by its `top` most distinctive features (largest |z| of its mean),
    adding the next feature while two names collide."""
    names: dict[int, str] = {}
    for seg, row in profiles.iterrows():
        order = row.abs().sort_values(ascending=False).index
        words = [BEHAVIOUR[f][0] if row[f] > 0 else BEHAVIOUR[f][1] for f in order]
        n = top
        name = ", ".join(words[:n])
        while name in names.values() and n < len(words):
            n += 1
            name = ", ".join(words[:n])
        names[int(seg)] = name
    return names


def fit_segments(frame: pd.DataFrame, seed: int = 42, k_range=K_RANGE) -> Segmentation:
    """K-means for each k in `k_range`, keep the best silhouette; name and project it."""
    x = behaviour_matrix(frame)
    z = StandardScaler().fit_transform(x)
    ks = [k for k in k_range if 2 <= k < len(z)]
    if not ks:
        raise FeatureError(f"{len(z)} customers are too few to segment.")
    fits, silhouettes = {}, {}
    for k in ks:
        km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(z)
        fits[k] = km.labels_
        silhouettes[k] = float(silhouette_score(z, km.labels_))
    k = max(ks, key=lambda c: (silhouettes[c], -c))
    raw = fits[k]
    # Stable ids: segment 0 holds the highest mean yearly value.
    value = pd.Series(z[:, list(BEHAVIOUR).index("revenue_cny_365d")]).groupby(raw).mean()
    remap = {old: new for new, old in enumerate(value.sort_values(ascending=False).index)}
    labels = np.array([remap[c] for c in raw])
    profiles = pd.DataFrame(z, columns=list(BEHAVIOUR)).groupby(labels).mean()
    pca = PCA(n_components=2, random_state=seed).fit(z)
    return Segmentation(
        labels=labels,
        names=name_segments(profiles),
        coords=pca.transform(z),
        silhouettes=silhouettes,
        k=k,
        profiles=profiles,
        explained_variance=tuple(float(v) for v in pca.explained_variance_ratio_),
    )


def segment_customers(
    as_of_date: dt.date | None = None, *, dsn: str | None = None, seed: int = 42
) -> SegmentResult:
    """Segment one snapshot's customers and replace that date's rows in ml.customer_segments."""
    tracking.configure()
    with db.connect(dsn) as conn:
        if as_of_date is None:
            as_of_date = data.latest_snapshot_date(conn)
        frame = data.snapshot_frame(conn, as_of_date)
    seg = fit_segments(frame, seed)
    with mlflow.start_run(
        experiment_id=tracking.experiment_id(EXPERIMENT), run_name=f"segments-{as_of_date}"
    ) as run:
        mlflow.set_tags({"as_of_date": str(as_of_date), "customers": str(len(frame))})
        mlflow.log_params({"k": seg.k, "seed": seed, "features": ",".join(BEHAVIOUR)})
        mlflow.log_metrics({f"silhouette_k{k}": s for k, s in seg.silhouettes.items()})
        mlflow.log_metrics(
            {
                "silhouette": seg.silhouettes[seg.k],
                "pca_explained_1": seg.explained_variance[0],
                "pca_explained_2": seg.explained_variance[1],
            }
        )
        profile = seg.profiles.round(3).assign(
            segment_name=[seg.names[i] for i in seg.profiles.index],
            customers=pd.Series(seg.labels).value_counts().sort_index().to_numpy(),
        )
        mlflow.log_dict(
            profile.reset_index(names="segment_id").to_dict(orient="records"),
            "segments/profiles.json",
        )
        mlflow.log_figure(
            plots.segment_scatter(seg.coords, seg.labels, seg.names), "plots/segments_pca.png"
        )
        plots.close_all()
        run_id = run.info.run_id
    out = pd.DataFrame(
        {
            "cid": frame["cid"].to_numpy(),
            "as_of_date": as_of_date,
            "segment_id": seg.labels,
            "segment_name": [seg.names[i] for i in seg.labels],
            "pc1": seg.coords[:, 0],
            "pc2": seg.coords[:, 1],
            "model_run_id": run_id,
        }
    )
    with db.connect(dsn) as conn:
        db.ensure_objects(conn, SEGMENTS_DDL, "portrait.ml.ddl")
        conn.execute("delete from ml.customer_segments where as_of_date = %s", (as_of_date,))
        written = db.copy_frame(conn, "ml", "customer_segments", out, SEGMENT_COLUMNS)
    return SegmentResult(
        as_of_date,
        written,
        seg.k,
        seg.silhouettes[seg.k],
        {seg.names[i]: int((seg.labels == i).sum()) for i in sorted(seg.names)},
        run_id,
    )
