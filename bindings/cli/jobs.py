"""``kubeactor create job NAME --from=cronjob/CJ`` (or ``--image IMAGE [-- COMMAND...]``):
a Job made by hand, as kubectl's ``create job`` makes it.

From a CronJob: its ``jobTemplate`` with the annotation ``cronjob.kubernetes.io/instantiate:
manual`` and the CronJob as controller (``actors.api.jobs.job_from_cronjob``, the one the CronJob
controller uses too); from an image: one container named NAME running the command, restarting
``Never``.

Neighbours: ``bindings.cli.objects`` (the ``create`` verb that hands over), ``actors.api.jobs``.

Which thread: the main thread.
"""

from __future__ import annotations

import argparse

from actors.api import jobs
from actors.api.objects import Object
from bindings.cli import parsing
from bindings.cli.session import Session
from bus.errors import UsageError


def add_options(command: parsing.Parser) -> None:
    """``create job``'s options, on the ``create`` verb's parser."""
    command.add_argument("--from", dest="from_", metavar="cronjob/NAME",
                         help="create job: from this CronJob's job template")
    command.add_argument("--image", help="create job: the image of its one container")
    command.add_argument("command", nargs="*", help="create job: the command (after --)")


def job_from_image(name: str, image: str, command: list[str]) -> Object:
    """kubectl's Job of ``create job NAME --image IMAGE -- COMMAND``."""
    container: Object = {"name": name, "image": image}
    if command:
        container["command"] = command
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [container],
                                           "restartPolicy": "Never"}}}}


def cmd_create_job(args: argparse.Namespace, session: Session) -> int:
    """``create job NAME``: create it and print ``job.batch/NAME created``."""
    if not args.name or bool(args.from_) == bool(args.image):
        raise UsageError("create job needs a name and either --from=cronjob/NAME or --image: "
                         "create job NAME --from=cronjob/CJ")
    if args.from_:
        kind, _, source = args.from_.partition("/")
        if kind.lower() not in ("cronjob", "cronjobs", "cj", "cronjob.batch") or not source:
            raise UsageError(f"from must be an existing cronjob: {args.from_}")
        cronjob = session.client.get(jobs.CRONJOBS, source, session.namespace)
        job = jobs.job_from_cronjob(cronjob, args.name, {jobs.INSTANTIATE: "manual"})
    else:
        job = job_from_image(args.name, args.image, args.command)
    made = session.client.create(jobs.JOBS, job, session.namespace)
    print(f"job.batch/{made['metadata']['name']} created", flush=True)
    return 0
