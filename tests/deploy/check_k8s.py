#!/usr/bin/python3
"""Checks deploy/k8s/ and deploy/k8s/serve/: the fields a wrong edit would
break, then runs each job's container, and the `freshet serve` Deployments'
containers, as the pod would run them against throwaway local clusters.

Usage: /usr/bin/python3 tests/deploy/check_k8s.py FRESHET_BINARY [--dir DIR] [--no-run]

Static checks, on every manifest (all documents of every *.yaml of DIR and
DIR/serve/):
  - apiVersion/kind pairs (batch/v1 CronJob and Job, apps/v1 Deployment,
    policy/v1 PodDisruptionBudget, v1 ConfigMap, Secret, Service and
    PersistentVolumeClaim), metadata.name, and which objects each file must
    hold; serve/serve.yaml and serve/serve-replicas.yaml are alternatives
    (one is installed: both define the Deployment and Service freshet-serve),
    each checked together with the other files' objects;
  - every *.toml of a ConfigMap parses;
  - the CronJob: schedule a valid 5-field cron expression equal to
    "0 2 * * 0", timeZone Etc/UTC, concurrencyPolicy Forbid, a positive
    startingDeadlineSeconds, history limits;
  - every Job (the CronJob's jobTemplate and the preview Job): backoffLimit 0
    or 1, activeDeadlineSeconds in (0, 6h], ttlSecondsAfterFinished > 0, a
    podFailurePolicy (if any) that fails the Job at once on freshet's
    non-retryable exit codes 2-5 and goes with restartPolicy Never;
  - every pod: restartPolicy Never or OnFailure (a Job's) or Always or unset
    (a Deployment's), runAsNonRoot with runAsUser 10001, seccompProfile
    RuntimeDefault, no service account token, a grace period long enough for
    freshet to put the target back; every container: the freshet image, no
    `command` (the image's ENTRYPOINT is freshet), --verify in a job's args,
    allowPrivilegeEscalation false, readOnlyRootFilesystem true, capabilities
    drop ALL, cpu and memory requests and limits (requests <= limits), /tmp on
    an emptyDir, every volumeMount naming a volume (a job's PVC mounts
    readOnly);
  - every secretKeyRef, configMapKeyRef and configMap/secret volume names an
    object of this directory holding that key; every url_env of the endpoints
    a job (or a serve job, [jobs.*]) uses is set in its container's env;
  - the preview Job template: only ${PREVIEW_NAME} and ${PREVIEW_DATABASE}
    placeholders, and its name is a valid Job name once substituted;
  - the serve Deployments: the replicas each variant must have (serve.yaml
    1, serve-replicas.yaml 2), a matchLabels selector the pod's labels
    satisfy, --listen on all addresses at a named containerPort, a liveness
    probe on /healthz and a readiness probe on /readyz at that port, an API
    token (config or env), a grace period above [service] shutdown_timeout;
    the store: with one replica, --store on a writable PVC mount whose claim
    (ReadWriteOnce) is in the file and strategy Recreate; with more, no
    --store, [service] store_env set in the container's env (the shared
    PostgreSQL store from the Secret) and no volume but the config and /tmp;
    the Service and PodDisruptionBudget select the pods, the Service's
    targetPort names a container port, the budget lets a drain evict one.

The run (skipped with --no-run): starts two throwaway PostgreSQL clusters
with deploy/lib/clusters.sh (a "prod" with data, a "dev" with the same schema
and stale rows, and on the dev server a preview database and a run store
database; dev is reached through a non-loopback address when the machine has
one, so it is a remote target that only allow_writes = true lets freshet
write to), gives each Secret key a URL of them, writes the ConfigMap's files
where the pod mounts them, and runs FRESHET_BINARY with the container's args
exactly, with the container's env only (secretKeyRef resolved), mount paths
mapped into a temporary directory, and, when run as root, as user 10001 with
no capabilities and no new privileges. After the CronJob's command the dev
tables must equal prod's (row count and md5); for the preview Job, a snapshot
is captured first (`freshet snapshot capture`) with /snapshots/latest
pointing at it, and after its command the preview database must equal prod.
Then serve-replicas.yaml: dev is made stale again and two processes start
from its container (--listen moved to two loopback ports, FRESHET_API_TOKEN
added to the env, the config's token hash being a placeholder); within a
deadline both must answer /readyz 200, one /healthz role "leader", the other
"follower". The config's sync job is triggered through the follower (202),
its run polled there until it ends, "succeeded", with dev equal to prod.
The leader is killed (SIGKILL); the follower must say "leader" within the
deadline, and exit 0 on SIGTERM. Last serve.yaml: one process on an empty
PVC directory, ready with role "single", exits 0 on SIGTERM.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE = "ghcr.io/freshet/freshet:0.1.0"
RUN_AS_USER = 10001
SCHEDULE = "0 2 * * 0"
TIME_ZONE = "Etc/UTC"
MAX_ACTIVE_DEADLINE = 6 * 3600
MIN_GRACE_PERIOD = 300  # freshet puts the target back after SIGTERM
NON_RETRYABLE_EXIT_CODES = {2, 3, 4, 5}  # usage, plan, verification, refused
PREVIEW_PLACEHOLDERS = {"PREVIEW_NAME": "pr-123", "PREVIEW_DATABASE": "preview_pr_123"}
KINDS = {("batch/v1", "CronJob"), ("batch/v1", "Job"), ("v1", "ConfigMap"), ("v1", "Secret"),
         ("apps/v1", "Deployment"), ("policy/v1", "PodDisruptionBudget"), ("v1", "Service"),
         ("v1", "PersistentVolumeClaim")}
SUBDIRECTORIES = ["serve"]
# Which objects each file must hold: (kind, name), after substitution.
EXPECTED_OBJECTS = {
    "cronjob.yaml": [("CronJob", "freshet-weekly-refresh")],
    "preview-restore-job.yaml": [("Job", "freshet-preview-restore-pr-123")],
    "configmap.yaml": [("ConfigMap", "freshet-config")],
    "secret.example.yaml": [("Secret", "freshet-database-urls")],
    "serve/configmap.yaml": [("ConfigMap", "freshet-serve-config")],
    "serve/serve.yaml": [("PersistentVolumeClaim", "freshet-serve-store"),
                         ("Deployment", "freshet-serve"), ("Service", "freshet-serve")],
    "serve/serve-replicas.yaml": [("Deployment", "freshet-serve"),
                                  ("PodDisruptionBudget", "freshet-serve"),
                                  ("Service", "freshet-serve")],
}
# The ways to run `freshet serve`, one installed at a time (both define the
# Deployment and Service freshet-serve), and the replicas each must have.
SERVE_VARIANTS = {"serve/serve.yaml": 1, "serve/serve-replicas.yaml": 2}
SERVE_PROBES = {"livenessProbe": "/healthz", "readinessProbe": "/readyz"}
RESTART_POLICIES = {"Job": ("Never", "OnFailure"), "Deployment": (None, "Always")}
# What each Secret key stands for in the run: "prod", "dev", "preview" (the
# preview server, no database name) or "store" (the run store of serve).
SECRET_KEY_ROLES = {"prod-url": "prod", "dev-url": "dev", "preview-url": "preview",
                    "store-url": "store"}
STORE_DATABASE = "freshet_store"
SERVE_DEADLINE = 120  # seconds to become ready, to elect a leader, to take over, to stop
RUN_DEADLINE = 300  # seconds for the serve job's run to end

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")
    print(f"check_k8s.py: FAIL {where}: {message}", file=sys.stderr)


def note(message):
    print(f"check_k8s.py: {message}", file=sys.stderr)


def get(obj, path):
    """obj at a dotted path ("spec.jobTemplate.spec"); None when absent."""
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


# --- cron ------------------------------------------------------------------

CRON_FIELDS = [("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
               ("day of week", 0, 7)]
CRON_NAMES = {3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                  "dec"],
              4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]}


def cron_problem(expression):
    """Why `expression` is not a valid 5-field cron expression, or None."""
    if not isinstance(expression, str):
        return "not a string"
    if "TZ=" in expression:
        return "has a TZ= prefix (use spec.timeZone)"
    fields = expression.split()
    if len(fields) != 5:
        return f"has {len(fields)} fields, expected 5"
    for index, (field, (name, low, high)) in enumerate(zip(fields, CRON_FIELDS)):
        for part in field.split(","):
            match = re.fullmatch(r"(\*|\?|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?", part.lower())
            if not match:
                return f"{name} field '{field}' is malformed"
            if match.group(2) is not None and int(match.group(2)) == 0:
                return f"{name} field '{field}' has step 0"
            if match.group(1) in ("*", "?"):
                continue
            for value in match.group(1).split("-"):
                names = CRON_NAMES.get(index, [])
                if value in names:
                    continue
                if not value.isdigit() or not low <= int(value) <= high:
                    return f"{name} field '{field}': {value} is not in {low}-{high}"
    return None


# --- quantities --------------------------------------------------------------

SUFFIXES = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20,
            "Gi": 2**30, "Ti": 2**40}


def quantity(value):
    """A Kubernetes quantity as a float, or None when it is not one."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?", str(value))
    if not match:
        return None
    return float(match.group(1)) * SUFFIXES[match.group(2) or ""]


