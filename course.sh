#!/usr/bin/env bash
# One entry point for the course.
#   ./course.sh lab      set up (first time: a few minutes, ≈ 2.1 GB) and open the course in JupyterLab
#   ./course.sh test     set up the same way and run every test (unit tests on 2 workers, then every notebook
#                        under nbval, two at a time); ./course.sh test ARGS… runs pytest ARGS… instead (e.g. one test file)
#   ./course.sh setup    only set up
#   ./course.sh python … run the course's Python (.venv/bin/python …) — e.g. ./course.sh python -m course_utils.data list
# Re-running is fast: dependencies are reinstalled only when requirements.txt or pyproject.toml change.
#
# Settings (environment variables):
#   PYTHON=python3.12     the interpreter for the virtual environment (default: the first of python3,
#                         python3.14, python3.13, python3.12, python3.11 that is ≥ 3.11)
#   COURSE_TORCH=cuda     install PyTorch's CUDA build (several GB) instead of the CPU build (the default
#                         on Linux x86_64; macOS and other platforms always get PyPI's build). Remembered.
#   COURSE_TORCH_CPU_INDEX=URL   a mirror of PyTorch's CPU wheel index (default: download.pytorch.org/whl/cpu)
#   COURSE_VENV=.venv     where the virtual environment lives
set -euo pipefail
cd "$(dirname "$0")"

VENV="${COURSE_VENV:-.venv}"
MIN_PY_MINOR=11                                   # Python 3.11: the pinned numpy, matplotlib, ipykernel need it
TORCH_CPU_INDEX="${COURSE_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"

is_new_enough() {  # is_new_enough PYTHON → true if it runs and is ≥ 3.11
  "$1" -c "import sys; sys.exit(sys.version_info < (3, $MIN_PY_MINOR))" >/dev/null 2>&1
}

pick_python() {
  if [ -n "${PYTHON:-}" ]; then
    if is_new_enough "$PYTHON"; then echo "$PYTHON"; return; fi
    echo "✗ Python ≥ 3.$MIN_PY_MINOR is needed; PYTHON=$PYTHON is $("$PYTHON" --version 2>&1 || echo 'not runnable')." >&2
    echo "  Install Python 3.$MIN_PY_MINOR or newer and run e.g. PYTHON=python3.$MIN_PY_MINOR ./course.sh setup — or use Colab or conda (README)." >&2
    exit 1
  fi
  local candidate
  for candidate in python3 python3.14 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && is_new_enough "$candidate"; then echo "$candidate"; return; fi
  done
  echo "✗ Python ≥ 3.$MIN_PY_MINOR is needed (the pinned numpy, matplotlib and ipykernel require it);" \
       "found: $(python3 --version 2>&1 || echo 'no python3')." >&2
  echo "  Ubuntu 22.04: sudo apt-get install python3.11 python3.11-venv, then: PYTHON=python3.11 ./course.sh setup" >&2
  echo "  Elsewhere: install Python 3.$MIN_PY_MINOR+ (python.org, pyenv, Homebrew), or use Colab or conda (README)." >&2
  exit 1
}

venv_is_usable() {  # a venv whose python is ≥ 3.11 and has pip (python -m venv can leave one without pip)
  [ -x "$VENV/bin/python" ] && is_new_enough "$VENV/bin/python" && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

make_venv() {
  local py="$1"
  if [ -e "$VENV" ] && ! venv_is_usable; then
    if [ ! -f "$VENV/pyvenv.cfg" ]; then
      echo "✗ $VENV exists but is not a virtual environment; move it away or set COURSE_VENV." >&2
      exit 1
    fi
    echo "→ $VENV is half-built (no pip) or made with Python < 3.$MIN_PY_MINOR: rebuilding it"
    rm -rf "$VENV"
  fi
  if [ ! -e "$VENV" ]; then
    echo "→ creating virtual environment in $VENV ($("$py" --version 2>&1))"
    if ! "$py" -m venv "$VENV" || ! venv_is_usable; then
      rm -rf "$VENV"
      local minor
      minor="$("$py" -c 'import sys; print(sys.version_info[1])')"
      echo "✗ creating the virtual environment failed. On Debian/Ubuntu: sudo apt-get install python3.$minor-venv, then run this again." >&2
      exit 1
    fi
  fi
}

answers_within_3s() {  # answers_within_3s URL → true if it answers 2xx within 3 s (DNS included)
  "$VENV/bin/python" - "$1" <<'EOF'
import sys, threading, urllib.request
answer = []
def fetch():
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=3) as response:
            answer.append(200 <= response.status < 300)
    except Exception:
        answer.append(False)
thread = threading.Thread(target=fetch, daemon=True)
thread.start()
thread.join(3)
sys.exit(0 if answer[:1] == [True] else 1)
EOF
}

installed_torch() {
  "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null || true
}

