"""The practical limit of this machine: a bare FastAPI app, one INSERT or one primary-key SELECT per request.

Served like the service (uvicorn, one worker, sync endpoints in the thread pool, a psycopg pool of the
service's default size) on the same database:

    BENCH_PG_DSN=postgresql://postgres@127.0.0.1:5432/nrm_bench uvicorn bench.baseline_app:app

- POST /insert: one INSERT of a row the size of a case row (clear columns, a JSON document, two blobs).
- GET /cases/{id}: one SELECT of a generated case row by its primary key, returned as JSON.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

POOL_SIZE = 10
PAYLOAD = {"indicators": ["debt_bondage", "document_retention"], "needs": {"shelter_needed": True, "dependants": 0}}
PERSON_BLOB = os.urandom(420)
ACCOUNT_BLOB = os.urandom(900)

pool = ConnectionPool(os.environ["BENCH_PG_DSN"], min_size=POOL_SIZE, max_size=POOL_SIZE, open=True)
with pool.connection() as _conn:
    _conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_baseline (id uuid PRIMARY KEY, state varchar(40), created_at timestamptz, "
        "nationality varchar(10), region varchar(10), payload json, person_blob bytea, account_blob bytea)"
    )

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/insert", status_code=201)
def insert_row() -> dict[str, Any]:
    row_id = uuid.uuid4()
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO bench_baseline (id, state, created_at, nationality, region, payload, person_blob, "
            "account_blob) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (row_id, "referred", datetime.now(UTC), "NG", "FR-75", Jsonb(PAYLOAD), PERSON_BLOB, ACCOUNT_BLOB),
        )
    return {"id": str(row_id)}


@app.get("/cases/{case_id}")
def read_row(case_id: uuid.UUID) -> dict[str, Any]:
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT id, state, version, created_at, updated_at, nationality, region, gender, age_band, "
            "exploitation_forms, indicators, needs FROM cases WHERE id = %s",
            (case_id,),
        ).fetchone()
    if row is None:
        return {}
    names = ("id", "state", "version", "created_at", "updated_at", "nationality", "region", "gender", "age_band")
    names += ("exploitation_forms", "indicators", "needs")
    return {
        name: str(value) if isinstance(value, uuid.UUID | datetime) else value
        for name, value in zip(names, row, strict=True)
    }