# --- loading ---------------------------------------------------------------

def substitute_preview(text):
    for name, value in PREVIEW_PLACEHOLDERS.items():
        text = text.replace("${" + name + "}", value)
    return text


def load_manifests(directory):
    """{file name: [documents]}; preview-restore-job.yaml with its
    placeholders substituted as the README's envsubst line does."""
    manifests = {}
    names = []
    for folder in [""] + SUBDIRECTORIES:
        if os.path.isdir(os.path.join(directory, folder)):
            names += sorted(os.path.join(folder, n) if folder else n
                            for n in os.listdir(os.path.join(directory, folder))
                            if n.endswith((".yaml", ".yml")))
    for name in names:
        path = os.path.join(directory, name)
        with open(path, encoding="utf-8") as file:
            text = file.read()
        if name == "preview-restore-job.yaml":
            body = "\n".join(line for line in text.splitlines()
                             if not line.lstrip().startswith("#"))
            for placeholder in sorted(set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", body))):
                if placeholder not in PREVIEW_PLACEHOLDERS:
                    fail(name, f"uses ${{{placeholder}}}; the only placeholders a script "
                               f"substitutes are {', '.join(sorted(PREVIEW_PLACEHOLDERS))}")
            for placeholder in PREVIEW_PLACEHOLDERS:
                if "${" + placeholder + "}" not in body:
                    fail(name, f"does not use the placeholder ${{{placeholder}}}")
            text = substitute_preview(text)
        try:
            documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
        except yaml.YAMLError as error:
            fail(name, f"is not valid YAML: {error}")
            continue
        manifests[name] = documents
    for name in EXPECTED_OBJECTS:
        if name not in manifests and not any(f.startswith(f"{name}:") for f in failures):
            fail(name, "missing")
    return manifests


def index_objects(manifests):
    """({(kind, name): (file, document)} of every file but the serve variants,
    {variant file: those objects and the variant's own}), checking
    apiVersion/kind/name."""
    objects = {}
    own = {file: {} for file in SERVE_VARIANTS if file in manifests}
    for file, documents in manifests.items():
        into = own.get(file, objects)
        for number, doc in enumerate(documents, 1):
            where = f"{file} (document {number})"
            if not isinstance(doc, dict):
                fail(where, "is not a mapping")
                continue
            pair = (doc.get("apiVersion"), doc.get("kind"))
            if pair not in KINDS:
                fail(where, f"apiVersion/kind is {pair[0]}/{pair[1]}, expected one of "
                            + ", ".join(f"{a} {k}" for a, k in sorted(KINDS)))
                continue
            name = get(doc, "metadata.name")
            if not isinstance(name, str) or not name:
                fail(where, "metadata.name missing")
                continue
            if (doc["kind"], name) in into:
                fail(where, f"{doc['kind']}/{name} is defined twice")
            into[(doc["kind"], name)] = (file, doc)
    variants = {}
    for file, found in own.items():
        for kind, name in sorted(set(found) & set(objects)):
            fail(file, f"{kind}/{name} is also defined in {objects[(kind, name)][0]}")
        variants[file] = {**objects, **found}
    for file, expected in EXPECTED_OBJECTS.items():
        for kind, name in expected:
            found = variants.get(file, objects).get((kind, name))
            if not found or found[0] != file:
                fail(file, f"expected a {kind} named {name}")
    return objects, variants


# --- static checks -------------------------------------------------------------

def object_keys(doc):
    keys = set((doc.get("data") or {}).keys())
    keys |= set((doc.get("stringData") or {}).keys())
    keys |= set((doc.get("binaryData") or {}).keys())
    return keys


def check_ref(objects, where, kind, name, key):
    found = objects.get((kind, name))
    if not found:
        fail(where, f"refers to {kind} '{name}', which no manifest in deploy/k8s defines")
    elif key is not None and key not in object_keys(found[1]):
        fail(where, f"refers to key '{key}' of {kind} '{name}' ({found[0]}), which holds only "
                    f"{sorted(object_keys(found[1]))}")


def int_field(where, spec, field, low, high, must=True):
    value = spec.get(field)
    if value is None:
        if must:
            fail(where, f"{field} missing, expected an integer in [{low}, {high}]")
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        fail(where, f"{field} is {value!r}, expected an integer in [{low}, {high}]")
        return None
    return value


def check_cronjob(where, spec):
    problem = cron_problem(spec.get("schedule"))
    if problem:
        fail(where, f"spec.schedule {spec.get('schedule')!r} {problem}")
    elif spec["schedule"].split() != SCHEDULE.split():
        fail(where, f"spec.schedule is {spec['schedule']!r}, expected {SCHEDULE!r} "
                    "(Sunday 02:00, as the systemd timer)")
    if spec.get("timeZone") != TIME_ZONE:
        fail(where, f"spec.timeZone is {spec.get('timeZone')!r}, expected {TIME_ZONE!r}")
    if spec.get("concurrencyPolicy") != "Forbid":
        fail(where, f"spec.concurrencyPolicy is {spec.get('concurrencyPolicy')!r}, expected "
                    "'Forbid' (two refreshes of one target at once)")
    int_field(where, spec, "startingDeadlineSeconds", 1, 6 * 3600)
    int_field(where, spec, "successfulJobsHistoryLimit", 0, 10)
    int_field(where, spec, "failedJobsHistoryLimit", 1, 10)
    if spec.get("suspend"):
        fail(where, "spec.suspend is true: the CronJob would never run")


def check_job(where, spec):
    if not isinstance(spec, dict):
        fail(where, "job spec missing")
        return
    int_field(where, spec, "backoffLimit", 0, 1)
    int_field(where, spec, "activeDeadlineSeconds", 1, MAX_ACTIVE_DEADLINE)
    int_field(where, spec, "ttlSecondsAfterFinished", 1, 90 * 86400)
    policy = spec.get("podFailurePolicy")
    if policy is not None:
        if get(spec, "template.spec.restartPolicy") != "Never":
            fail(where, "podFailurePolicy needs template.spec.restartPolicy Never")
        failing = set()
        for rule in policy.get("rules") or []:
            codes = rule.get("onExitCodes")
            if rule.get("action") == "FailJob" and codes and codes.get("operator") == "In":
                failing |= set(codes.get("values") or [])
        if not NON_RETRYABLE_EXIT_CODES <= failing:
            fail(where, f"podFailurePolicy fails the Job at once on exit codes "
                        f"{sorted(failing)}, expected at least "
                        f"{sorted(NON_RETRYABLE_EXIT_CODES)} (freshet's usage, plan, "
                        "verification and refusal errors, which a retry repeats)")
    check_pod(where + " template.spec", get(spec, "template.spec") or {}, "Job")


def check_pod(where, pod, workload):
    """`workload`: "Job" (a run to its end) or "Deployment" (a service)."""
    restart = pod.get("restartPolicy")
    if restart not in RESTART_POLICIES[workload]:
        fail(where, f"restartPolicy is {restart!r}, expected "
                    + " or ".join(str(p or "unset") for p in RESTART_POLICIES[workload])
                    + f" in a {workload}")
    context = pod.get("securityContext") or {}
    if context.get("runAsNonRoot") is not True:
        fail(where, "securityContext.runAsNonRoot is not true")
    if context.get("runAsUser") != RUN_AS_USER:
        fail(where, f"securityContext.runAsUser is {context.get('runAsUser')!r}, "
                    f"expected {RUN_AS_USER}")
    if get(context, "seccompProfile.type") != "RuntimeDefault":
        fail(where, f"securityContext.seccompProfile.type is "
                    f"{get(context, 'seccompProfile.type')!r}, expected 'RuntimeDefault'")
    if pod.get("automountServiceAccountToken") is not False:
        fail(where, "automountServiceAccountToken is not false (freshet needs no API access)")
    if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
        fail(where, "uses the host's network, PID or IPC namespace")
    grace = pod.get("terminationGracePeriodSeconds")
    if not isinstance(grace, int) or grace < MIN_GRACE_PERIOD:
        fail(where, f"terminationGracePeriodSeconds is {grace!r}, expected at least "
                    f"{MIN_GRACE_PERIOD} (freshet puts the target back after SIGTERM)")
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    containers = pod.get("containers") or []
    if len(containers) != 1:
        fail(where, f"has {len(containers)} containers, expected 1")
    for container in containers + (pod.get("initContainers") or []):
        check_container(f"{where} container {container.get('name')!r}", container, volumes,
                        workload)


def check_container(where, container, volumes, workload):
    if container.get("name") != "freshet":
        fail(where, "name is not 'freshet' (podFailurePolicy and the checks refer to it)")
    if container.get("image") != IMAGE:
        fail(where, f"image is {container.get('image')!r}, expected {IMAGE!r}")
    if "command" in container:
        fail(where, "sets command; the image's ENTRYPOINT is freshet, give only args")
    args = container.get("args")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        fail(where, "args is not a list of strings")
    elif workload == "Job" and "--verify" not in args:
        fail(where, f"args {args} lack --verify (every refresh is checked table by table)")
    context = container.get("securityContext") or {}
    if context.get("allowPrivilegeEscalation") is not False:
        fail(where, "securityContext.allowPrivilegeEscalation is not false")
    if context.get("readOnlyRootFilesystem") is not True:
        fail(where, "securityContext.readOnlyRootFilesystem is not true")
    if context.get("privileged"):
        fail(where, "securityContext.privileged is true")
    if "ALL" not in (get(context, "capabilities.drop") or []):
        fail(where, "securityContext.capabilities.drop does not contain ALL")
    if get(context, "capabilities.add"):
        fail(where, f"securityContext.capabilities.add is {get(context, 'capabilities.add')}")
    if context.get("runAsUser", RUN_AS_USER) != RUN_AS_USER or context.get("runAsNonRoot") is False:
        fail(where, f"securityContext overrides the pod's user {RUN_AS_USER}")
    resources = container.get("resources") or {}
    for resource in ("cpu", "memory"):
        request = quantity(get(resources, f"requests.{resource}"))
        limit = quantity(get(resources, f"limits.{resource}"))
        if request is None:
            fail(where, f"resources.requests.{resource} missing or not a quantity")
        if limit is None:
            fail(where, f"resources.limits.{resource} missing or not a quantity")
        if request is not None and limit is not None and request > limit:
            fail(where, f"resources.requests.{resource} is above resources.limits.{resource}")
    mounts = container.get("volumeMounts") or []
    for mount in mounts:
        if mount.get("name") not in volumes:
            fail(where, f"volumeMount {mount.get('name')!r} ({mount.get('mountPath')}) names no "
                        "volume of the pod")
    for mount in mounts:
        claim = get(volumes.get(mount.get("name"), {}), "persistentVolumeClaim")
        if workload == "Job" and claim and not mount.get("readOnly"):
            fail(where, f"volumeMount {mount.get('name')!r} of PVC {claim.get('claimName')!r} is "
                        "not readOnly (a restore only reads snapshots; the capture owns them)")
    tmp = [m for m in mounts if m.get("mountPath") == "/tmp"]
    if not tmp or "emptyDir" not in volumes.get(tmp[0].get("name"), {}):
        fail(where, "/tmp is not mounted from an emptyDir (the root file system is read-only)")


def check_references(objects, pod_where, pod):
    for volume in pod.get("volumes") or []:
        where = f"{pod_where} volume {volume.get('name')!r}"
        if "configMap" in volume or "secret" in volume:
            kind = "ConfigMap" if "configMap" in volume else "Secret"
            source = volume.get("configMap") or volume.get("secret") or {}
            name = source.get("name") or source.get("secretName")
            items = source.get("items") or [{"key": None}]
            for item in items:
                check_ref(objects, where, kind, name, item.get("key"))
    for container in pod.get("containers") or []:
        where = f"{pod_where} container {container.get('name')!r}"
        for env in container.get("env") or []:
            secret = get(env, "valueFrom.secretKeyRef")
            if secret:
                check_ref(objects, f"{where} env {env.get('name')}", "Secret",
                          secret.get("name"), secret.get("key"))
            config = get(env, "valueFrom.configMapKeyRef")
            if config:
                check_ref(objects, f"{where} env {env.get('name')}", "ConfigMap",
                          config.get("name"), config.get("key"))
        for source in container.get("envFrom") or []:
            if "secretRef" in source:
                check_ref(objects, where, "Secret", source["secretRef"].get("name"), None)
            if "configMapRef" in source:
                check_ref(objects, where, "ConfigMap", source["configMapRef"].get("name"), None)


def mounted_config(objects, pod, container):
    """(config path in the pod, its text) for the file --config names."""
    args = container.get("args") or []
    if "--config" not in args or args.index("--config") + 1 >= len(args):
        return None, None
    path = args[args.index("--config") + 1]
    for mount in container.get("volumeMounts") or []:
        prefix = mount.get("mountPath", "").rstrip("/") + "/"
        if not path.startswith(prefix):
            continue
        volume = next((v for v in pod.get("volumes") or [] if v.get("name") == mount.get("name")),
                      {})
        source = volume.get("configMap")
        if not source:
            return path, None
        found = objects.get(("ConfigMap", source.get("name")))
        if not found:
            return path, None
        relative = path[len(prefix):]
        for item in source.get("items") or [{"key": relative, "path": relative}]:
            if item.get("path") == relative:
                return path, (found[1].get("data") or {}).get(item.get("key"))
    return path, None


def endpoints_used(args, config):
    """[(section, name)] of the endpoints the command resolves."""
    def option(flag):
        return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]
    sync = config.get("sync") or {}
    if "serve" in args:  # the endpoints of every job of [jobs]
        used = []
        for job in (config.get("jobs") or {}).values():
            kind = job.get("kind")
            targets = [job["to"]] if isinstance(job.get("to"), str) else job.get("to") or []
            if kind in ("sync", "incremental"):
                used.append(("sources", job.get("from")))
            if kind in ("sync", "incremental", "snapshot-restore", "migrate-up"):
                used += [("targets", target) for target in targets]
        return list(dict.fromkeys(used))
    if "sync" in args:
        source = (option("--from") or [sync.get("from")])[0]
        target = (option("--to") or [sync.get("to")])[0]
        return [("sources", source), ("targets", target)]
    if "snapshot" in args and "restore" in args:
        return [("targets", t) for t in (option("--to") or [sync.get("to")])]
    return []


