"""What the Docker runtime asks of the engine for a container
(bindings/runtimes/docker/containers.py)."""

from __future__ import annotations

from bindings.runtimes.docker.containers import run_options


def pod(**spec) -> dict:
    return {"metadata": {"name": "work-2-abcde", "namespace": "default", "uid": "u" * 36},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def test_a_pods_hostname_is_its_spec_hostname_or_its_name():
    container = {"name": "c", "image": "busybox"}
    assert run_options(pod(hostname="work-2"), container, 0)["hostname"] == "work-2"
    assert run_options(pod(), container, 0)["hostname"] == "work-2-abcde"
    assert "hostname" not in run_options(pod(hostNetwork=True), container, 0)


def test_stdin_and_a_terminal_are_docker_s_and_stdin_once_is_set_by_not_detaching():
    def stdio(**container) -> tuple[bool, bool, bool]:
        options = run_options(pod(), {"name": "c", "image": "busybox", **container}, 0)
        return options["stdin_open"], options["tty"], options["detach"]

    assert stdio() == (False, False, True)
    assert stdio(stdin=True, tty=True) == (True, True, True)
    assert stdio(stdin=True, stdinOnce=True) == (True, False, False)  # docker sets StdinOnce
    assert stdio(stdinOnce=True) == (False, False, True)  # stdinOnce means nothing without stdin
