"""benchmarks/run_all.py re-measures every committed result the README table or a notebook reads."""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import char_gpt  # noqa: E402
import report  # noqa: E402
import run_all  # noqa: E402


def produced_by_run_all() -> set[str]:
    """The result names (benchmarks/results/<name>.json) that run_all's parts write."""
    names = {"notebooks"}
    for command in run_all.SCRIPTS.values():
        script, *args = command.split()
        if script == "char_gpt.py":
            recipe = args[args.index("--recipe") + 1] if "--recipe" in args else "char"
            names.add(char_gpt.RECIPES[recipe]["out"].stem)
        else:
            names.add(Path(script).stem)
    return names


def read_by_notebooks_and_package() -> set[str]:
    pattern = re.compile(r'load_benchmark\(\\?"([a-z_0-9]+)')
    files = [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("course_utils/**/*.py"), *ROOT.glob("scripts/*.py")]
    return {name for path in files for name in pattern.findall(path.read_text(encoding="utf-8"))}


NOT_BENCHMARKS = {"run_all.py", "report.py", "equal_time.py"}   # the suite itself, and a module benchmarks import


def test_every_result_the_course_reads_is_re_measured_by_run_all():
    produced = produced_by_run_all()
    for script in (ROOT / "benchmarks").glob("*.py"):
        assert script.name in NOT_BENCHMARKS or any(
            c.split()[0] == script.name for c in run_all.SCRIPTS.values()), f"{script.name} is not a run_all part"
    missing = (set(report.NAMES) | read_by_notebooks_and_package()) - produced
    assert not missing, f"read by the README table or a notebook but written by no run_all part: {sorted(missing)}"
    for name in produced:  # and each of them is committed
        assert (ROOT / "benchmarks" / "results" / f"{name}.json").exists() or name == "notebooks", name
    assert json.loads((ROOT / "benchmarks" / "results" / "notebooks.json").read_text())["notebooks"]


def test_slowest_cells_reads_pytest_durations_of_nbval_cells():
    output = ("============ slowest 3 durations ============\n"
              "51.50s call     notebooks/05_gpt_language_model.ipynb::Cell 39\n"
              "1.36s call     notebooks/05_gpt_language_model.ipynb::Cell 0\n"
              "1.20s setup    notebooks/05_gpt_language_model.ipynb::Cell 0\n"
              "(1 durations < 1s hidden.)\n")
    assert run_all.slowest_cells(output) == [{"cell": 39, "seconds": 51.5}, {"cell": 0, "seconds": 1.4}]
    assert run_all.slowest_cells("44 passed in 7.09s") == []
