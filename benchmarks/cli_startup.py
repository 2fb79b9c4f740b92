"""What a ``kubeactor`` command costs before it does anything: wall and CPU time of CLI
commands, each tree's side by side in one run.

    .venv/bin/python benchmarks/cli_startup.py [--runs N] [--python PYTHON ...]

Starts ``kubeactor up --runtime sim --nodes 1`` (this tree's), then runs each command
``--runs`` times with each ``--python`` (default: this venv's; give another tree's venv to
compare, e.g. ``/tmp/base/.venv/bin/python``: its editable install runs that tree's CLI),
the trees alternating at each run so that the machine's load falls alike on both:
``get pods --help`` (parsing only), ``get pods`` and ``get nodes`` against the cluster.
CPU is user + system of the command's process (``RUSAGE_CHILDREN``). Prints one JSON line
per python: the median wall and CPU milliseconds of each command, and what
``python -X importtime`` counts for ``get pods --help`` (ms, the imports alone).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import start

COMMANDS = {"help": ["get", "pods", "--help"], "get_pods": ["get", "pods"],
            "get_nodes": ["get", "nodes"]}


NOWHERE = Path(tempfile.gettempdir())
"""Where the commands run: not a tree's root, whose package ``-m`` would take first."""


def timed(python: str, words: list[str]) -> tuple[float, float]:
    """One command's wall and CPU milliseconds (it must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run([python, "-m", "bindings.cli", *words], check=True, cwd=NOWHERE,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall * 1000, cpu * 1000


def import_ms(python: str) -> float:
    """The imports of ``get pods --help``: the sum of ``-X importtime``'s top-level entries
    (the interpreter's own start included)."""
    done = subprocess.run([python, "-X", "importtime", "-m", "bindings.cli", *COMMANDS["help"]],
                          capture_output=True, text=True, timeout=120, check=True,
                          cwd=NOWHERE)
    tops = re.findall(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", done.stderr, re.MULTILINE)
    return sum(int(us) for us, _ in tops) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--python", action="append", help="a tree's venv python (repeat)")
    args = parser.parse_args()
    pythons = args.python or [sys.executable]
    with tempfile.TemporaryDirectory(prefix="cli-startup-") as workdir:
        data = Path(workdir) / "up"
        up = start([sys.executable, "-m", "bindings.cli", "up", "--data-dir", str(data),
                    "--runtime", "sim", "--nodes", "1", "--https-listen", "127.0.0.1:0"])
        try:
            where = ["--kubeconfig", str(data / "kubeconfig")]
            samples: dict[str, dict[str, list[tuple[float, float]]]] = {
                python: {name: [] for name in COMMANDS} for python in pythons}
            imports: dict[str, list[float]] = {python: [] for python in pythons}
            for _ in range(args.runs):
                for python in pythons:
                    for name, words in COMMANDS.items():
                        samples[python][name].append(timed(python, [*where, *words]))
                    imports[python].append(import_ms(python))
        finally:
            up.terminate()
            up.wait(60)
    for python in pythons:
        row: dict[str, object] = {"python": python, "runs": args.runs,
                                  "help_imports_ms": round(statistics.median(imports[python]))}
        for name, taken in samples[python].items():
            row[f"{name}_wall_ms"] = round(statistics.median(w for w, _ in taken))
            row[f"{name}_cpu_ms"] = round(statistics.median(c for _, c in taken))
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
