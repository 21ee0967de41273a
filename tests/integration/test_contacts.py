"""Contacts as a second entity: every person record gets a person ID, the IDs agree with the
simulator's true persons, and every contact at a customer has a buying-centre role."""

import csv
import itertools
from collections import defaultdict

import psycopg
import pytest
from conftest import run_dbt as dbt
from conftest import service_env_for

from sources.loader import load_landing

pytestmark = pytest.mark.integration

CONTACTS = ["+customer_contacts", "+dim_customer", "--indirect-selection", "cautious"]


def pairwise_f1(truth: dict, predicted: dict) -> float:
    """Pairwise F1 of a predicted clustering against the truth over the records of both."""

    def pairs(labels: dict) -> set:
        groups = defaultdict(list)
        for key in truth.keys() & predicted.keys():
            groups[labels[key]].append(key)
        return {p for g in groups.values() for p in itertools.combinations(sorted(g), 2)}

    true_pairs, found = pairs(truth), pairs(predicted)
    hits = len(true_pairs & found)
    if not hits:
        return 0.0
    precision, recall = hits / len(found), hits / len(true_pairs)
    return 2 * precision * recall / (precision + recall)


def test_person_truth_names_every_person_record(tiny_world):
    """truth/persons.csv covers every record that names a person; a person works at one company."""

    def rows(name: str) -> list[dict]:
        with open(tiny_world / "truth" / name, encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    tables = {("crm", "contacts"), ("lab", "sample_requests"), ("service", "tickets"),
              ("erp", "customers")}  # fmt: skip
    company = {
        (r["source"], r["table"], r["record_key"]): r["company_id"] for r in rows("records.csv")
    }
    persons = {
        (r["source"], r["table"], r["record_key"]): r["person_id"] for r in rows("persons.csv")
    }
    assert set(persons) == {key for key in company if key[:2] in tables}
    employers = defaultdict(set)
    for key, person in persons.items():
        employers[person].add(company[key])
    assert all(len(c) == 1 for c in employers.values())


def test_contacts_resolve_to_persons_with_roles(fresh_db, tiny_world, tmp_path):
    load_landing(fresh_db, tiny_world / "landing", progress=False)
    dbt(["build", "--select", *CONTACTS], service_env_for(fresh_db, tmp_path / "local"))
    with open(tiny_world / "truth" / "persons.csv", encoding="utf-8") as fh:
        rows = csv.DictReader(fh)
        truth = {(r["source"], r["table"], r["record_key"]): r["person_id"] for r in rows}
    with psycopg.connect(fresh_db) as conn:
        predicted = {
            (system, table, key): pid
            for system, table, key, pid in conn.execute(
                "select source_system, source_table, source_record_id, person_id "
                "from identity.person_ids"
            )
        }
        roles = dict(
            conn.execute("select role, count(*) from marts.customer_contacts group by role")
        )
        unassigned = conn.execute(
            "select count(*) from identity.int_person_records_normalized as r "
            "left join identity.person_ids as p "
            "using (source_system, source_table, source_record_id) "
            "where p.person_id is null"
        ).fetchone()[0]
        counted = conn.execute(
            "select sum(n_contacts), (select count(*) from marts.customer_contacts) "
            "from marts.dim_customer"
        ).fetchone()
    assert unassigned == 0
    assert truth.keys() <= predicted.keys(), "a record naming a person has no person_id"
    assert pairwise_f1(truth, predicted) >= 0.95
    assert {"decision_maker", "rd_contact", "purchasing"} <= roles.keys(), roles
    assert counted[0] == counted[1]
