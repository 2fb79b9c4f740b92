"""Interactive exec through the HTTPS API against ``kubeactor up`` on Docker: real kubectl's
``exec -i`` with its input piped, ``exec -it`` in a terminal, ``cp`` both ways (tar through
exec), and the official Python client's ``stream`` writing stdin and reading the exit code."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as kube_client
from kubernetes import config as kube_config
from kubernetes.stream import stream as kube_stream

from tests.e2e.conftest import IMAGE
from tests.processes import KUBECTL
from tests.support import shell_in_terminal, until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def shell(cluster) -> str:
    made = cluster.kubectl("run", "shell", "--image", IMAGE, "--", "sleep", "3600")
    assert made.returncode == 0, made.stderr
    ready = cluster.kubectl("wait", "--for=condition=Ready", "pod/shell", "--timeout=60s")
    assert ready.returncode == 0, ready.stderr
    return "shell"


def test_exec_i_pipes_stdin_to_the_command_and_exits_with_its_code(cluster, shell):
    lines = "".join(f"line {n}\n" for n in range(20_000))  # ~230 KB
    counted = cluster.kubectl("exec", "-i", shell, "--", "wc", "-l", stdin=lines)
    assert (counted.returncode, counted.stdout.strip(), counted.stderr) == (0, "20000", "")
    echoed = cluster.kubectl("exec", "-i", shell, "--", "cat", stdin=lines)
    assert echoed.stdout == lines
    failed = cluster.kubectl("exec", "-i", shell, "--", "sh", "-c", "read word; exit $word",
                             stdin="9\n")
    assert (failed.returncode, failed.stderr) == (9, "command terminated with exit code 9\n")


def test_cp_copies_a_file_into_the_pod_and_back_out(cluster, shell, tmp_path: Path):
    sent = tmp_path / "sent.bin"
    sent.write_bytes(os.urandom(300_000))
    copied_in = cluster.kubectl("cp", str(sent), f"{shell}:/tmp/sent.bin")
    assert copied_in.returncode == 0, copied_in.stderr
    size = cluster.kubectl("exec", shell, "--", "wc", "-c", "/tmp/sent.bin")
    assert size.stdout.split()[0] == "300000"
    back = tmp_path / "back.bin"
    copied_out = cluster.kubectl("cp", f"{shell}:/tmp/sent.bin", str(back))
    assert copied_out.returncode == 0, copied_out.stderr
    assert back.read_bytes() == sent.read_bytes()


def test_exec_it_runs_a_shell_in_a_terminal(cluster, shell):
    code, seen = shell_in_terminal([KUBECTL, "--kubeconfig", str(cluster.kubeconfig), "exec",
                                    "-it", shell, "--", "sh"],
                                   b"tty; echo $((6 * 7)); exit 5\n", b"\n42")
    assert code == 5
    assert b"/dev/pts/" in seen


def test_the_python_clients_stream_writes_stdin_and_reads_the_exit_code(cluster, shell):
    with kube_config.new_client_from_config(str(cluster.kubeconfig)) as api_client:
        exec_in = functools.partial(kube_stream, kube_client.CoreV1Api(
            api_client).connect_get_namespaced_pod_exec, shell, "default", stdin=True,
            stdout=True, stderr=True, tty=False, _preload_content=False)
        session = exec_in(command=["sh", "-c", "read line; echo got $line; exit 4"])
        session.write_stdin("hello\n")
        session.run_forever(timeout=30)
        assert (session.read_stdout(), session.returncode) == ("got hello\n", 4)
        _close(session)
        echo = exec_in(command=["cat"])
        echo.write_stdin("one\n")
        assert echo.readline_stdout(timeout=30) == "one"
        echo.close_channel(0)  # v5: the end of input, so cat ends
        echo.run_forever(timeout=30)
        assert echo.returncode == 0
        _close(echo)


def _close(session: Any) -> None:
    """Close a session the server closed (websocket-client then keeps its socket open)."""
    session.close()
    session.sock.shutdown()


def test_a_client_that_leaves_ends_the_command_and_the_stream(cluster, shell):
    def catting() -> bool:
        shown = cluster.kubectl("exec", shell, "--", "ps", "-o", "comm")
        return "cat" in shown.stdout.split()

    process = subprocess.Popen([KUBECTL, "--kubeconfig", str(cluster.kubeconfig), "exec", "-i",
                                shell, "--", "cat"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE)
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(b"still here\n")
        process.stdin.flush()
        assert process.stdout.readline() == b"still here\n"
        assert catting()
    finally:
        process.kill()
        process.wait()
        process.stdin.close()
        process.stdout.close()
    until(lambda: not catting(), timeout=30, interval=0.5)
