#!/usr/bin/env bash
# Developers only, before the first release: rebuild 0001 from the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f storage/migrations/versions/0001_initial_schema.py /tmp/devex-gen.db
.venv/bin/python - <<'PY'
from alembic import command
from storage.migrate import alembic_config
cfg = alembic_config("sqlite:////tmp/devex-gen.db")
command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
PY
sed -i 's/^down_revision = .*/down_revision = None/' storage/migrations/versions/0001_initial_schema.py
