"""The demo's staff accounts belong to the estate's own departments (a misspelt one was silently dropped)."""

import psycopg

from forewarn.cli_run import _demo_accounts


def test_the_demo_staff_sit_in_the_departments_the_estate_has(estate_db_url):
    tokens = _demo_accounts(estate_db_url, "rs-b1-water-low")
    assert {"demo-manager", "demo-agent", "demo-engineer"} <= set(tokens)
    with psycopg.connect(estate_db_url) as conn:
        departments = dict(conn.execute(
            "SELECT u.id, d.id FROM users u LEFT JOIN departments d ON d.id = u.department_id "
            "WHERE u.id LIKE 'demo-%'").fetchall())
    assert departments == {"demo-manager": None, "demo-agent": "customer_service", "demo-engineer": "engineering"}
