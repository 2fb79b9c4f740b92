"""The command's errors are one tree (bus/errors.py): what the user gave prints as kubectl's
``error: ...`` with exit 1, a file that cannot be read included; anything outside the tree
is a bug and is not hidden."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from actors.api import jsonpath
from bindings import kubeconfig
from bindings.cli import main as cli
from bindings.cli import manifests, printers, tracing, workloads
from bindings.cluster import ClusterError
from bus.errors import KubeactorError, UsageError
from bus.nkeys import NkeyError


def write_kubeconfig(path, prefix="kubeactor"):
    path.write_text(kubeconfig.render(kubeconfig.KubeConfig(
        server="nats://127.0.0.1:1", prefix=prefix, token="t")))
    return path


def test_a_kubeconfig_that_is_a_directory_is_an_error_not_a_traceback(tmp_path, capsys):
    assert cli.main(["--kubeconfig", str(tmp_path), "config", "view"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: kubeconfig {tmp_path} cannot be read: [Errno 21]")


def test_a_kubeconfig_with_an_unusable_prefix_is_refused_before_connecting(tmp_path, capsys):
    path = write_kubeconfig(tmp_path / "k", prefix="two words")
    assert cli.main(["--kubeconfig", str(path), "get", "pods"]) == 1
    assert capsys.readouterr().err == (
        f"error: kubeconfig {path}: prefix part 'two words' cannot be a subject token "
        "(use [A-Za-z0-9_-:/])\n")


def test_a_kubeconfig_with_a_certificate_that_is_not_one_is_refused(tmp_path):
    path = tmp_path / "k"
    path.write_text(kubeconfig.render(kubeconfig.KubeConfig(
        server="nats://127.0.0.1:1", prefix="kubeactor", token=None, ca=b"not a pem")))
    with pytest.raises(kubeconfig.KubeConfigError, match=f"kubeconfig {path}: "):
        kubeconfig.load(path)


def test_a_manifest_that_is_not_text_names_the_trouble(tmp_path):
    (tmp_path / "image.yaml").write_bytes(b"\x89PNG\xff\xfe")
    with pytest.raises(manifests.ManifestError, match="can't decode"):
        list(manifests.read([str(tmp_path)]))


def test_a_capture_that_cannot_be_opened_is_an_error(tmp_path, capsys):
    assert cli.main(["trace", "replay", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("error: [Errno 21] Is a directory")


def test_a_mermaid_file_that_cannot_be_written_is_an_error(tmp_path, capsys):
    capture = tmp_path / "empty.capture"
    capture.write_bytes(b"")
    target = tmp_path / "missing" / "seq.md"
    assert cli.main(["trace", "replay", str(capture), "--mermaid", str(target)]) == 1
    assert capsys.readouterr().err.startswith("error: [Errno 2] No such file or directory")


def test_an_error_outside_the_tree_is_a_bug_and_is_not_hidden(monkeypatch, tmp_path):
    def broken(args):
        raise ValueError("a bug")

    monkeypatch.setitem(cli.LOCAL_COMMANDS, "config", broken)
    with pytest.raises(ValueError, match="a bug"):
        cli.main(["--kubeconfig", str(write_kubeconfig(tmp_path / "k")), "config", "view"])


@pytest.mark.parametrize("leaf", [
    kubeconfig.KubeConfigError, manifests.ManifestError, jsonpath.JsonPathError,
    workloads.RolloutError, tracing.CaptureError])
def test_what_the_user_gave_wrong_is_a_usage_error(leaf):
    assert issubclass(leaf, UsageError)


@pytest.mark.parametrize("leaf", [printers.RolloutFailed, ClusterError, NkeyError])
def test_the_other_failures_are_leaves_of_the_tree(leaf):
    assert issubclass(leaf, KubeactorError) and not issubclass(leaf, ValueError)


def test_an_output_format_without_its_template_is_a_usage_error():
    with pytest.raises(UsageError, match="jsonpath format specified but no jsonpath template"):
        printers.check_format("jsonpath")


def test_a_reader_that_closed_stdout_ends_the_command_quietly(tmp_path):
    config = write_kubeconfig(tmp_path / "k")
    read, write = os.pipe()
    os.close(read)  # like `kubeactor ... | head` once head has gone
    try:
        words = ["--kubeconfig", str(config), "config", "view"]
        code = f"import sys; from bindings.cli import main; sys.exit(main.main({words!r}))"
        done = subprocess.run([sys.executable, "-c", code],
                              stdout=write, stderr=subprocess.PIPE, timeout=60, check=False)
    finally:
        os.close(write)
    assert done.returncode == 1
    assert done.stderr == b""


@pytest.mark.parametrize(("flags", "words"), [
    (["up", "--nats-cluster", "3", "--nats", "tls://h:1"], "give one or the other"),
    (["server", "--nats-ca", "ca.pem"], "--nats-ca is the CA of a NATS of your own"),
    (["up", "--nats", "tls://h:1", "--nats-ca", "/nonexistent/ca.pem"],
     "--nats-ca /nonexistent/ca.pem: No such file"),
    (["up", "--apiservers", "2"], "several apiserver processes share a JetStream store"),
])
def test_bus_flags_that_cannot_work_together_are_refused_before_starting(
        tmp_path, capsys, flags, words):
    assert cli.main([*flags, "--data-dir", str(tmp_path)]) == 1
    assert words in capsys.readouterr().err and not (tmp_path / "nats").exists()
