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


def test_scoring_reads_the_same_matrix_as_training(fresh_db):
    """snapshot_chunks (COPY, daily scoring) and to_model_matrix (training) agree on every
    column type the features carry: numbers, nulls, booleans and categorical text."""
    import datetime as dt

    import numpy as np

    from models_ml import data

    day = dt.date(2026, 6, 30)
    with psycopg.connect(fresh_db) as conn:
        conn.execute("create schema if not exists features")  # the migration made it
        conn.execute("create table features.customer_labels (cid text, as_of_date date)")
        conn.execute(
            "create table features.customer_features (cid text, as_of_date date, "
            "orders_365d integer, revenue_cny_365d numeric(18, 2), is_deregistered boolean, "
            "customer_type text)"
        )
        conn.execute(
            "insert into features.customer_features values "
            "('A', %(d)s, 3, 1200.50, false, '制造客户'), ('B', %(d)s, null, null, true, null), "
            "('C', %(d)s, 0, 0, null, '渠道商')",
            {"d": day},
        )
        columns = ["orders_365d", "revenue_cny_365d", "is_deregistered", "customer_type"]
        training = data.to_model_matrix(
            data.snapshot_frame(conn, day).set_index("cid"), columns
        ).sort_index()
        chunks = list(data.snapshot_chunks(conn, day, columns, chunk_rows=2))
    cids = np.concatenate([c for c, _ in chunks])
    scoring = np.vstack([m for _, m in chunks])[np.argsort(cids)]
    np.testing.assert_array_equal(scoring, training.to_numpy())
    assert scoring[:, 2].tolist()[:2] == [0.0, 1.0]  # booleans as 0/1, not missing