def check_config_env(objects, where, pod, container):
    path, text = mounted_config(objects, pod, container)
    if path is None:
        fail(where, "args have no --config FILE")
        return
    if text is None:
        fail(where, f"--config {path} is not a file of a mounted ConfigMap of this directory")
        return
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        fail(where, f"the ConfigMap's {os.path.basename(path)} is not valid TOML: {error}")
        return
    env_names = {e.get("name") for e in container.get("env") or []}
    for section, name in endpoints_used(container.get("args") or [], config):
        endpoint = (config.get(section) or {}).get(name)
        if endpoint is None:
            fail(where, f"the command uses [{section}.{name}], which the config lacks")
            continue
        variable = endpoint.get("url_env")
        if variable and variable not in env_names:
            fail(where, f"[{section}.{name}] reads its URL from ${variable}, which the "
                        "container's env does not set")
        if "url" in endpoint:
            fail(where, f"[{section}.{name}] has an inline url in a ConfigMap (secrets belong "
                        "in the Secret)")


def pods_of(objects):
    """[(file, where, job spec, pod spec)] for the CronJob and every Job."""
    out = []
    for (kind, name), (file, doc) in sorted(objects.items()):
        if kind == "CronJob":
            where = f"{file}: CronJob/{name} spec.jobTemplate.spec"
            job = get(doc, "spec.jobTemplate.spec")
        elif kind == "Job":
            where = f"{file}: Job/{name} spec"
            job = get(doc, "spec")
        else:
            continue
        out.append((file, where, job or {}, get(job or {}, "template.spec") or {}))
    return out


