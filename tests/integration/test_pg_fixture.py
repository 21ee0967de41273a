import psycopg


def test_cluster_has_utf8_locale_so_trigrams_see_chinese(fresh_db):
    with psycopg.connect(fresh_db) as conn:
        conn.execute("create extension if not exists pg_trgm")
        (sim,) = conn.execute(
            "select similarity('杭州煜涵新材料有限公司', '煜涵新材料(杭州)有限公司')"
        ).fetchone()
    assert sim > 0.3


def test_copy_columns_round_trips_awkward_text_nulls_and_floats(fresh_db):
    import numpy as np
    from psycopg import sql

    from portrait import db

    texts = ["plain", "tab\there", "new\nline", "back\\slash \\N", None, "客户"]
    floats = np.array([0.1, 1 / 3, -2.5e-300, 1e300, 0.0, 7.0])
    with psycopg.connect(fresh_db) as conn:
        conn.execute("create table t (s text, f double precision)")
        assert db.copy_columns(conn, sql.Identifier("t"), {"s": texts, "f": floats}) == 6
        back = conn.execute("select s, f from t").fetchall()
    assert [r[0] for r in back] == texts
    assert [r[1] for r in back] == floats.tolist()
