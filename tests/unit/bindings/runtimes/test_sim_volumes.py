"""The simulated runtime's volume files: what ``cat`` reads, each equal file held once."""

from actors.kubelet.runtime import VolumeFile
from bindings.runtimes.sim import SimRuntime

CONTAINER = {"name": "c", "image": "busybox",
             "volumeMounts": [{"name": "sa", "mountPath": "/var/run/secrets"}]}


def start(runtime: SimRuntime, uid: str, token: bytes) -> None:
    pod = {"metadata": {"uid": uid, "name": uid}}
    runtime.write_volume(pod, "sa", {"ca.crt": VolumeFile(b"-----CA-----", 0o644),
                                     "token": VolumeFile(token, 0o644)})
    runtime.start_container(pod, CONTAINER, 0)


def test_each_pod_reads_its_own_files_and_equal_ones_are_held_once():
    runtime = SimRuntime("n")
    start(runtime, "a", b"token-a")
    start(runtime, "b", b"token-b")
    assert runtime.exec("a", "c", ["cat", "/var/run/secrets/token"]).stdout == "token-a"
    assert runtime.exec("b", "c", ["cat", "/var/run/secrets/token"]).stdout == "token-b"
    assert runtime.exec("b", "c", ["cat", "/var/run/secrets/ca.crt"]).stdout == "-----CA-----"
    volumes = runtime._volumes
    assert volumes["a"]["sa"]["ca.crt"] is volumes["b"]["sa"]["ca.crt"]
    runtime.close()