torch_index_args() {  # torch_index_args cpu|cuda → pip's extra arguments (or nothing); says why on stderr
  if [ "$1" = cpu ] && [ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ]; then
    if answers_within_3s "$TORCH_CPU_INDEX/"; then
      echo "→ torch: the CPU build, from $TORCH_CPU_INDEX (the CUDA build: COURSE_TORCH=cuda ./course.sh setup)" >&2
      echo "--extra-index-url $TORCH_CPU_INDEX"
    else
      echo "→ torch: $TORCH_CPU_INDEX did not answer within 3 s; using only your pip configuration" >&2
      echo "  (a mirror or wheel folder with torch-…+cpu gives the CPU build; plain PyPI the CUDA build, several GB)" >&2
    fi
  elif [ "$1" = cuda ]; then
    echo "→ torch: PyPI's default build (on Linux x86_64 the CUDA build, with several GB of nvidia-* wheels)" >&2
  fi
}

setup() {
  local py
  py="$(pick_python)"
  make_venv "$py"

  local torch_file="$VENV/.course-torch"
  local torch_kind="${COURSE_TORCH:-$(cat "$torch_file" 2>/dev/null || echo cpu)}"
  case "$torch_kind" in
    cpu|cuda) ;;
    *) echo "✗ COURSE_TORCH must be cpu or cuda, got '$torch_kind'" >&2; exit 2 ;;
  esac

  local stamp="$VENV/.course-installed"
  local want
  want="$( (cat requirements.txt pyproject.toml; echo "torch=$torch_kind") \
           | "$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    local extra torch_now
    extra="$(torch_index_args "$torch_kind")"
    torch_now="$(installed_torch)"
    # torch==2.13.0 is satisfied by 2.13.0+cpu and the reverse: switching builds needs an uninstall first
    if { [ "$torch_kind" = cuda ] && [[ "$torch_now" == *+cpu ]]; } ||
       { [ -n "$extra" ] && [ -n "$torch_now" ] && [[ "$torch_now" != *+cpu ]]; }; then
      "$VENV/bin/python" -m pip uninstall -y torch
    fi
    echo "→ [1/2] updating pip"
    "$VENV/bin/python" -m pip install --upgrade pip
    echo "→ [2/2] installing the pinned packages of requirements.txt (≈ 515 MB of wheels, 2.1 GB installed)"
    # setuptools warns that folders named like the package could shadow it: here that folder IS the package.
    PYTHONWARNINGS="ignore:Editable installation" \
      "$VENV/bin/python" -m pip install $extra -r requirements.txt   # $extra unquoted: 0 or 2 words
    echo "$torch_kind" > "$torch_file"
    echo "$want" > "$stamp"
    echo "✓ dependencies installed (torch $(installed_torch))"
  fi
  install_jupyter_settings
  "$VENV/bin/python" -m course_utils.data cache   # builds git-ignored datasets once (PyPI), then verifies
}

install_jupyter_settings() {  # the course's JupyterLab settings (config/), copied into the venv
  mkdir -p "$VENV/share/jupyter/lab/settings" "$VENV/etc/jupyter"
  cp config/jupyterlab_overrides.json "$VENV/share/jupyter/lab/settings/overrides.json"
  cp config/jupyter_config.json "$VENV/etc/jupyter/jupyter_config.json"
}

notebooks_longest_first() {  # every notebook, the slowest first (seconds from benchmarks/results/notebooks.json)
  "$VENV/bin/python" - <<'PY'
import json, pathlib
known = json.loads(pathlib.Path("benchmarks/results/notebooks.json").read_text())["notebooks"]
paths = sorted(pathlib.Path("notebooks").glob("[0-9][0-9]_*.ipynb"))
print(" ".join(str(p) for p in sorted(paths, key=lambda p: -known.get(p.name, {}).get("seconds", 1e9))))
PY
}

run_every_test() {  # the unit tests on two workers, then the notebooks under nbval on two workers
  local failed=0
  echo "→ tests 1/2: unit tests (tests/, 2 workers)"
  "$VENV/bin/python" -m pytest tests -n 2 --dist worksteal || failed=1  # an idle worker takes over queued tests
  # Two notebooks at a time, each kernel with its usual two threads (so outputs are bit-identical to the
  # committed ones). Waiting OpenMP threads sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE): the course's
  # small models gain little from a second thread, so two kernels side by side finish in far less wall time.
  # Each notebook stays on one worker, in order (--dist loadfile); the slowest start first.
  echo "→ tests 2/2: every notebook under nbval (notebooks/, 2 workers)"
  OMP_WAIT_POLICY=PASSIVE "$VENV/bin/python" -m pytest -n 2 --dist loadfile --no-loadscope-reorder \
    $(notebooks_longest_first) || failed=1
  return "$failed"
}

main() {
  case "${1:-}" in
    setup)  setup ;;
    lab)    setup; shift
            echo "→ opening JupyterLab at the repository root, on notebooks/00_welcome_and_setup.ipynb"
            exec "$VENV/bin/jupyter" lab --ServerApp.root_dir="$PWD" \
                 --LabApp.default_url=/lab/tree/notebooks/00_welcome_and_setup.ipynb "$@" ;;
    test)   setup; shift; export PYTHONHASHSEED=0
            if [ $# -gt 0 ]; then exec "$VENV/bin/python" -m pytest "$@"; fi
            run_every_test ;;
    python) setup >&2; shift; exec "$VENV/bin/python" "$@" ;;
    *) echo "usage: ./course.sh lab [jupyter args] | test [pytest args] | setup | python [args]" >&2; exit 2 ;;
  esac
}

# tests/test_project_files.py sources this file to call single functions
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
