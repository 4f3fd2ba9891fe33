"""The migration history stays one line with one head, so `alembic upgrade head` works for operators."""

from alembic.script import ScriptDirectory

from store.migrate import alembic_config, expected_heads


def test_the_history_has_exactly_one_head() -> None:
    heads = expected_heads()
    assert len(heads) == 1, f"migrations have several heads {sorted(heads)}: point the newest at the other"


def test_every_revision_after_the_join_has_one_parent() -> None:
    script = ScriptDirectory.from_config(alembic_config(""))
    joined = {"0005", "0006"}  # the joins made before the history became one line
    for revision in script.walk_revisions():
        parents = revision.down_revision
        if isinstance(parents, tuple) and revision.revision not in joined:
            raise AssertionError(f"{revision.revision} joins branches {parents}: keep the history one line")