# --- serve ---------------------------------------------------------------------

DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "": 1, "s": 1, "min": 60, "h": 3600, "d": 86400}
DEFAULT_SHUTDOWN_TIMEOUT = 60  # [service] shutdown_timeout when the config has none
ONE_NODE_MODES = {"ReadWriteOnce", "ReadWriteOncePod"}


def duration_seconds(value):
    """A freshet duration ("10min", "90d") in seconds, or None."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?) *(us|ms|s|min|h|d)?", str(value))
    if not match:
        return None
    return float(match.group(1)) * DURATION_UNITS[match.group(2) or ""]


def parsed_config(objects, pod, container):
    """The config --config names, parsed; None when it cannot be (what
    check_config_env reports)."""
    _, text = mounted_config(objects, pod, container)
    try:
        return tomllib.loads(text) if text is not None else None
    except tomllib.TOMLDecodeError:
        return None


def option_value(args, flag):
    if flag in args and args.index(flag) + 1 < len(args):
        return args[args.index(flag) + 1]
    return None


def check_selector(where, selector, labels, others):
    """`selector` (a label map) selects the pod's `labels`, and none of
    `others` ([(where, labels)] of the jobs' pods)."""
    if not isinstance(selector, dict) or not selector:
        fail(where, f"is {selector!r}, expected labels of the pod")
        return
    for key, value in selector.items():
        if labels.get(key) != value:
            fail(where, f"selects {key}={value}, which the pod's labels {labels} do not have")
    for other, other_labels in others:
        if all(other_labels.get(key) == value for key, value in selector.items()):
            fail(where, f"{selector} also selects the pods of {other}")


def check_label_selector(where, selector, labels, others):
    """A Deployment's or PodDisruptionBudget's spec.selector."""
    if (selector or {}).get("matchExpressions"):
        fail(where, "has matchExpressions, which check_k8s.py does not model")
    check_selector(where + ".matchLabels", (selector or {}).get("matchLabels"), labels, others)


def container_ports(pod):
    """{port name: containerPort} of the pod's containers."""
    return {port.get("name"): port.get("containerPort")
            for container in pod.get("containers") or [] for port in container.get("ports") or []}


def port_number(ports, port):
    """The containerPort that a probe's or a Service's port (a name or a
    number) means, or None."""
    if isinstance(port, str):
        return ports.get(port)
    return port if port in ports.values() else None


def check_serve_container(where, pod, container, config, replicas):
    args = container.get("args") or []
    ports = container_ports({"containers": [container]})
    if not ports or None in ports:
        fail(where, "ports: expected named containerPorts (the probes and the Service name them)")
    listen = option_value(args, "--listen") or get(config or {}, "service.listen")
    address = re.fullmatch(r"(.*):([0-9]+)", str(listen))
    if not address or address.group(1) not in ("0.0.0.0", "[::]"):
        fail(where, f"listens on {listen!r}, expected 0.0.0.0:PORT or [::]:PORT (the probes "
                    "and the Service reach the pod from outside)")
        address = None
    elif int(address.group(2)) not in ports.values():
        fail(where, f"listens on port {address.group(2)}, which is no containerPort ({ports})")
    for probe, path in SERVE_PROBES.items():
        http = get(container, f"{probe}.httpGet") or {}
        if http.get("path") != path:
            fail(where, f"{probe}.httpGet.path is {http.get('path')!r}, expected {path!r}")
        port = port_number(ports, http.get("port"))
        if port is None or (address and port != int(address.group(2))):
            fail(where, f"{probe}.httpGet.port {http.get('port')!r} is not the port freshet "
                        f"listens on ({listen})")
    if config is None:
        return
    service = config.get("service") or {}
    env_names = {e.get("name") for e in container.get("env") or []}
    if not service.get("tokens") and "FRESHET_API_TOKEN" not in env_names:
        fail(where, "no API token: the config has no [service.tokens] and the env no "
                    "FRESHET_API_TOKEN (freshet serve refuses to start)")
    timeout = duration_seconds(service.get("shutdown_timeout", DEFAULT_SHUTDOWN_TIMEOUT))
    grace = pod.get("terminationGracePeriodSeconds")
    if timeout is None:
        fail(where, f"[service] shutdown_timeout {service['shutdown_timeout']!r} is not a "
                    "duration")
    elif isinstance(grace, int) and grace <= timeout:
        fail(where, f"terminationGracePeriodSeconds {grace} is not above [service] "
                    f"shutdown_timeout ({timeout:g} s): SIGKILL would come before the runs "
                    "are cancelled and their targets put back")
    store = option_value(args, "--store")
    if replicas == 1:
        mounts = sorted(container.get("volumeMounts") or [],
                        key=lambda m: -len(m.get("mountPath", "")))
        mount = next((m for m in mounts
                      if str(store).startswith(m.get("mountPath", "").rstrip("/") + "/")), None)
        volume = next((v for v in pod.get("volumes") or []
                       if mount and v.get("name") == mount.get("name")), {})
        if store is None:
            fail(where, "args lack --store FILE (the run history, on the volume)")
        elif "persistentVolumeClaim" not in volume or mount.get("readOnly"):
            fail(where, f"--store {store} is not on a writable PersistentVolumeClaim mount "
                        "(the history would be lost with the pod)")
    elif store is not None:
        fail(where, f"args have --store {store}: it wins over [service] store_env, and each "
                    "replica would keep its own history and lead alone")
    elif not service.get("store_env"):
        fail(where, "[service] store_env is not set: the replicas need a shared PostgreSQL "
                    "store, its URL from the Secret")
    elif service["store_env"] not in env_names:
        fail(where, f"[service] store_env is {service['store_env']}, which the container's env "
                    "does not set (freshet serve refuses to start)")


def check_deployment(where, objects, doc, replicas, others):
    spec = doc.get("spec") or {}
    if spec.get("replicas") != replicas:
        fail(where, f"spec.replicas is {spec.get('replicas')!r}, expected {replicas}")
    labels = get(spec, "template.metadata.labels") or {}
    check_label_selector(where + " spec.selector", spec.get("selector"), labels, others)
    pod = get(spec, "template.spec") or {}
    pod_where = where + " spec.template.spec"
    check_pod(pod_where, pod, "Deployment")
    check_references(objects, pod_where, pod)
    for container in pod.get("containers") or []:
        here = f"{pod_where} container {container.get('name')!r}"
        check_config_env(objects, here, pod, container)
        check_serve_container(here, pod, container, parsed_config(objects, pod, container),
                              replicas)
    mounts = {m.get("name"): m.get("mountPath")
              for c in pod.get("containers") or [] for m in c.get("volumeMounts") or []}
    for volume in pod.get("volumes") or []:
        here = f"{pod_where} volume {volume.get('name')!r}"
        claim = get(volume, "persistentVolumeClaim.claimName")
        if claim is not None:
            found = objects.get(("PersistentVolumeClaim", claim))
            if not found:
                fail(here, f"claims {claim!r}, which no manifest in deploy/k8s defines")
            elif set(get(found[1], "spec.accessModes") or []) & ONE_NODE_MODES \
                    and get(spec, "strategy.type") != "Recreate":
                fail(where, f"spec.strategy.type is {get(spec, 'strategy.type')!r}, expected "
                            f"'Recreate': the new pod cannot attach the ReadWriteOnce volume "
                            f"{claim!r} while the old one holds it, nor share its store")
        on_tmp = "emptyDir" in volume and mounts.get(volume.get("name")) == "/tmp"
        if replicas > 1 and not ("configMap" in volume or on_tmp):
            fail(here, "replicas keep nothing in the pod (the store is shared): expected only "
                       "the config and an emptyDir on /tmp")


def check_claim(where, doc):
    modes = get(doc, "spec.accessModes") or []
    if len(modes) != 1 or modes[0] not in ONE_NODE_MODES:
        fail(where, f"spec.accessModes is {modes}, expected [ReadWriteOnce] (a SQLite store is "
                    "a file one process writes)")
    size = quantity(get(doc, "spec.resources.requests.storage"))
    if not size:
        fail(where, "spec.resources.requests.storage missing or not a positive quantity")


def check_service(where, doc, deployment, others):
    pod = get(deployment, "spec.template") or {}
    check_selector(where + " spec.selector", get(doc, "spec.selector"),
                   get(pod, "metadata.labels") or {}, others)
    ports = container_ports(pod.get("spec") or {})
    if not get(doc, "spec.ports"):
        fail(where, "spec.ports is empty")
    for port in get(doc, "spec.ports") or []:
        target = port.get("targetPort", port.get("port"))
        if port_number(ports, target) is None:
            fail(f"{where} port {port.get('name')!r}", f"targetPort {target!r} is no container "
                                                       f"port of the pod ({ports})")


def check_budget(where, doc, deployment, others):
    spec = doc.get("spec") or {}
    check_label_selector(where + " spec.selector", spec.get("selector"),
                         get(deployment, "spec.template.metadata.labels") or {}, others)
    replicas = get(deployment, "spec.replicas") or 1
    given = [field for field in ("minAvailable", "maxUnavailable") if field in spec]
    if len(given) != 1:
        fail(where, "expected one of spec.minAvailable and spec.maxUnavailable")
        return
    value = spec[given[0]]
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value < replicas:
        fail(where, f"spec.{given[0]} is {value!r}, expected an integer from 1 to "
                    f"{replicas - 1} of the {replicas} replicas (one answers during a drain, "
                    "and the drain can evict one)")


def check_serve_variant(file, objects, replicas):
    own = {key: doc for key, (found_in, doc) in objects.items() if found_in == file}
    deployments = [(name, doc) for (kind, name), doc in sorted(own.items())
                   if kind == "Deployment"]
    if len(deployments) > 1:
        fail(file, f"has {len(deployments)} Deployments, expected 1")
    if len(deployments) != 1:
        return  # none: index_objects said so
    name, deployment = deployments[0]
    # The jobs' pods: the serve selectors must not take them in.
    others = [(where, get(job, "template.metadata.labels") or {})
              for _file, where, job, _pod in pods_of(objects)]
    check_deployment(f"{file}: Deployment/{name}", objects, deployment, replicas, others)
    for (kind, other), doc in sorted(own.items()):
        where = f"{file}: {kind}/{other}"
        if kind == "Service":
            check_service(where, doc, deployment, others)
        elif kind == "PodDisruptionBudget":
            check_budget(where, doc, deployment, others)
        elif kind == "PersistentVolumeClaim":
            check_claim(where, doc)


def check_static(objects, variants):
    for (kind, name), (file, doc) in sorted(objects.items()):
        if kind == "CronJob":
            check_cronjob(f"{file}: CronJob/{name}", doc.get("spec") or {})
        if kind == "Job" and not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", name):
            fail(f"{file}: Job/{name}", "metadata.name is not a valid DNS label (63 characters "
                                         "at most, lower case, digits and '-')")
        if kind == "ConfigMap":
            for key, value in (doc.get("data") or {}).items():
                if not key.endswith(".toml"):
                    continue
                try:
                    tomllib.loads(str(value))
                except tomllib.TOMLDecodeError as error:
                    fail(f"{file}: ConfigMap/{name}", f"data.{key} is not valid TOML: {error}")
        if kind == "Secret":
            for key, value in (doc.get("stringData") or {}).items():
                if "CHANGE-ME" not in str(value):
                    fail(f"{file}: Secret/{name}", f"stringData.{key} does not look like a "
                                                   "placeholder (CHANGE-ME): a real secret?")
    for _file, where, job, pod in pods_of(objects):
        check_job(where, job)
        check_references(objects, where + " template.spec", pod)
        for container in pod.get("containers") or []:
            check_config_env(objects, f"{where} container {container.get('name')!r}", pod,
                             container)
    for file, view in sorted(variants.items()):
        check_serve_variant(file, view, SERVE_VARIANTS[file])


# --- the run ---------------------------------------------------------------------

CLUSTER_HELPER = r'''
set -euo pipefail
CLUSTERS_DIR=$2
source "$1/deploy/lib/clusters.sh"
trap stop_clusters EXIT
mkdir -p "$CLUSTERS_DIR"
prod=$(free_port 57432)
start_cluster prod "$prod"
dev=$(free_port $((prod + 1)))
# The dev server is also reached through this machine's first non-loopback
# IPv4 address, if any, so that freshet sees a remote target and the
# config's allow_writes = true is what lets the jobs write to it.
ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' |
  grep -v '^127\.' | head -n1 || true)
if [[ -n $ip ]]; then
  start_cluster dev "$dev" -c "listen_addresses=127.0.0.1,$ip"
  echo "host all all $ip/32 trust" >>"$CLUSTERS_DIR/dev/pg_hba.conf"
  psql -qAtX -h 127.0.0.1 -p "$dev" -U postgres -c 'SELECT pg_reload_conf()' >/dev/null
else
  start_cluster dev "$dev"
  ip=127.0.0.1
fi
echo "$prod $dev $ip"
read -r _ || true
'''

SCHEMA = """
CREATE TABLE public.customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.orders (id bigint PRIMARY KEY,
  customer_id int NOT NULL REFERENCES public.customers, total numeric(10,2), placed date);
"""
PROD_DATA = """
INSERT INTO public.customers SELECT i, 'customer ' || i FROM generate_series(1, 300) i;
INSERT INTO public.orders SELECT i, 1 + i % 300, (i * 7 % 1000) / 3.0,
  date '2026-01-01' + i % 300 FROM generate_series(1, 4000) i;
"""
STALE_DATA = """
INSERT INTO public.customers VALUES (1, 'stale'), (999, 'only here');
INSERT INTO public.orders VALUES (1, 999, 1.00, '2020-01-01');
"""
TABLES = ["public.customers", "public.orders"]


def psql(url, sql):
    result = subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", url], input=sql,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.strip()}")
    return result.stdout.strip()


