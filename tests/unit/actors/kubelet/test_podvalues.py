"""What containers get from outside their image (actors/kubelet/podvalues.py, volumes.py): env
from Secrets, ConfigMaps and the downward API, optional references, and the files of
configMap, secret, downwardAPI and projected volumes; then a pod synced on the simulated
runtime reads them back with ``exec``."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from actors.api.objects import Object
from actors.kubelet.podrecord import PodRecord
from actors.kubelet.podvalues import Sources, environment, field_value
from actors.kubelet.runtime import RuntimeFailure, VolumeFile
from actors.kubelet.timers import Timers
from actors.kubelet.volumes import payload
from bindings.runtimes.sim import SimRuntime
from bus.errors import NotFound
from tests.unit.actors.kubelet.test_podsync import FakeClient, syncer

NODE = {"cpu": "4", "memory": "8Gi"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


OBJECTS = {
    ("secrets", "db"): {"data": {"user": b64("admin"), "password": b64("hunter2")}},
    ("configmaps", "cfg"): {"data": {"mode": "fast"}, "binaryData": {"blob": b64("\x00\x01")}},
}


def fetch(resource: str, name: str, namespace: str) -> Object:
    if (resource, name) not in OBJECTS:
        raise NotFound(f'{resource} "{name}" not found')
    return OBJECTS[resource, name]


def sources() -> Sources:
    return Sources(fetch, "default")


def a_pod(container: Object | None = None, **spec: Any) -> Object:
    return {"metadata": {"name": "web", "namespace": "default", "uid": "u-1",
                         "labels": {"app": "web", "tier": "front"},
                         "annotations": {"note": 'say "hi"'}},
            "spec": {"nodeName": "node-1", "serviceAccountName": "default",
                     "containers": [container or {"name": "app", "image": "busybox:1.35"}],
                     **spec},
            "status": {"hostIP": "10.0.0.1", "podIP": "10.1.0.7"}}


def env_of(*items: Object, env_from: list[Object] | None = None,
           resources: Object | None = None) -> dict[str, str]:
    container = {"name": "app", "image": "busybox:1.35", "env": list(items),
                 "envFrom": env_from or [], "resources": resources or {}}
    return {e["name"]: e["value"]
            for e in environment(a_pod(container), container, sources(), NODE)}


def test_env_from_a_secret_key_and_a_whole_secret_with_a_prefix():
    env = env_of({"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                 env_from=[{"secretRef": {"name": "db"}, "prefix": "DB_"}])
    assert env == {"DB_user": "admin", "DB_password": "hunter2", "PASS": "hunter2"}


def test_a_missing_secret_or_key_is_a_config_error_unless_optional():
    with pytest.raises(RuntimeFailure) as missing:
        env_of({"name": "X", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k"}}})
    assert (missing.value.reason, missing.value.message) == (
        "CreateContainerConfigError", 'secret "gone" not found')
    with pytest.raises(RuntimeFailure, match="couldn't find key nope in Secret default/db"):
        env_of({"name": "X", "valueFrom": {"secretKeyRef": {"name": "db", "key": "nope"}}})
    assert env_of(
        {"name": "X", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k",
                                                     "optional": True}}},
        {"name": "Y", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nope",
                                                        "optional": True}}},
        env_from=[{"secretRef": {"name": "gone", "optional": True}}]) == {}


@pytest.mark.parametrize(("path", "value"), [
    ("metadata.name", "web"), ("metadata.namespace", "default"), ("metadata.uid", "u-1"),
    ("metadata.labels['tier']", "front"), ("metadata.annotations['note']", 'say "hi"'),
    ("metadata.labels", 'app="web"\ntier="front"'),
    ("metadata.annotations", 'note="say \\"hi\\""'),
    ("spec.nodeName", "node-1"), ("spec.serviceAccountName", "default"),
    ("status.hostIP", "10.0.0.1"), ("status.podIP", "10.1.0.7"),
])
def test_field_refs_give_the_pods_own_fields(path, value):
    assert field_value(a_pod(), path) == value
    assert env_of({"name": "V", "valueFrom": {"fieldRef": {"fieldPath": path}}}) == {"V": value}


def test_resource_field_refs_divide_rounding_up_and_default_limits_to_the_node():
    refs = [("CPU_REQ", "requests.cpu", "1m"), ("CPU_LIM", "limits.cpu", None),
            ("MEM_LIM", "limits.memory", "1Mi"), ("MEM_REQ", "requests.memory", "1Mi")]
    env = env_of(*({"name": name, "valueFrom": {"resourceFieldRef": {
        "resource": resource, **({"divisor": divisor} if divisor else {})}}}
        for name, resource, divisor in refs),
        resources={"requests": {"cpu": "250m", "memory": "1500Ki"}})
    assert env == {"CPU_REQ": "250", "CPU_LIM": "4", "MEM_LIM": "8192", "MEM_REQ": "2"}


def test_a_secret_volume_holds_every_key_or_the_items_listed_with_their_modes():
    whole = payload(a_pod(), {"name": "v", "secret": {"secretName": "db"}}, sources(), NODE)
    assert whole == {"user": VolumeFile(b"admin", 0o644), "password": VolumeFile(b"hunter2", 0o644)}
    listed = payload(a_pod(), {"name": "v", "secret": {
        "secretName": "db", "defaultMode": 0o400,
        "items": [{"key": "password", "path": "creds/pw"},
                  {"key": "user", "path": "u", "mode": 0o440}]}}, sources(), NODE)
    assert listed == {"creds/pw": VolumeFile(b"hunter2", 0o400), "u": VolumeFile(b"admin", 0o440)}


def test_a_volume_of_a_missing_object_or_key_cannot_be_set_up_unless_optional():
    with pytest.raises(RuntimeFailure) as missing:
        payload(a_pod(), {"name": "v", "secret": {"secretName": "gone"}}, sources(), NODE)
    assert (missing.value.reason, missing.value.message) == (
        "ContainerCreating", 'MountVolume.SetUp failed for volume "v" : secret "gone" not found')
    with pytest.raises(RuntimeFailure, match="configmap references non-existent config key: x"):
        payload(a_pod(), {"name": "v", "configMap": {"name": "cfg", "items": [
            {"key": "x", "path": "x"}]}}, sources(), NODE)
    assert payload(a_pod(), {"name": "v", "secret": {"secretName": "gone", "optional": True}},
                   sources(), NODE) == {}


def test_configmap_downward_and_projected_volumes():
    cfg = payload(a_pod(), {"name": "v", "configMap": {"name": "cfg"}}, sources(), NODE)
    assert cfg == {"mode": VolumeFile(b"fast", 0o644), "blob": VolumeFile(b"\x00\x01", 0o644)}
    downward = {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                          {"path": "cpu", "resourceFieldRef": {"containerName": "app",
                                                               "resource": "limits.cpu"}}]}
    assert payload(a_pod(), {"name": "v", "downwardAPI": downward}, sources(), NODE) == {
        "labels": VolumeFile(b'app="web"\ntier="front"', 0o644), "cpu": VolumeFile(b"4", 0o644)}
    projected = payload(a_pod(), {"name": "v", "projected": {"defaultMode": 0o600, "sources": [
        {"secret": {"name": "db", "items": [{"key": "user", "path": "user"}]}},
        {"configMap": {"name": "cfg", "items": [{"key": "mode", "path": "mode"}]}},
        {"downwardAPI": {"items": [{"path": "name",
                                    "fieldRef": {"fieldPath": "metadata.name"}}]}}]}},
        sources(), NODE)
    assert projected == {"user": VolumeFile(b"admin", 0o600), "mode": VolumeFile(b"fast", 0o600),
                         "name": VolumeFile(b"web", 0o600)}


class ObjectClient(FakeClient):
    """The API of OBJECTS (Secrets and ConfigMaps), each listed by name as the kubelet
    watches it; status writes recorded."""

    def list(self, resource: str, namespace: str | None = None, *,
             field_selector: str = "", **_: Any) -> Object:
        name = field_selector.removeprefix("metadata.name=")
        found = [{"metadata": {"name": name, "namespace": namespace}, **OBJECTS[resource, name]}
                 ] if (resource, name) in OBJECTS else []
        return {"items": found, "metadata": {"resourceVersion": "1"}}


def test_a_pod_on_the_simulated_runtime_reads_its_secret_as_env_and_as_files():
    timers = Timers()
    runtime = SimRuntime("node-1", timers)
    container = {"name": "app", "image": "busybox:1.35",
                 "env": [{"name": "PASS", "valueFrom": {"secretKeyRef": {
                     "name": "db", "key": "password"}}},
                         {"name": "ME", "valueFrom": {"fieldRef": {
                             "fieldPath": "metadata.name"}}}],
                 "volumeMounts": [{"name": "creds", "mountPath": "/etc/creds"},
                                  {"name": "info", "mountPath": "/etc/info"}]}
    pod = a_pod(container, volumes=[
        {"name": "creds", "secret": {"secretName": "db"}},
        {"name": "info", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}])
    try:
        syncer(runtime, ObjectClient(), timers).sync(PodRecord(pod))  # type: ignore[arg-type]
        run = lambda *command: runtime.exec("u-1", "app", list(command))  # noqa: E731
        assert run("cat", "/etc/creds/password").stdout == "hunter2"
        assert run("cat", "/etc/info/labels").stdout == 'app="web"\ntier="front"'
        assert run("printenv", "PASS").stdout == "hunter2\n"
        assert run("printenv", "ME").stdout == "web\n"
        assert run("cat", "/etc/creds/nope").exit_code == 1
    finally:
        runtime.close()
        timers.stop()
