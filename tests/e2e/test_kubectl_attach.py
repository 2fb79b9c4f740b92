"""Attach through the HTTPS API against ``kubeactor up`` on Docker: real kubectl's ``run -i
--rm`` (a pod started with stdin open, attached, then deleted), ``attach -i`` to a running
``cat`` (which stays running when kubectl leaves) and ``run -it`` in a terminal."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.conftest import IMAGE
from tests.processes import KUBECTL
from tests.support import shell_in_terminal

pytestmark = pytest.mark.e2e


def test_run_i_rm_feeds_stdin_to_the_pod_and_deletes_it(cluster):
    ran = cluster.kubectl("run", "-i", "--rm", "--restart=Never", f"--image={IMAGE}", "reader",
                          "--", "sh", "-c", "read x; echo got $x", stdin="hello\n")
    assert ran.returncode == 0, ran.stderr
    assert "got hello" in ran.stdout
    assert 'pod "reader" deleted' in ran.stdout + ran.stderr
    gone = cluster.kubectl("wait", "--for=delete", "pod/reader", "--timeout=60s")
    assert gone.returncode == 0, gone.stderr


def test_run_i_closes_a_stdin_once_containers_stdin_at_the_end_of_input(cluster):
    ran = cluster.kubectl("run", "-i", "--rm", "--restart=Never", f"--image={IMAGE}", "counter",
                          "--", "wc", "-l", stdin="a\nb\nc\n")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split()[:1] == ["3"]


def test_run_i_rm_exits_with_the_containers_code(cluster):
    ran = cluster.kubectl("run", "-i", "--rm", "--restart=Never", f"--image={IMAGE}", "failer",
                          "--", "sh", "-c", "read x; exit $x", stdin="3\n")
    assert ran.returncode == 3, ran.stderr


def test_attach_i_echoes_and_leaves_the_container_running(cluster):
    manifest = ("apiVersion: v1\nkind: Pod\nmetadata: {name: catter}\nspec:\n  containers:\n"
                f"  - {{name: cat, image: '{IMAGE}', command: [cat], stdin: true}}\n")
    made = cluster.kubectl("apply", "-f", "-", stdin=manifest)
    assert made.returncode == 0, made.stderr
    ready = cluster.kubectl("wait", "--for=condition=Ready", "pod/catter", "--timeout=60s")
    assert ready.returncode == 0, ready.stderr
    for word in (b"first", b"again"):  # the first leaving kept the container and its stdin
        assert _attached_echo(cluster, "catter", word + b"\n") == word + b"\n"
    assert _phase(cluster, "catter") == "Running"


def _attached_echo(cluster, pod: str, line: bytes) -> bytes:
    """What ``kubectl attach -i POD`` shows first of ``line`` written to it (then it is
    killed, as a user's Ctrl-C)."""
    with subprocess.Popen([KUBECTL, "--kubeconfig", str(cluster.kubeconfig), "attach", "-i",
                           pod], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as process:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(line)
        process.stdin.flush()
        echoed = process.stdout.readline()
        process.kill()
    return echoed


def _phase(cluster, name: str) -> str:
    return cluster.kubectl("get", "pod", name, "-o", "jsonpath={.status.phase}").stdout


def test_run_it_gives_a_shell_in_a_terminal_of_kubectls_size(cluster):
    code, seen = shell_in_terminal([KUBECTL, "--kubeconfig", str(cluster.kubeconfig), "run",
                                    "-it", "--rm", "--restart=Never", f"--image={IMAGE}",
                                    "term", "--", "sh"],
                                   b"tty; stty size; echo $((6 * 7)); exit 0\n", b"\n42",
                                   size=(37, 111))
    assert code == 0
    assert b"/dev/pts/" in seen
    assert b"37 111" in seen  # kubectl's resize went to the container's terminal
