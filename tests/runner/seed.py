"""Test data for the round trips: several tables and types, a few MiB, and row snapshots.

Role: :func:`seed` creates a database and fills it; :func:`snapshot` reads every row of every
seeded table in key order; :func:`mutate` changes rows so a restore has something to undo.
Guarantees: the same data for every run (no randomness); text with quotes, tabs, newlines
and non-ASCII, binary columns, NULLs, JSON, dates and decimals.
"""

from __future__ import annotations

from tests.runner.servers import Database

__all__ = ["TABLES", "mutate", "seed", "snapshot"]

TABLES = ("customers", "orders", "notes")
CUSTOMERS = 20_000
ORDERS = 40_000

_PG = f"""
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, email text,
  balance numeric(12, 2), active boolean, created timestamptz, meta jsonb);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id integer REFERENCES customers (id),
  amount double precision, note text, payload bytea, placed date);
CREATE TABLE notes (id serial PRIMARY KEY, body text);
INSERT INTO customers SELECT g, 'name ' || g, CASE WHEN g % 10 = 0 THEN NULL
  ELSE 'u' || g || '@example.com' END, g * 1.25, g % 2 = 0,
  timestamptz '2025-01-01 00:00:00+00' + g * interval '1 minute',
  jsonb_build_object('k', g, 's', md5(g::text))
  FROM generate_series(1, {CUSTOMERS}) g;
INSERT INTO orders SELECT g, 1 + g % {CUSTOMERS}, g / 7.0, repeat(md5(g::text), 3),
  decode(md5(g::text) || md5((g + 1)::text), 'hex'), date '2024-01-01' + g % 365
  FROM generate_series(1, {ORDERS}) g;
INSERT INTO notes (body) VALUES ('it''s quoted'), (E'tab\\there\\nnew line'), ('Grüße, 東京'),
  (NULL), ('back\\slash');
"""

_MARIA = f"""
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(100),
  balance DECIMAL(12, 2), active TINYINT(1), created DATETIME, meta JSON) ENGINE=InnoDB;
CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT, amount DOUBLE, note TEXT,
  payload BLOB, placed DATE, FOREIGN KEY (customer_id) REFERENCES customers (id))
  ENGINE=InnoDB;
CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT) ENGINE=InnoDB;
INSERT INTO customers SELECT seq, CONCAT('name ', seq), IF(seq % 10 = 0, NULL,
  CONCAT('u', seq, '@example.com')), seq * 1.25, seq % 2 = 0,
  '2025-01-01 00:00:00' + INTERVAL seq MINUTE, JSON_OBJECT('k', seq, 's', MD5(seq))
  FROM seq_1_to_{CUSTOMERS};
INSERT INTO orders SELECT seq, 1 + seq % {CUSTOMERS}, seq / 7.0, REPEAT(MD5(seq), 3),
  UNHEX(CONCAT(MD5(seq), MD5(seq + 1))), '2024-01-01' + INTERVAL (seq % 365) DAY
  FROM seq_1_to_{ORDERS};
INSERT INTO notes (body) VALUES ('it''s quoted'), ('tab\\there\\nnew line'), ('Grüße, 東京'),
  (NULL), ('back\\\\slash');
"""


def seed(db: Database, name: str) -> None:
    """Create database ``name`` and fill the seeded tables."""
    if db.db_type == "postgresql":
        db.sql(f'CREATE DATABASE "{name}";', "postgres")
        db.sql(_PG, name)
    else:
        db.sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4;")
        db.sql(_MARIA, name)


def snapshot(db: Database, name: str) -> dict[str, str]:
    """Every row of every seeded table, in primary-key order, as the client prints them."""
    return {t: db.sql(f"SELECT * FROM {t} ORDER BY id;", name) for t in TABLES}


def mutate(db: Database, name: str) -> None:
    """Delete, update and insert rows in every table."""
    db.sql(
        "DELETE FROM orders WHERE id % 3 = 0; UPDATE customers SET name = 'changed' "
        "WHERE id % 5 = 0; INSERT INTO notes (body) VALUES ('added after the backup');",
        name,
    )
