"""Validation: every problem with an object, as kube-apiserver words it, before it is stored.
Two steps, as in kube-apiserver: :func:`decode` (before defaulting's results reach admission)
applies Kubernetes' OpenAPI schema of the type (wrong types, unknown fields as the request's
``fieldValidation`` says, optional nulls dropped); :func:`validate` (after admission) applies
the semantic rules where the schema is silent (names per kind, label syntax, quantities,
selectors...) and raises :class:`~bus.errors.Invalid` listing every problem.

Pure functions over plain dicts; :data:`VALIDATORS` holds the checks of resources that need
nothing more than their own shape (looked up by plural name). The checks live with their
kinds: ``actors.api.names`` (names, labels, annotations), ``actors.api.podspecs`` (pod specs,
quantities), ``actors.api.workloadchecks`` (workloads, Jobs), ``actors.api.policychecks``
(RBAC, LimitRanges, quotas, admission registrations), and ``actors.api.certificates``,
``priorityclasses``, ``crds``, ``services``... for theirs.

Neighbours: ``actors.api.schema`` (the schemas), ``actors.api.defaulting`` (runs before),
``actors.api.resources`` (the registry), the check modules above, ``actors.apiserver.server``
(the caller).
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from actors.api import (
    autoscaling,
    certificates,
    crds,
    disruptionbudgets,
    faultplans,
    flowcontrol,
    jobs,
    policychecks,
    priorityclasses,
    replication,
    schema,
    schematypes,
    secrets,
    services,
    storage,
    workloadchecks,
)
from actors.api.names import label_problems, name_problems
from actors.api.objects import Object
from actors.api.podspecs import pod_problems, quantity_problems
from actors.api.resources import ResourceInfo
from bus.errors import BadRequest, Invalid

FIELD_VALIDATION = ("Ignore", "Warn", "Strict")
"""What a request's ``fieldValidation`` may say of unknown fields: drop them silently, drop
them with a warning (kube-apiserver's default), or refuse the object (kubectl's choice)."""
_KUBERNETES_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
"""A time as Kubernetes writes it (UTC, RFC 3339; MicroTime with the fraction)."""


def decode(info: ResourceInfo, obj: Object, field_validation: str = "Warn",
           patched: bool = False) -> list[str]:
    """Apply the schema of ``obj``'s type, as kube-apiserver's decoder does, and return the
    warnings for the reply. A value Go's decoder cannot read into a built-in type's field is
    a BadRequest in its words (a patch's result: Invalid, the patched object quoted, as
    kube-apiserver's patcher says it); under ``Strict`` so is an unknown field; otherwise unknown
    fields are removed from ``obj``, and so are nulls where the field is optional. A custom
    resource's value of the wrong type is Invalid naming its path. Kinds Kubernetes does not
    have (kubeactor's own) pass unchanged."""
    findings: schema.Findings | None
    if isinstance(info, crds.CustomResource):
        findings = crds.check(info, obj)
    elif schematypes.fits(info.api_version, info.kind, obj):  # nothing for the walk to find
        return []
    else:
        findings = schema.check(info.api_version, info.kind, obj)
    if findings is None:
        return []
    unknown = [f'unknown field "{path}"' for path in findings.unknown]
    why = findings.undecodable
    if why is not None and patched:  # kube-apiserver's patcher words it as a 422
        shown = json.dumps(obj, sort_keys=True, separators=(",", ":"))
        cause = f"patch: Invalid value: {json.dumps(shown)}: {why}"
        raise Invalid(f' "" is invalid: {cause}', details={"name": "", "kind": "",
                                                          "causes": [cause]})
    if why is None and unknown and field_validation == "Strict":
        why = f"strict decoding error: {', '.join(unknown)}"
    if why is not None:
        raise BadRequest(f'{info.kind} in version "{info.version}" cannot be handled as a '
                         f"{info.kind}: {why}")
    if findings.errors:
        raise invalid(info, obj, findings.errors)
    findings.drop()
    return unknown if field_validation == "Warn" else []


def validate(info: ResourceInfo, obj: Object) -> None:
    """Raise Invalid listing every problem with ``obj``, as kube-apiserver words it."""
    problems = list(_metadata_problems(info, obj))
    if not isinstance(info, crds.CustomResource):  # its schema said all there is to say
        problems += _builtin_problems(info, obj)
    if problems:
        raise invalid(info, obj, problems)


def _builtin_problems(info: ResourceInfo, obj: Object) -> list[str]:
    problems = []
    if info.name == "pods":
        problems += pod_problems(obj)
    elif info.name == "nodes":
        status = obj.get("status") or {}
        for field in ("capacity", "allocatable"):
            problems += quantity_problems(f"status.{field}", status.get(field))
    elif info.group == "rbac.authorization.k8s.io":
        problems += policychecks.rbac_problems(info, obj)
    elif info.name == "leases":
        renewed = (obj.get("spec") or {}).get("renewTime")
        if renewed is not None and not _KUBERNETES_TIME.match(str(renewed)):
            problems.append(f'spec.renewTime: Invalid value: "{renewed}": must be RFC 3339 '
                            "with microseconds, e.g. 2006-01-02T15:04:05.000000Z")
    elif info.group == "apps" and info.name != "controllerrevisions":
        problems += workloadchecks.workload_problems(info, obj)
    elif info.name == replication.RESOURCE:
        problems += workloadchecks.workload_problems(info, replication.as_replicaset(obj))
    elif info.name == jobs.JOBS:
        problems += workloadchecks.job_problems(info, obj)
    elif info.name == jobs.CRONJOBS:
        problems += workloadchecks.cronjob_problems(obj)
    elif info.name == "configmaps":
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            problems.append("data: Invalid value: must be a map of strings")
        else:
            problems += [f"data[{key}]: Invalid value: must be a string"
                         for key, value in data.items() if not isinstance(value, str)]
    if checker := VALIDATORS.get(info.name):
        problems += checker(obj)
    return problems


def invalid(info: ResourceInfo, obj: Object, problems: list[str]) -> Invalid:
    """The 422 refusing ``obj`` for ``problems``, as kube-apiserver words it."""
    metadata = obj.get("metadata")
    name = metadata.get("name", "") if isinstance(metadata, dict) else ""
    return Invalid(f'{info.kind} "{name}" is invalid: ' + ", ".join(problems),
                   details={"name": name, "kind": info.singular, "causes": problems})


def _metadata_problems(info: ResourceInfo, obj: Object) -> list[str]:
    problems = []
    if obj.get("kind") not in (None, info.kind):
        problems.append(f"kind: Invalid value: {obj.get('kind')!r}: must be {info.kind}")
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name = metadata.get("name")
    if not name:
        problems.append("metadata.name: Required value: name is required")
    else:
        problems += name_problems(info, name)
    return problems + label_problems("metadata", metadata)


def node_update_problems(old: Object, new: Object) -> list[str]:
    """kube-apiserver's refusal of a change to a Node's pod range: set once (from none to a
    valid CIDR, by the node IPAM controller), never changed or removed after."""
    def ranges(obj: Object) -> tuple[Any, Any]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return None, None
        return spec.get("podCIDR") or None, spec.get("podCIDRs") or None
    before, after = ranges(old), ranges(new)
    if before == after:
        return []
    if before == (None, None) and _valid_cidr(after[0]) and after[1] in (None, [after[0]]):
        return []
    return ['spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to '
            "valid"]


def _valid_cidr(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        ipaddress.ip_network(text)
    except ValueError:
        return False
    return True


VALIDATORS = {"limitranges": policychecks.limit_range_problems,
              "resourcequotas": policychecks.quota_problems,
              "admissionregistrations": policychecks.admission_registration_problems,
              certificates.RESOURCE: certificates.problems,
              priorityclasses.RESOURCE: priorityclasses.problems, crds.RESOURCE: crds.problems,
              disruptionbudgets.RESOURCE: disruptionbudgets.problems,
              autoscaling.RESOURCE: autoscaling.problems,
              secrets.RESOURCE: secrets.secret_problems, "configmaps": secrets.configmap_problems,
              "controllerrevisions": workloadchecks.revision_problems,
              services.RESOURCE: services.problems,
              storage.VOLUMES: storage.volume_problems, storage.CLAIMS: storage.claim_problems,
              storage.CLASSES: storage.class_problems, faultplans.RESOURCE: faultplans.problems,
              **flowcontrol.VALIDATORS}
"""Shape checks of resources that need nothing more (looked up by plural name)."""