def digest(url, table):
    return psql(url, f"SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' "
                     f"ORDER BY t.id), '')) FROM {table} t")


# --- serve processes -------------------------------------------------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# No proxy handler: an http_proxy of the environment must not catch loopback calls.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(port, method, path, token=None):
    """(status, JSON body or text) of a call to 127.0.0.1:port; (None, why)
    when nothing answers."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=b"" if method == "POST" else None)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with HTTP.open(request, timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        return None, str(error)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode("utf-8", "replace")


class ServeProcess:
    """One `freshet serve` of a pod; its stdout and stderr go to a file."""

    def __init__(self, name, command, env, port, log):
        self.name = name
        self.port = port
        self.log = log
        with open(log, "wb") as output:
            self.process = subprocess.Popen(command, env=env, cwd="/", stdin=subprocess.DEVNULL,
                                            stdout=output, stderr=subprocess.STDOUT)

    def output(self):
        with open(self.log, encoding="utf-8", errors="replace") as file:
            return f"--- {self.name} (127.0.0.1:{self.port}), its stderr:\n{file.read().strip()}"

    def exited(self):
        return self.process.poll() is not None

    def role(self):
        """Its /healthz role once /readyz says it is ready, else None."""
        ready, _ = http(self.port, "GET", "/readyz")
        status, health = http(self.port, "GET", "/healthz")
        if ready == 200 and status == 200 and isinstance(health, dict):
            return health.get("role")
        return None

    def stop(self, signal_number):
        """Its exit status after `signal_number` (negative: killed by a
        signal); None when it has not exited within the deadline."""
        if not self.exited():
            self.process.send_signal(signal_number)
        try:
            return self.process.wait(timeout=SERVE_DEADLINE)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if not self.exited():
            self.process.kill()
        self.process.wait()


def wait_until(check, processes, seconds=SERVE_DEADLINE):
    """Polls `check` until it returns something true, and returns that; None
    when one of `processes` exits or at the deadline (which only turns a hang
    into a failure)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if any(process.exited() for process in processes):
            return None
        time.sleep(0.2)
    return None


