import psycopg


def test_cluster_has_utf8_locale_so_trigrams_see_chinese(fresh_db):
    with psycopg.connect(fresh_db) as conn:
        conn.execute("create extension if not exists pg_trgm")
        (sim,) = conn.execute(
            "select similarity('杭州煜涵新材料有限公司', '煜涵新材料(杭州)有限公司')"
        ).fetchone()
    assert sim > 0.3
