"""A write's field manager and an apply's force, as verb options: what kube-apiserver's
PatchOptions validation refuses is a 422, before anything is read or written."""

from __future__ import annotations

import pytest

from actors.api import patches
from actors.apiserver.options import parse_options
from bus.errors import Invalid
from bus.subjects import Subjects

SUBJECTS = Subjects("kubeactor")


def test_an_apply_carries_its_manager_and_force():
    options = parse_options({"patchType": patches.APPLY_PATCH, "fieldManager": "ops",
                             "force": True}, SUBJECTS)
    assert (options.patch_type, options.field_manager, options.force) == (
        patches.APPLY_PATCH, "ops", True)
    assert parse_options({"fieldManager": "kubectl-edit"}, SUBJECTS).field_manager == \
        "kubectl-edit"


@pytest.mark.parametrize(("raw", "words"), [
    ({"patchType": patches.APPLY_PATCH}, "fieldManager: Required value: is required for "
                                         "apply patch"),
    ({"patchType": patches.MERGE_PATCH, "force": True},
     "force: Forbidden: may not be specified for non-apply patch"),
    ({"fieldManager": "m" * 129}, "fieldManager: Too long"),
    ({"fieldManager": "tab\there"}, "printable"),
])
def test_what_patch_options_validation_refuses_is_a_422(raw, words):
    with pytest.raises(Invalid) as refused:
        parse_options(raw, SUBJECTS)
    assert refused.value.message.startswith('PatchOptions.meta.k8s.io "" is invalid: ')
    assert words in refused.value.message
