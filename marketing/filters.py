"""The customer filter language over `marts.mart_customer_profile`: facets, tags (all-of /
any-of / none-of), score ranges, watchlists and a name search. One implementation for the
profile service's list, facets and export and for audiences, so an audience is stored as the
very query parameters a user types in the panel's URL (`from_params` / `to_params`).

Identifiers come from the fixed tables below, values are always bound parameters."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

PROFILE = "marts.mart_customer_profile"
# Facets: query parameter -> column of the profile mart (any of the values given).
FACETS = {
    "customer_type": "customer_type",
    "industry": "industry",
    "region": "region",
    "city": "city",
    "lifecycle_stage": "lifecycle_stage",
    "value_tier": "value_tier",
    "rfm_segment": "rfm_segment",
    "segment": "segment_name",
    "owner": "owner_sales",
    "churn_band": "churn_band",
    "credit_grade": "credit_grade",
    "purchase_band": "purchase_band",
}
# Score ranges: query parameter prefix -> column (`<prefix>_min`, `<prefix>_max`, 0..1).
SCORES = {"churn": "churn_score", "credit": "credit_pd", "purchase": "purchase_score"}
WATCHLISTS = {"churn": "marts.mart_churn_watchlist", "credit": "marts.mart_credit_watchlist"}
# Tag parameters -> CustomerFilter attribute.
TAG_PARAMS = {"tag_all": "tags_all", "tag_any": "tags_any", "tag_none": "tags_none"}


class BadParameter(ValueError):
    """A filter parameter that is refused, naming it (the service answers 422 with it)."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass
class CustomerFilter:
    """Which customers: every condition given must hold (facet values and tag_any are any-of)."""

    facets: dict[str, list[str]] = field(default_factory=dict)
    tags_all: list[str] = field(default_factory=list)
    tags_any: list[str] = field(default_factory=list)
    tags_none: list[str] = field(default_factory=list)
    score_ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    watchlist: str | None = None
    q: str | None = None  # name or CID contains

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CustomerFilter:
        """A filter from query parameters as the API names them (`customer_type`, `tag_all`,
        `churn_min`, `watchlist`, `q`, ...); a value may be one item or a list. Unknown
        parameters and malformed scores are refused (BadParameter); whether facet values and
        tags exist is `validate_filter`'s business (it needs the warehouse)."""
        known = {*FACETS, *TAG_PARAMS, "watchlist", "q"}
        known |= {f"{p}_{b}" for p in SCORES for b in ("min", "max")}
        unknown = sorted(set(params) - known)
        if unknown:
            raise BadParameter(unknown[0], f"unknown filter parameter(s): {unknown}")

        def many(name: str) -> list[str]:
            value = params.get(name)
            if value is None or value == "":
                return []
            values = list(value) if isinstance(value, list | tuple) else [value]
            return [str(v) for v in values if v not in (None, "")]

        def one(name: str) -> str | None:
            values = many(name)
            if len(values) > 1:
                raise BadParameter(name, f"{name} takes one value")
            return values[0] if values else None

        def score(name: str) -> float | None:
            value = one(name)
            if value is None:
                return None
            try:
                return float(value)
            except ValueError:
                raise BadParameter(name, f"{name} is a number between 0 and 1") from None

        ranges = {
            p: (score(f"{p}_min"), score(f"{p}_max"))
            for p in SCORES
        }  # fmt: skip
        return cls(
            facets={k: many(k) for k in FACETS if many(k)},
            **{attr: many(name) for name, attr in TAG_PARAMS.items()},
            score_ranges={p: r for p, r in ranges.items() if r != (None, None)},
            watchlist=one("watchlist"),
            q=one("q"),
        )

    def to_params(self) -> dict[str, Any]:
        """The query parameters of this filter (lists for facets and tags, numbers for scores),
        in a stable order: `from_params(to_params())` gives the same filter back, and the
        dict is what `activation.audiences.filter` stores."""
        out: dict[str, Any] = {}
        for key in FACETS:
            if self.facets.get(key):
                out[key] = list(self.facets[key])
        for name, attr in TAG_PARAMS.items():
            if getattr(self, attr):
                out[name] = list(getattr(self, attr))
        for prefix in SCORES:
            low, high = self.score_ranges.get(prefix, (None, None))
            if low is not None:
                out[f"{prefix}_min"] = low
            if high is not None:
                out[f"{prefix}_max"] = high
        if self.watchlist:
            out["watchlist"] = self.watchlist
        if self.q:
            out["q"] = self.q
        return out


