"""The Priority admission plugin: pods get the priority of their PriorityClass.

Mutating, on pod creation: ``spec.priorityClassName`` is resolved to ``spec.priority`` and
``spec.preemptionPolicy`` (the ``globalDefault`` class when the pod names none, which then
also names it; 0 and ``PreemptLowerPriority`` when there is no default). A pod naming a class
that does not exist, or setting a priority or preemption policy other than its class's, is
refused with kube-apiserver's 403. Validating, on PriorityClasses: only one ``globalDefault``,
``value`` and ``preemptionPolicy`` never change, the built-in classes are never deleted.

The classes are read from the apiserver's in-memory Mirror (``ObjectAccess.list``), not the
store, on every pod create. Neighbours: ``admission`` (the chain), ``actors.api.priorityclasses``
(the rules).
"""

from __future__ import annotations

from actors.api import priorityclasses
from actors.api.objects import Object
from actors.apiserver.admission.chain import AdmissionRequest, ObjectAccess
from bus.errors import Invalid


class Priority:
    """See the module docstring."""

    name = "Priority"

    def __init__(self, access: ObjectAccess) -> None:
        self._access = access

    def _classes(self) -> list[Object]:
        return self._access.list(priorityclasses.RESOURCE, None)

    def admit(self, request: AdmissionRequest) -> None:
        if (request.info.name != "pods" or request.operation != "CREATE" or request.subresource
                or not isinstance((request.object or {}).get("spec"), dict)):
            return
        spec = (request.object or {})["spec"]
        try:
            name, priority, policy = priorityclasses.resolve(spec, self._classes())
        except KeyError:
            raise request.forbidden(f"no PriorityClass with name "
                                    f"{spec.get('priorityClassName')} was found") from None
        if spec.get("priority") is not None and spec["priority"] != priority:
            raise request.forbidden(
                f"the integer value of priority ({spec['priority']}) must not be provided in "
                f"pod spec; priority admission controller computed {priority} from the given "
                "PriorityClass name")
        if spec.get("preemptionPolicy") is not None and spec["preemptionPolicy"] != policy:
            raise request.forbidden(
                f"the string value of PreemptionPolicy ({spec['preemptionPolicy']}) must not "
                f"be provided in pod spec; priority admission controller computed {policy} "
                "from the given PriorityClass name")
        if name:
            spec["priorityClassName"] = name
        spec["priority"], spec["preemptionPolicy"] = priority, policy

    def validate(self, request: AdmissionRequest) -> None:
        if request.info.name != priorityclasses.RESOURCE or request.subresource:
            return
        if request.operation == "DELETE":
            if any(pc["metadata"]["name"] == request.name
                   for pc in priorityclasses.system_classes()):
                raise request.forbidden("this is a system priority class and cannot be deleted")
            return
        new = request.object or {}
        if request.operation == "UPDATE" and request.old_object is not None:
            self._unchanged(request, new, request.old_object)
        if not new.get("globalDefault"):
            return
        current = priorityclasses.default_class(self._classes())
        if current is not None and (request.operation == "CREATE"
                                    or current["metadata"]["name"] != request.name):
            raise request.forbidden(f"PriorityClass {current['metadata']['name']} is already "
                                    "marked as default. Only one default can exist")

    @staticmethod
    def _unchanged(request: AdmissionRequest, new: Object, old: Object) -> None:
        """``value`` and ``preemptionPolicy`` are immutable (ValidatePriorityClassUpdate)."""
        problems = []
        if new.get("value", 0) != old.get("value", 0):
            problems.append("value: Forbidden: may not be changed in an update.")
        if new.get("preemptionPolicy") != old.get("preemptionPolicy"):
            problems.append(f"preemptionPolicy: Invalid value: "
                            f'"{new.get("preemptionPolicy")}": field is immutable')
        if problems:
            raise Invalid(f'PriorityClass "{request.name}" is invalid: ' + ", ".join(problems),
                          details={"name": request.name, "kind": "priorityclass",
                                   "causes": problems})
