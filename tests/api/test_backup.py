"""scripts/backup and scripts/restore: a backup restored into a fresh
database holds the same rows in every table."""

import os
import subprocess
import uuid

import psycopg2
import pytest

from conftest import DATABASE_URL, TOP

BACKUP = os.path.join(TOP, "scripts", "backup")
RESTORE = os.path.join(TOP, "scripts", "restore")


def run(*args, **env):
    e = dict(os.environ)
    e.update(env)
    return subprocess.run(list(args), capture_output=True, text=True,
                          env=e, timeout=300)


def table_counts(dsn):
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT c.relname FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = 'public' "
                        "AND c.relkind IN ('r', 'p') ORDER BY 1")
            names = [r[0] for r in cur.fetchall()]
            out = {}
            for name in names:
                cur.execute('SELECT count(*) FROM ONLY "%s"' % name)
                out[name] = cur.fetchone()[0]
            return out
    finally:
        conn.close()


@pytest.fixture
def restored_name():
    name = "apiscribe_restore_test_%s" % uuid.uuid4().hex[:8]
    yield name
    # The cluster's superuser owns the right to drop it.
    subprocess.run(["bash", "-c", ". '%s/scripts/lib.sh' && psql_admin -d "
                    "postgres -c 'DROP DATABASE IF EXISTS %s'" % (TOP, name)],
                   capture_output=True, env=dict(os.environ))


def test_backup_then_restore_keeps_every_row(user, db, tmp_path,
                                             restored_name):
    # Something in most tables: an account, its ledger, an endpoint.
    user.post("/api/endpoints", json={"name": "b",
                                      "destinationUrl": "http://127.0.0.1:9"})
    dump = tmp_path / "apiscribe.dump"
    r = run(BACKUP, str(dump), DATABASE_URL=DATABASE_URL)
    assert r.returncode == 0, r.stderr
    assert dump.stat().st_size > 0
    assert oct(dump.stat().st_mode & 0o777) == "0o600"
    before = table_counts(DATABASE_URL)

    r = run(RESTORE, str(dump), restored_name, DATABASE_URL=DATABASE_URL)
    assert r.returncode == 0, r.stdout + r.stderr
    after = table_counts(DATABASE_URL + " dbname=" + restored_name)

    assert before["users"] > 0 and before["credit_transactions"] > 0
    assert set(after) == set(before)
    # Rows written by the running server after the backup may only add.
    for name in before:
        if name in ("audit_logs", "sessions", "rate_counters", "jobs",
                    "alert_events", "mail_outbox", "notifications"):
            continue
        assert after[name] == before[name], name
    mig = psycopg2.connect(DATABASE_URL + " dbname=" + restored_name)
    try:
        with mig.cursor() as cur:
            cur.execute("SELECT version FROM schema_migrations "
                        "ORDER BY 1")
            assert ("006_ops",) in cur.fetchall()
    finally:
        mig.close()


def test_restore_refuses_an_existing_database(tmp_path):
    dump = tmp_path / "a.dump"
    assert run(BACKUP, str(dump), DATABASE_URL=DATABASE_URL).returncode == 0
    r = run(RESTORE, str(dump), "apiscribe", DATABASE_URL=DATABASE_URL)
    assert r.returncode != 0
    assert "exists already" in r.stderr


def test_restore_refuses_a_file_that_is_no_dump(tmp_path, restored_name):
    bad = tmp_path / "bad.dump"
    bad.write_text("not a dump")
    r = run(RESTORE, str(bad), restored_name, DATABASE_URL=DATABASE_URL)
    assert r.returncode != 0
    assert "not a pg_dump archive" in r.stderr


def test_restore_refuses_a_bad_database_name(tmp_path):
    dump = tmp_path / "a.dump"
    assert run(BACKUP, str(dump), DATABASE_URL=DATABASE_URL).returncode == 0
    r = run(RESTORE, str(dump), "x; DROP DATABASE apiscribe",
            DATABASE_URL=DATABASE_URL)
    assert r.returncode != 0
    assert "NAME must be" in r.stderr