# --- facet values, cached for a minute (refreshed once before refusing a value) -------------

_facet_cache: dict[str, tuple[float, set[str]]] = {}
FACET_TTL_S = 60.0


def known_values(conn: psycopg.Connection, key: str, *, refresh: bool = False) -> set[str]:
    """The values a facet (or, for key "tag", the tag catalogue) holds now."""
    hit = _facet_cache.get(key)
    if hit and not refresh and time.monotonic() - hit[0] < FACET_TTL_S:
        return hit[1]
    if key == "tag":
        rows = conn.execute("select tag_code from marts.mart_tag_catalog").fetchall()
    else:
        column = sql.Identifier(FACETS[key])
        rows = conn.execute(
            sql.SQL(
                "select distinct {c} from marts.mart_customer_profile where {c} is not null"
            ).format(c=column)
        ).fetchall()
    values = {str(r[0]) for r in rows}
    _facet_cache[key] = (time.monotonic(), values)
    return values


def validate_filter(conn: psycopg.Connection, flt: CustomerFilter) -> None:
    """Unknown facet values and tag codes are refused, naming the parameter."""
    unknown_facets = sorted(set(flt.facets) - set(FACETS))
    if unknown_facets:
        raise BadParameter(unknown_facets[0], f"unknown facet(s): {unknown_facets}")
    checks = [(k, k, v) for k, v in flt.facets.items()]
    checks += [(name, "tag", getattr(flt, attr)) for name, attr in TAG_PARAMS.items()]
    for parameter, key, values in checks:
        if not values:
            continue
        unknown = set(values) - known_values(conn, key)
        if unknown:
            unknown -= known_values(conn, key, refresh=True)
        if unknown:
            raise BadParameter(parameter, f"unknown {parameter} value(s): {sorted(unknown)}")
    for prefix, (low, high) in flt.score_ranges.items():
        if prefix not in SCORES:
            raise BadParameter(f"{prefix}_min", f"score ranges are one of {sorted(SCORES)}")
        for bound, value in (("min", low), ("max", high)):
            if value is not None and not 0.0 <= value <= 1.0:
                raise BadParameter(f"{prefix}_{bound}", f"{prefix}_{bound} is between 0 and 1")
    if flt.watchlist is not None and flt.watchlist not in WATCHLISTS:
        raise BadParameter("watchlist", f"watchlist is one of {sorted(WATCHLISTS)}")


def where_clause(flt: CustomerFilter) -> tuple[sql.Composable, list[Any]]:
    """The filter as a WHERE condition over the profile mart's columns and its parameters."""
    parts: list[sql.Composable] = [sql.SQL("true")]
    params: list[Any] = []
    for key, values in flt.facets.items():
        if values:
            parts.append(sql.SQL("{} = any(%s)").format(sql.Identifier(FACETS[key])))
            params.append(list(values))
    tags = sql.SQL("coalesce(string_to_array(current_tags, ','), '{}')")
    if flt.tags_all:
        parts.append(sql.SQL("{} @> %s::text[]").format(tags))
        params.append(flt.tags_all)
    if flt.tags_any:
        parts.append(sql.SQL("{} && %s::text[]").format(tags))
        params.append(flt.tags_any)
    if flt.tags_none:
        parts.append(sql.SQL("not ({} && %s::text[])").format(tags))
        params.append(flt.tags_none)
    for prefix, (low, high) in flt.score_ranges.items():
        column = sql.Identifier(SCORES[prefix])
        if low is not None:
            parts.append(sql.SQL("{} >= %s").format(column))
            params.append(low)
        if high is not None:
            parts.append(sql.SQL("{} <= %s").format(column))
            params.append(high)
    if flt.watchlist:
        parts.append(sql.Identifier(f"on_{flt.watchlist}_watchlist"))
    if flt.q:
        parts.append(sql.SQL("(customer_name ilike %s or cid ilike %s)"))
        like = "%" + flt.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params += [like, like]
    return sql.SQL(" and ").join(parts), params
