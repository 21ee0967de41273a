"""The profile service's rules that need no warehouse: roles, fields, sorting, cursors, hashes."""

from __future__ import annotations

import pytest

from portrait.service import auth, queries
from portrait.service.auth import Principal
from portrait.service.queries import BadParameter
from portrait.service.roles import get_role


def who(role: str, owner: str | None = None) -> Principal:
    return Principal("user", f"u_{role}", get_role(role), owner)


def test_fields_are_those_the_role_may_see():
    assert "credit_pd" in queries.parse_fields(who("credit"), "credit_pd")
    with pytest.raises(BadParameter) as err:
        queries.parse_fields(who("sales"), "credit_pd")
    assert err.value.parameter == "fields"
    with pytest.raises(BadParameter):
        queries.parse_fields(who("analyst"), "cid; drop table x")
    assert queries.parse_fields(who("analyst"), None)[0] == "cid"
    assert "credit_grade" not in queries.parse_fields(who("service"), None)


@pytest.mark.parametrize("sort", ["password", "-customer_name", "churn_score desc", ""])
def test_only_known_sorts(sort):
    if sort == "":
        assert queries._sort(sort) == ("cid", False, False)
        return
    with pytest.raises(BadParameter):
        queries._sort(sort)


def test_cursors_round_trip_and_foreign_ones_are_refused():
    c = queries.encode_cursor(-0.42, "CID1")
    assert queries.decode_cursor(c, numeric=True) == (-0.42, "CID1")
    assert queries.decode_cursor(queries.encode_cursor("abc", "CID2"), numeric=False) == (
        "abc",
        "CID2",
    )
    for bad in ["not-a-cursor", queries.encode_cursor("x", "CID1"), "W10", "%%%"]:
        with pytest.raises(BadParameter):
            queries.decode_cursor(bad, numeric=True)


def test_passwords_are_argon2_and_short_ones_refused():
    h = auth.hash_password("correct horse battery")
    assert h.startswith("$argon2id$")
    assert auth.verify_password(h, "correct horse battery")
    assert not auth.verify_password(h, "wrong horse battery")
    assert not auth.verify_password("not a hash", "x")
    with pytest.raises(ValueError):
        auth.hash_password("short")


@pytest.mark.parametrize("contacts", ["none", "masked", "own", "all"])
def test_the_profile_statement_stays_short_enough_for_psycopgs_cache(contacts):
    # psycopg caches the parsing of statements up to 4,096 characters long
    # (psycopg._queries.MAX_CACHED_STATEMENT_LENGTH); a longer one is parsed on every request
    from psycopg import _queries

    assert len(queries.profile_sql(contacts)) <= _queries.MAX_CACHED_STATEMENT_LENGTH
