"""`tocsin report sla` and `tocsin postmortem edit|export` as a person runs them (a subprocess, $EDITOR a script)."""

from __future__ import annotations

import stat
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store import lifecycle
from store.db import Database
from store.domain.incident import ActionSource
from store.sql import postmortems as postmortems_sql
from tests.support.api import seed_incident
from tests.support.server import run_cli

CONFIG = "routes:\n  - id: everything\n    sla: {ack: 5m, resolve: 1h}\n"


def config_file(tmp_path: Path) -> str:
    path = tmp_path / "tocsin.yml"
    path.write_text(CONFIG)
    return str(path)


def editor(tmp_path: Path, script: str) -> str:
    path = tmp_path / "editor.sh"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


async def test_report_sla_prints_a_table_csv_and_json(database_url: str, db: Database, tmp_path: Path) -> None:
    at = datetime.now(UTC) - timedelta(days=1)
    await seed_incident(db, route_id="everything", status="resolved", created_at=at, triggered_at=at,
                        acknowledged_at=at + timedelta(minutes=2), resolved_at=at + timedelta(hours=2))
    env = {"TOCSIN_CONFIG": config_file(tmp_path)}
    table = run_cli(database_url, "report", "sla", "--since", "30d", **env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("SLA report ") and lines[0].endswith("by route")
    assert lines[1].split()[:5] == ["group", "incidents", "ack", "%", "resolve"]
    assert lines[2].split()[:5] == ["everything", "1", "100.0", "0.0", "1"]
    csv_out = run_cli(database_url, "report", "sla", "--format", "csv", "--group-by", "severity", **env)
    assert csv_out.stdout.splitlines()[1].startswith("group,warning,1,1,0,100.0,0,1,0.0,1,")
    bad = run_cli(database_url, "report", "sla", "--since", "soon", **env)
    assert bad.returncode == 1 and bad.stderr.startswith("tocsin: since: ")


async def test_postmortem_edit_saves_what_the_editor_wrote(database_url: str, db: Database, tmp_path: Path) -> None:
    incident_id = await seed_incident(db, status="triggered", title="Disk full")
    env = {"TOCSIN_CONFIG": config_file(tmp_path)}
    still_open = run_cli(database_url, "postmortem", "edit", str(incident_id), **env, EDITOR="true")
    assert still_open.returncode == 1 and "is triggered" in still_open.stderr
    await lifecycle.resolve(db, incident_id, "alice", ActionSource.API)
    script = editor(tmp_path, 'printf "\\n## Action items\\n\\n- [ ] Add a disk alert @carol\\n" >> "$1"')
    edited = run_cli(database_url, "postmortem", "edit", str(incident_id), "--publish", "--by", "dana", **env,
                     EDITOR=script)
    assert edited.returncode == 0, edited.stderr
    assert edited.stdout.strip() == f"post-mortem of #{incident_id} saved: published, version 1"
    async with db.connection() as conn:
        stored = await postmortems_sql.get(conn, incident_id)
        source = await conn.fetchval("SELECT source FROM incident_events WHERE kind = 'postmortem_published'")
    assert stored is not None and stored.updated_by == "dana" and source == "cli"
    assert stored.markdown.startswith(f"# Post-mortem: #{incident_id} Disk full")
    exported = run_cli(database_url, "postmortem", "export", str(incident_id), **env)
    assert exported.stdout == stored.markdown
    unchanged = run_cli(database_url, "postmortem", "edit", str(incident_id), **env, EDITOR="true")
    assert unchanged.stdout.strip() == f"post-mortem of #{incident_id} unchanged (version 1)"


COLLEAGUE = """
import asyncio, sys
import asyncpg

async def main(url, incident_id):
    conn = await asyncpg.connect(url)
    await conn.execute("INSERT INTO postmortems VALUES ($1, 'draft', '# theirs', 1, 'erin', 'erin', now(), now())",
                       incident_id)
    await conn.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def read_and_remove(path: Path) -> str:
    text = path.read_text()
    path.unlink()
    return text


async def test_a_stale_edit_keeps_the_text_and_saves_nothing(database_url: str, db: Database, tmp_path: Path) -> None:
    incident_id = await seed_incident(db, status="resolved", title="Queue stuck", resolved_at=datetime.now(UTC))
    colleague = tmp_path / "colleague.py"
    colleague.write_text(COLLEAGUE)
    # while the editor is open, a colleague saves version 1
    script = editor(tmp_path, f'echo "# mine" > "$1"\n"{sys.executable}" {colleague} "{database_url}" {incident_id}')
    result = run_cli(database_url, "postmortem", "edit", str(incident_id), TOCSIN_CONFIG=config_file(tmp_path),
                     EDITOR=script)
    assert result.returncode == 1
    assert "changed since you read it: version 1 was saved by erin" in result.stderr
    kept = Path(result.stderr.rsplit("your text is in ", 1)[1].rstrip(")\n"))
    assert read_and_remove(kept) == "# mine\n"
    async with db.connection() as conn:
        assert (await postmortems_sql.get(conn, incident_id)).markdown == "# theirs"
