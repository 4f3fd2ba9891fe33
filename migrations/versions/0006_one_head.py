"""one head: join the api-tokens branch and the delivery/escalation branch

Revision ID: 0006
Revises: 0002_api_tokens, 0005
Create Date: 2026-12-05

Until here the history had two heads, so a plain `alembic upgrade head` failed; `tocsin migrate` applies
`heads`. From this revision on the history is one line (tests/unit/test_migrations.py keeps it so), and
`alembic upgrade head` is the same as `tocsin migrate`.
"""

revision = "0006"
down_revision = ("0002_api_tokens", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: this revision only joins the two branches."""


def downgrade() -> None:
    """Nothing to undo."""
