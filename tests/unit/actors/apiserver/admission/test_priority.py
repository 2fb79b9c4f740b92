"""PriorityClasses and the Priority admission plugin, without servers: what kube-apiserver
accepts, refuses (in its words) and writes into a new pod."""

from __future__ import annotations

from typing import Any

import pytest

from actors.api import priorityclasses
from actors.api.defaulting import DEFAULTERS
from actors.api.objects import Object
from actors.api.resources import lookup
from actors.api.validation import validate
from actors.apiserver.admission.chain import AdmissionRequest
from actors.apiserver.admission.priority import Priority
from bus.errors import Forbidden, Invalid
from tests.unit.actors.apiserver.admission.test_admission import ALICE, MemoryAccess, pod

PRIORITY_CLASSES = lookup(priorityclasses.GROUP, priorityclasses.RESOURCE)


def priority_class(name: str, value: int, **fields: Any) -> Object:
    obj = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
           "metadata": {"name": name}, "value": value, **fields}
    DEFAULTERS[priorityclasses.RESOURCE](obj)
    return obj


def with_classes(*classes: Object) -> tuple[Priority, MemoryAccess]:
    access = MemoryAccess(*[(priorityclasses.RESOURCE, pc) for pc in
                            [*priorityclasses.system_classes(), *classes]])
    return Priority(access), access


def create(resource: str, obj: Object, old: Object | None = None) -> AdmissionRequest:
    info = PRIORITY_CLASSES if resource == priorityclasses.RESOURCE else lookup("", resource)
    namespace = "default" if info.namespaced else None
    return AdmissionRequest("UPDATE" if old else "CREATE", info, subresource=None,
                            namespace=namespace, name=obj["metadata"]["name"], object=obj,
                            old_object=old, user=ALICE)


def admitted(plugin: Priority, obj: Object) -> Object:
    plugin.admit(create("pods", obj))
    spec: Object = obj["spec"]
    return spec


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("obj", "message"), [
    (priority_class("too-high", 1_000_000_001),
     'PriorityClass "too-high" is invalid: value: Forbidden: maximum allowed value of a user '
     "defined priority is 1000000000"),
    (priority_class("system-mine", 5),
     "PriorityClass \"system-mine\" is invalid: metadata.name: Forbidden: priority class names "
     "with 'system-' prefix are reserved for system use only. error: system-mine is not a "
     "known system priority class"),
    (priority_class("system-node-critical", 7),
     "PriorityClass \"system-node-critical\" is invalid: metadata.name: Forbidden: priority "
     "class names with 'system-' prefix are reserved for system use only. error: value of "
     "system-node-critical PriorityClass must be 2000001000"),
    (priority_class("odd", 1, preemptionPolicy="Sometimes"),
     'PriorityClass "odd" is invalid: preemptionPolicy: Unsupported value: "Sometimes": '
     'supported values: "PreemptLowerPriority", "Never"'),
])
def test_priority_classes_are_refused_in_kube_apiserver_words(obj: Object, message: str):
    with pytest.raises(Invalid) as refused:
        validate(PRIORITY_CLASSES, obj)
    assert refused.value.message == message


def test_the_highest_user_value_and_the_built_in_classes_are_valid():
    validate(PRIORITY_CLASSES, priority_class("top", 1_000_000_000))
    for built_in in priorityclasses.system_classes():
        validate(PRIORITY_CLASSES, built_in)
    assert priority_class("top", 1)["preemptionPolicy"] == "PreemptLowerPriority"


def test_a_class_without_a_value_shows_value_zero():
    obj = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
           "metadata": {"name": "plain"}}
    DEFAULTERS[priorityclasses.RESOURCE](obj)
    validate(PRIORITY_CLASSES, obj)
    assert obj["value"] == 0


def test_only_one_class_may_be_the_global_default():
    plugin, _ = with_classes(priority_class("low", 10, globalDefault=True))
    with pytest.raises(Forbidden) as refused:
        plugin.validate(create(priorityclasses.RESOURCE,
                               priority_class("other", 20, globalDefault=True)))
    assert refused.value.message == (
        'priorityclasses.scheduling.k8s.io "other" is forbidden: PriorityClass low is already '
        "marked as default. Only one default can exist")
    plugin.validate(create(priorityclasses.RESOURCE, priority_class(  # itself, again
        "low", 10, globalDefault=True, description="d"), old=priority_class(
        "low", 10, globalDefault=True)))


def test_value_never_changes_and_built_in_classes_are_never_deleted():
    plugin, _ = with_classes(priority_class("low", 10))
    with pytest.raises(Invalid, match=r"value: Forbidden: may not be changed in an update\."):
        plugin.validate(create(priorityclasses.RESOURCE, priority_class("low", 11),
                               old=priority_class("low", 10)))
    with pytest.raises(Forbidden) as refused:
        plugin.validate(AdmissionRequest("DELETE", PRIORITY_CLASSES, subresource=None,
                                         namespace=None, name="system-node-critical", object=None,
                                         old_object=None, user=ALICE))
    assert refused.value.message == (
        'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a '
        "system priority class and cannot be deleted")
    plugin.validate(AdmissionRequest("DELETE", PRIORITY_CLASSES, subresource=None, namespace=None,
                                     name="low", object=None, old_object=None, user=ALICE))


# -- pods ------------------------------------------------------------------------------------------


def test_a_pod_gets_the_value_and_policy_of_its_class():
    plugin, _ = with_classes(priority_class("batch", 100, preemptionPolicy="Never"))
    obj = pod("job")
    obj["spec"]["priorityClassName"] = "batch"
    spec = admitted(plugin, obj)
    assert (spec["priority"], spec["preemptionPolicy"]) == (100, "Never")
    critical = pod("dns")
    critical["spec"]["priorityClassName"] = "system-cluster-critical"
    assert admitted(plugin, critical)["priority"] == 2_000_000_000


def test_a_pod_without_a_class_gets_the_global_default_or_zero():
    plugin, access = with_classes()
    spec = admitted(plugin, pod("plain"))
    assert (spec["priority"], spec["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert "priorityClassName" not in spec
    access.put(priorityclasses.RESOURCE, priority_class("normal", 50, globalDefault=True))
    spec = admitted(plugin, pod("later"))
    assert (spec["priorityClassName"], spec["priority"]) == ("normal", 50)


def test_a_pod_naming_an_unknown_class_or_its_own_priority_is_refused():
    plugin, _ = with_classes(priority_class("batch", 100))
    unknown = pod("lost")
    unknown["spec"]["priorityClassName"] = "nosuch"
    with pytest.raises(Forbidden) as refused:
        plugin.admit(create("pods", unknown))
    assert refused.value.message == (
        'pods "lost" is forbidden: no PriorityClass with name nosuch was found')
    cheeky = pod("cheeky")
    cheeky["spec"].update(priorityClassName="batch", priority=5)
    with pytest.raises(Forbidden) as refused:
        plugin.admit(create("pods", cheeky))
    assert refused.value.message == (
        'pods "cheeky" is forbidden: the integer value of priority (5) must not be provided in '
        "pod spec; priority admission controller computed 100 from the given PriorityClass "
        "name")
    honest = pod("honest")
    honest["spec"].update(priorityClassName="batch", priority=100)
    assert admitted(plugin, honest)["priority"] == 100