def exit_statuses(processes):
    return ", ".join(f"{p.name}: {'running' if not p.exited() else p.process.returncode}"
                     for p in processes)


class Run:
    def __init__(self, freshet, objects, variants, work):
        self.freshet = freshet
        self.objects = objects
        self.variants = variants
        self.work = work
        self.helper = None

    def start_clusters(self):
        clusters = os.path.join(self.work, "clusters")
        self.helper = subprocess.Popen(["bash", "-c", CLUSTER_HELPER, "clusters-helper", REPO,
                                        clusters], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
        line = self.helper.stdout.readline().split()
        if len(line) != 3:
            raise RuntimeError("the cluster helper (deploy/lib/clusters.sh) did not start")
        prod, dev, dev_host = line
        if dev_host.startswith("127."):
            note("no non-loopback IPv4 address: dev is local, allow_writes is not exercised")
        self.urls = {
            "prod": f"postgres://postgres@127.0.0.1:{prod}/postgres",
            "dev": f"postgres://postgres@{dev_host}:{dev}/postgres",
            "preview": f"postgres://postgres@{dev_host}:{dev}",
            "store": f"postgres://postgres@{dev_host}:{dev}/{STORE_DATABASE}",
        }
        self.preview_db = f"postgres://postgres@{dev_host}:{dev}/" \
                          f"{PREVIEW_PLACEHOLDERS['PREVIEW_DATABASE']}"
        note(f"prod: 127.0.0.1:{prod}; dev and preview server: {dev_host}:{dev}")
        psql(self.urls["dev"], f"CREATE DATABASE {PREVIEW_PLACEHOLDERS['PREVIEW_DATABASE']};")
        psql(self.urls["dev"], f"CREATE DATABASE {STORE_DATABASE};")
        psql(self.urls["prod"], SCHEMA + PROD_DATA)
        for url in (self.urls["dev"], self.preview_db):
            psql(url, SCHEMA + STALE_DATA)
        self.expected = {table: digest(self.urls["prod"], table) for table in TABLES}

    def stop_clusters(self):
        if self.helper:
            self.helper.stdin.close()
            self.helper.wait(timeout=120)

    def secret_value(self, where, name, key):
        found = self.objects.get(("Secret", name))
        role = SECRET_KEY_ROLES.get(key)
        if not found or role is None:
            raise RuntimeError(f"{where}: no test value for key '{key}' of Secret '{name}' "
                               f"(check_k8s.py knows {sorted(SECRET_KEY_ROLES)})")
        return self.urls[role]

    def pod_environment(self, where, container):
        env = {"PATH": "/usr/bin:/bin", "HOME": "/", "LANG": "C.UTF-8"}
        for entry in container.get("env") or []:
            name = entry.get("name")
            if "value" in entry:
                env[name] = str(entry["value"])
            elif get(entry, "valueFrom.secretKeyRef"):
                ref = entry["valueFrom"]["secretKeyRef"]
                if ref.get("optional") and ref.get("key") not in SECRET_KEY_ROLES:
                    continue  # as if the optional Secret were not installed
                env[name] = self.secret_value(f"{where} env {name}", ref.get("name"),
                                              ref.get("key"))
            elif get(entry, "valueFrom.configMapKeyRef"):
                ref = entry["valueFrom"]["configMapKeyRef"]
                _, doc = self.objects[("ConfigMap", ref["name"])]
                env[name] = doc["data"][ref["key"]]
            else:
                raise RuntimeError(f"{where}: env {name}: a source check_k8s.py does not model")
        if container.get("envFrom"):
            raise RuntimeError(f"{where}: envFrom is not modelled by check_k8s.py")
        return env

    def mount(self, where, pod, container, root):
        """Lays the container's volumes out under `root`; returns
        [(mountPath, directory)], longest first."""
        volumes = {v.get("name"): v for v in pod.get("volumes") or []}
        mapped = []
        for mount in container.get("volumeMounts") or []:
            path = mount["mountPath"].rstrip("/")
            directory = root + path
            volume = volumes[mount["name"]]
            if "configMap" in volume:
                os.makedirs(directory)
                _, doc = self.objects[("ConfigMap", volume["configMap"]["name"])]
                data = doc.get("data") or {}
                items = volume["configMap"].get("items") or [{"key": k, "path": k} for k in data]
                for item in items:
                    target = os.path.join(directory, item["path"])
                    with open(target, "w", encoding="utf-8") as file:
                        file.write(data[item["key"]])
                    os.chmod(target, 0o644)
            elif "emptyDir" in volume:
                os.makedirs(directory)
                os.chmod(directory, 0o1777)
            elif get(volume, "persistentVolumeClaim.claimName") == "freshet-snapshots":
                os.makedirs(os.path.dirname(directory), exist_ok=True)
                os.symlink(self.snapshots, directory)
            elif "persistentVolumeClaim" in volume:
                # Another claim (serve's store): new and empty, writable by
                # the pod's fsGroup as Kubernetes makes it.
                os.makedirs(directory)
                if os.geteuid() == 0:
                    context = pod.get("securityContext") or {}
                    os.chown(directory, 0, context.get("fsGroup", RUN_AS_USER))
                os.chmod(directory, 0o2770)
            else:
                raise RuntimeError(f"{where}: volume {mount['name']!r}: a kind check_k8s.py "
                                   "does not model")
            mapped.append((path, directory))
        return sorted(mapped, key=lambda m: -len(m[0]))

    def prepare_container(self, where, pod, container, name, listen=None):
        """(command, env, the args as the manifest shows them) to run the
        container as the pod would, its volumes under a directory `name`;
        `listen` replaces the value of --listen."""
        root = os.path.join(self.work, name)
        os.makedirs(root)
        os.chmod(root, 0o755)
        mapped = self.mount(where, pod, container, root)
        args = []
        given = container.get("args") or []
        for index, arg in enumerate(given):
            if listen and index > 0 and given[index - 1] == "--listen":
                args.append(listen)
                continue
            for path, directory in mapped:
                if arg == path or arg.startswith(path + "/"):
                    arg = directory + arg[len(path):]
                    break
            args.append(arg)
        env = self.pod_environment(where, container)
        user = (pod.get("securityContext") or {}).get("runAsUser", RUN_AS_USER)
        group = (pod.get("securityContext") or {}).get("runAsGroup", user)
        prefix = ["setpriv", "--no-new-privs"]
        if os.geteuid() == 0:
            prefix += [f"--reuid={user}", f"--regid={group}", "--clear-groups",
                       "--bounding-set=-all", "--inh-caps=-all"]
        shown = " ".join(["freshet"] + given)
        return prefix + [self.freshet] + args, env, shown

    def run_container(self, where, pod, container, name):
        command, env, shown = self.prepare_container(where, pod, container, name)
        note(f"running {where}: {shown}")
        result = subprocess.run(command, env=env, cwd="/",
                                capture_output=True, text=True, check=False, timeout=600)
        if result.returncode != 0:
            fail(where, f"`{shown}` exited {result.returncode}:\n{result.stderr.strip()}")
            return False
        return True

    def check_tables(self, where, url, what):
        for table in TABLES:
            actual = digest(url, table)
            if actual != self.expected[table]:
                fail(where, f"after the run, {table} in {what} is '{actual}', expected prod's "
                            f"'{self.expected[table]}'")
            else:
                note(f"ok: {table} arrived in {what}: {actual}")

    def capture_snapshot(self):
        self.snapshots = os.path.join(self.work, "snapshots")
        os.makedirs(self.snapshots)
        os.chmod(self.work, 0o755)
        os.chmod(self.snapshots, 0o755)
        capture = os.path.join(self.snapshots, "2026-12-06")
        result = subprocess.run([self.freshet, "snapshot", "capture", "--from",
                                 self.urls["prod"], "--out", capture], capture_output=True,
                                text=True, check=False, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"freshet snapshot capture failed: {result.stderr.strip()}")
        os.symlink("2026-12-06", os.path.join(self.snapshots, "latest"))
        subprocess.run(["chmod", "-R", "a+rX", self.snapshots], check=True)

    def serve_pod(self, file):
        """(where, pod, container, parsed config) of the Deployment of the
        serve variant `file`."""
        view = self.variants[file]
        name, doc = next((name, doc) for (kind, name), (found, doc) in sorted(view.items())
                         if kind == "Deployment" and found == file)
        pod = get(doc, "spec.template.spec")
        container = pod["containers"][0]
        where = f"{file}: Deployment/{name} container {container.get('name')!r}"
        return where, pod, container, parsed_config(view, pod, container)

    def start_serve(self, where, pod, container, name, token):
        port = free_port()
        # The container's args exactly but for --listen: the pod's
        # 0.0.0.0:7432 twice on one machine would collide, so each process
        # gets a loopback port of its own.
        command, env, shown = self.prepare_container(where, pod, container, name,
                                                     listen=f"127.0.0.1:{port}")
        # The config's token hashes are placeholders: an admin token besides.
        env["FRESHET_API_TOKEN"] = token
        note(f"starting {name} of {where}: {shown} (on 127.0.0.1:{port})")
        return ServeProcess(name, command, env, port, os.path.join(self.work, f"{name}.log"))

    def run_serve_replicas(self, file):
        """Two replicas on one store: a leader and a follower; the config's
        sync job, triggered through the follower, run by the leader; the
        follower takes over when the leader is killed; SIGTERM ends it."""
        where, pod, container, config = self.serve_pod(file)
        jobs = [name for name, job in sorted((config.get("jobs") or {}).items())
                if job.get("kind") == "sync"]
        if not jobs:
            fail(where, "the config has no sync job to trigger")
            return
        psql(self.urls["dev"], "TRUNCATE public.orders, public.customers;" + STALE_DATA)
        token = secrets.token_hex(24)
        replicas = []
        try:
            for index in range(2):
                replicas.append(self.start_serve(where, pod, container, f"replica{index}", token))
            self.check_replicas(where, replicas, jobs[0], token)
        finally:
            for replica in replicas:
                replica.kill()

    def check_replicas(self, where, replicas, job, token):
        def outputs():
            return "\n".join(replica.output() for replica in replicas)
        roles = {}

        def elected():
            roles.update({replica.name: replica.role() for replica in replicas})
            return sorted(map(str, roles.values())) == ["follower", "leader"]
        if not wait_until(elected, replicas):
            fail(where, f"the two replicas are not ready as one leader and one follower within "
                        f"{SERVE_DEADLINE} s (roles once ready: {roles}; exit statuses: "
                        f"{exit_statuses(replicas)}):\n{outputs()}")
            return
        leader, follower = sorted(replicas, key=lambda replica: roles[replica.name] != "leader")
        note(f"ok: both ready, {leader.name} the leader, {follower.name} the follower")

        status, body = http(follower.port, "POST", f"/v1/jobs/{job}/runs", token)
        if status != 202 or not isinstance(body, dict) or not isinstance(body.get("id"), int):
            fail(where, f"POST /v1/jobs/{job}/runs on the follower answered {status} {body}, "
                        f"expected 202 with a run id:\n{outputs()}")
            return
        run_id = body["id"]
        seen = {}

        def run_ended():
            seen["answer"] = http(follower.port, "GET", f"/v1/runs/{run_id}", token)
            status, run = seen["answer"]
            return status == 200 and isinstance(run, dict) \
                and run.get("state") in ("succeeded", "failed", "cancelled")
        if not wait_until(run_ended, replicas, RUN_DEADLINE):
            fail(where, f"run {run_id} of job {job} did not end within {RUN_DEADLINE} s by the "
                        f"follower's GET /v1/runs/{run_id}, last {seen.get('answer')} (exit "
                        f"statuses: {exit_statuses(replicas)}):\n{outputs()}")
            return
        run = seen["answer"][1]
        if run["state"] != "succeeded":
            fail(where, f"run {run_id} of job {job} ended {run['state']}: "
                        f"{run.get('error')}\n{outputs()}")
            return
        note(f"ok: run {run_id} of job {job}, triggered through the follower, succeeded")
        self.check_tables(where, self.urls["dev"], "dev")

        leader.kill()
        note(f"killed the leader {leader.name} (SIGKILL)")
        if not wait_until(lambda: follower.role() == "leader", [follower]):
            fail(where, f"{follower.name} did not say role leader within {SERVE_DEADLINE} s "
                        f"of the leader's SIGKILL (it says {follower.role()!r}; exit status: "
                        f"{exit_statuses([follower])}):\n{follower.output()}")
            return
        note(f"ok: {follower.name} took over as the leader")
        status = follower.stop(signal.SIGTERM)
        if status != 0:
            fail(where, f"{follower.name} exited {status} on SIGTERM, expected 0:\n"
                        f"{follower.output()}")
        else:
            note(f"ok: {follower.name} exited 0 on SIGTERM")

    def run_serve_single(self, file):
        """One process on its store volume: ready, role single, SIGTERM ends it."""
        where, pod, container, _ = self.serve_pod(file)
        serve = None
        try:
            serve = self.start_serve(where, pod, container, "single", secrets.token_hex(24))
            if not wait_until(lambda: serve.role() == "single", [serve]):
                fail(where, f"not ready with role single within {SERVE_DEADLINE} s (exit "
                            f"status: {exit_statuses([serve])}):\n{serve.output()}")
                return
            note("ok: ready, role single")
            status = serve.stop(signal.SIGTERM)
            if status != 0:
                fail(where, f"exited {status} on SIGTERM, expected 0:\n{serve.output()}")
            else:
                note("ok: exited 0 on SIGTERM")
            store = os.path.join(self.work, "single") + option_value(container["args"], "--store")
            if not os.path.isfile(store):
                fail(where, "the --store file is not on the volume after the run")
        finally:
            if serve:
                serve.kill()

    def run_all(self):
        self.start_clusters()
        self.capture_snapshot()
        ran = 0
        for _file, where, _job, pod in pods_of(self.objects):
            for container in pod.get("containers") or []:
                args = container.get("args") or []
                here = f"{where} container {container.get('name')!r}"
                if not self.run_container(here, pod, container, f"pod{ran}"):
                    ran += 1
                    continue
                ran += 1
                if "sync" in args:
                    self.check_tables(here, self.urls["dev"], "dev")
                elif "snapshot" in args and "restore" in args:
                    self.check_tables(here, self.preview_db,
                                      f"the preview database "
                                      f"{PREVIEW_PLACEHOLDERS['PREVIEW_DATABASE']}")
                else:
                    fail(here, f"args {args} are neither a sync nor a snapshot restore")
        if ran < 2:
            fail("deploy/k8s", f"ran {ran} job(s), expected the CronJob's and the preview Job's")
        for file in sorted(self.variants, key=lambda f: -SERVE_VARIANTS[f]):
            if SERVE_VARIANTS[file] > 1:
                self.run_serve_replicas(file)
            else:
                self.run_serve_single(file)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("freshet", help="the freshet binary (e.g. build/freshet)")
    parser.add_argument("--dir", default=os.path.join(REPO, "deploy", "k8s"),
                        help="the manifests (default: deploy/k8s of this repository)")
    parser.add_argument("--no-run", action="store_true",
                        help="static checks only: start no clusters, run nothing")
    options = parser.parse_args()
    freshet = os.path.realpath(options.freshet)
    if not os.access(freshet, os.X_OK):
        parser.error(f"{options.freshet} is not an executable")

    objects, variants = index_objects(load_manifests(options.dir))
    check_static(objects, variants)
    if failures:
        note(f"{len(failures)} static check(s) failed; not running the jobs")
        return 1
    count = len(objects) + sum(len(view) - len(objects) for view in variants.values())
    note(f"ok: static checks of {count} objects in {options.dir}")
    if not options.no_run:
        work = tempfile.mkdtemp(prefix="freshet-check-k8s-")
        os.chmod(work, 0o711)
        run = Run(freshet, objects, variants, work)
        try:
            run.run_all()
        except (RuntimeError, subprocess.SubprocessError, OSError) as error:
            fail("run", str(error))
        finally:
            run.stop_clusters()
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        note(f"{len(failures)} check(s) failed")
        return 1
    print("check_k8s.py: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
