"""`tocsin token create|list|revoke` as a user runs them, against this test's database."""

from __future__ import annotations

import json

from store.db import Database
from store.tokens import authenticate
from tests.support.server import run_cli


async def test_create_prints_only_the_token_and_stores_only_its_hash(database_url: str, db: Database) -> None:
    done = run_cli(database_url, "token", "create", "--name", "ci", "--role", "responder")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tocsin_")
    token = lines[0]
    async with db.connection() as conn:
        stored = await conn.fetchrow("SELECT * FROM api_tokens WHERE name = 'ci'")
    assert token not in json.dumps({k: str(v) for k, v in stored.items()})
    principal = await authenticate(db, token)
    assert principal is not None and principal.actor == "token:ci" and principal.role == "responder"


async def test_json_output_user_list_and_revoke(database_url: str, db: Database) -> None:
    args = ("token", "create", "--name", "alice-cli", "--role", "admin", "--user", "alice", "--json")
    done = run_cli(database_url, *args)
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["name"] == "alice-cli" and created["role"] == "admin" and created["token"].startswith("tocsin_")
    assert (await authenticate(db, created["token"])).actor == "alice"
    listed = run_cli(database_url, "token", "list")
    assert listed.returncode == 0 and "alice-cli\tadmin\talice\tactive" in listed.stdout
    assert created["token"] not in listed.stdout
    revoked = run_cli(database_url, "token", "revoke", "alice-cli")
    assert revoked.returncode == 0, revoked.stderr
    assert await authenticate(db, created["token"]) is None
    assert "revoked" in run_cli(database_url, "token", "list").stdout


async def test_mistakes_exit_1_with_a_clear_line(database_url: str) -> None:
    assert run_cli(database_url, "token", "create", "--name", "dup", "--role", "viewer").returncode == 0
    duplicate = run_cli(database_url, "token", "create", "--name", "dup", "--role", "viewer")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr and duplicate.stdout == ""
    bad_name = run_cli(database_url, "token", "create", "--name", "has space", "--role", "viewer")
    assert bad_name.returncode == 1 and "is no token name" in bad_name.stderr
    bad_role = run_cli(database_url, "token", "create", "--name", "x", "--role", "root")
    assert bad_role.returncode == 2 and "--role" in bad_role.stderr
    unknown = run_cli(database_url, "token", "revoke", "nobody")
    assert unknown.returncode == 1 and "nobody" in unknown.stderr
