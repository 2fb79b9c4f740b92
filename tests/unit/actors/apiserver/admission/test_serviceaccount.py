"""The ServiceAccount admission plugin and NodeRestriction's rule on kubelets' tokens
(actors/apiserver/admission/serviceaccount.py, chain.py), over an in-memory store."""

from __future__ import annotations

import pytest

from actors.api import serviceaccounts
from actors.api.objects import Object
from actors.api.pods import MIRROR_ANNOTATION
from actors.api.resources import lookup
from actors.apiserver.admission.chain import AdmissionRequest, Delay, NodeRestriction
from actors.apiserver.admission.serviceaccount import LOOKUPS, ServiceAccount
from bus.errors import Forbidden
from tests.unit.actors.apiserver.admission.test_admission import ALICE, NODE_1, MemoryAccess


def pod(**spec: object) -> Object:
    return {"metadata": {"name": "web", "namespace": "team"},
            "spec": {"containers": [{"name": "c", "image": "i"}], **spec}}


def account(name: str = "default", **fields: object) -> Object:
    return {"metadata": {"name": name, "namespace": "team", "uid": f"uid-{name}"}, **fields}


def create(obj: Object) -> AdmissionRequest:
    return AdmissionRequest("CREATE", lookup("", "pods"), subresource=None, namespace="team",
                            name="web", object=obj, old_object=None, user=ALICE)


def run(plugin: ServiceAccount, request: AdmissionRequest) -> list[object]:
    """Drive the plugin's steps; the Delays it asked for."""
    steps = plugin.admit(request)
    delays: list[object] = []
    if steps is None:
        return delays
    try:
        step = next(steps)
        while True:
            delays.append(step)
            step = steps.send(None)
    except StopIteration:
        return delays


def test_a_pod_naming_no_account_runs_as_default_with_the_api_access_volume():
    obj = pod()
    assert run(ServiceAccount(MemoryAccess(("serviceaccounts", account()))), create(obj)) == []
    assert obj["spec"]["serviceAccountName"] == "default"
    assert obj["spec"]["volumes"][0]["name"].startswith(serviceaccounts.VOLUME_PREFIX)
    assert obj["spec"]["containers"][0]["volumeMounts"][0]["mountPath"] == \
        serviceaccounts.MOUNT_PATH


def test_a_missing_account_is_refused_at_once_and_default_after_waiting_for_it():
    access = MemoryAccess()
    with pytest.raises(Forbidden, match='error looking up service account team/ghost: '
                                        'serviceaccount "ghost" not found'):
        run(ServiceAccount(access), create(pod(serviceAccountName="ghost")))
    plugin = ServiceAccount(access)
    steps = plugin.admit(create(pod()))
    assert steps is not None
    assert isinstance(next(steps), Delay)
    access.put("serviceaccounts", account())  # the controller made it meanwhile
    with pytest.raises(StopIteration):
        steps.send(None)
    never = ServiceAccount(MemoryAccess()).admit(create(pod()))
    assert never is not None
    waited = 0
    with pytest.raises(Forbidden):
        next(never)
        while True:
            waited += 1
            never.send(None)
    assert waited == LOOKUPS - 1


def test_no_volume_when_the_account_or_the_pod_says_not_to_automount():
    quiet = MemoryAccess(("serviceaccounts", account(automountServiceAccountToken=False)))
    obj = pod()
    run(ServiceAccount(quiet), create(obj))
    assert "volumes" not in obj["spec"]
    loud = pod(automountServiceAccountToken=True)
    run(ServiceAccount(quiet), create(loud))
    assert len(loud["spec"]["volumes"]) == 1


def test_mirror_pods_are_left_alone():
    obj = pod()
    obj["metadata"]["annotations"] = {MIRROR_ANNOTATION: "x"}
    assert ServiceAccount(MemoryAccess()).admit(create(obj)) is None
    assert "serviceAccountName" not in obj["spec"]


def token_request(bound: Object | None) -> AdmissionRequest:
    spec = {"boundObjectRef": bound} if bound else {}
    return AdmissionRequest("CREATE", lookup("", "serviceaccounts"), subresource="token",
                            namespace="team", name="default", object={"spec": spec},
                            old_object=None, user=NODE_1)


@pytest.mark.parametrize(("bound", "why"), [
    (None, "node requested token not bound to a pod"),
    ({"kind": "Pod", "name": "web"}, "node requested token with a pod binding without a uid"),
    ({"kind": "Pod", "name": "elsewhere", "uid": "u2"},
     "node requested token bound to a pod scheduled on a different node"),
    ({"kind": "Pod", "name": "web", "uid": "stale"},
     "node requested token bound to a pod scheduled on a different node"),
])
def test_a_kubelet_gets_tokens_only_bound_to_its_own_pods(bound, why):
    access = MemoryAccess(
        ("pods", {"metadata": {"name": "web", "namespace": "team", "uid": "u1"},
                  "spec": {"nodeName": "node-1"}}),
        ("pods", {"metadata": {"name": "elsewhere", "namespace": "team", "uid": "u2"},
                  "spec": {"nodeName": "node-2"}}))
    plugin = NodeRestriction(access)
    plugin.validate(token_request({"kind": "Pod", "name": "web", "uid": "u1"}))
    with pytest.raises(Forbidden, match=why):
        plugin.validate(token_request(bound))
