# uHub's Ansible callback plugin: one JSON object per line, appended to the file named by the
# environment variable UHUB_ANSIBLE_EVENTS, for each play, task, per-host task result and the final
# per-host recap. It runs next to the stdout callback (whose human-readable output is unchanged).
#
# Enabled with:
#   ANSIBLE_CALLBACK_PLUGINS=<directory holding this file>
#   ANSIBLE_CALLBACKS_ENABLED=uhub_events
#   UHUB_ANSIBLE_EVENTS=<path of the events file>
#
# Events (keys of each line):
#   {"event": "play",   "name"}
#   {"event": "task",   "name", "play", "task_id", "handler"}
#   {"event": "result", "play", "task", "task_id", "host",
#                       "status": "ok|changed|failed|unreachable|skipped|ignored",
#                       "changed", "rescued", "diff", "msg"}
#   {"event": "stats",  "hosts": {"<host>": {"ok", "changed", "failed", "unreachable",
#                                            "skipped", "rescued", "ignored"}}}
# A task with a loop gives one result per host (the loop's final result; its diff joins the
# items' diffs). A result under no_log carries neither diff nor msg. Python 3 standard library
# and ansible-core only (written for ansible-core 2.19, works with the older result API too).

from __future__ import annotations

DOCUMENTATION = """
    name: uhub_events
    type: aggregate
    short_description: writes uHub's JSON events (one per line) for plays, tasks, results and the recap
    description:
      - Appends one JSON object per line to the file named by the environment variable UHUB_ANSIBLE_EVENTS.
      - Does nothing when UHUB_ANSIBLE_EVENTS is not set.
    requirements:
      - enable in configuration (ANSIBLE_CALLBACKS_ENABLED=uhub_events)
"""

import difflib
import json
import os
from collections.abc import Mapping

from ansible import constants as C
from ansible.plugins.callback import CallbackBase

EVENTS_ENV = "UHUB_ANSIBLE_EVENTS"
MSG_LIMIT = 2000


def _result_dict(result):
    """The result's data: `result` since ansible-core 2.19, `_result` before."""
    data = getattr(result, "result", None)
    if not isinstance(data, Mapping):
        data = getattr(result, "_result", None)
    return data if isinstance(data, Mapping) else {}


def _host(result):
    host = getattr(result, "host", None) or getattr(result, "_host", None)
    return host.get_name() if host is not None else None


def _task(result):
    return getattr(result, "task", None) or getattr(result, "_task", None)


def _task_name(result):
    name = getattr(result, "task_name", None)
    if name:
        return str(name)
    task = _task(result)
    return task.get_name().strip() if task is not None else ""


def _task_id(task):
    uuid = getattr(task, "_uuid", None)
    return str(uuid) if uuid is not None else None


def _is_no_log(result, data):
    task = _task(result)
    no_log = getattr(task, "no_log", None)
    return bool(data.get("_ansible_no_log")) or "censored" in data or (isinstance(no_log, bool) and no_log)


def _in_rescued_block(task):
    """Whether a failure of this task is handled by the rescue section of an enclosing block."""
    child, parent = task, getattr(task, "_parent", None)
    while child is not None and parent is not None:
        rescue = getattr(parent, "rescue", None)
        block = getattr(parent, "block", None)
        child_id = getattr(child, "_uuid", None)
        if rescue and isinstance(block, list) and any(getattr(t, "_uuid", None) == child_id for t in block):
            return True
        child, parent = parent, getattr(parent, "_parent", None)
    return False


def _serialize(value):
    return json.dumps(value, sort_keys=True, indent=4, separators=(",", ": "), default=str) + "\n"


def _unified(diff):
    """One diff entry as text, like the default callback's (without colours)."""
    out = []
    if not isinstance(diff, Mapping):
        return str(diff)
    for key, what in (("dst_binary", "destination file appears to be binary"),
                      ("src_binary", "source file appears to be binary")):
        if key in diff:
            out.append("diff skipped: %s\n" % what)
    for key, what in (("dst_larger", "destination"), ("src_larger", "source")):
        if key in diff:
            out.append("diff skipped: %s file size is greater than %s\n" % (what, diff[key]))
    if "before" in diff and "after" in diff:
        sides = []
        for side in ("before", "after"):
            value = diff[side]
            if isinstance(value, Mapping):
                value = _serialize(value)
            elif value is None:
                value = ""
            elif not isinstance(value, str):
                value = str(value)
            lines = value.splitlines(True)
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n\\ No newline at end of file\n"
            sides.append(lines)
        before_header = "before: %s" % diff["before_header"] if "before_header" in diff else "before"
        after_header = "after: %s" % diff["after_header"] if "after_header" in diff else "after"
        lines = list(difflib.unified_diff(sides[0], sides[1], fromfile=before_header, tofile=after_header,
                                          fromfiledate="", tofiledate="", n=C.DIFF_CONTEXT))
        if lines:
            out.extend(lines)
            out.append("\n")
    if "prepared" in diff:
        out.append(str(diff["prepared"]))
    return "".join(out)


def _diff_text(data):
    """The diff of a result (or of a loop's changed items), or None."""
    parts = []
    items = data.get("results")
    if isinstance(items, list) and "diff" not in data:
        for item in items:
            if isinstance(item, Mapping) and item.get("diff") and item.get("changed", False):
                parts.append(item["diff"])
    elif data.get("diff") and data.get("changed", False):
        parts.append(data["diff"])
    text = ""
    for part in parts:
        for entry in (part if isinstance(part, list) else [part]):
            text += _unified(entry)
    return text or None


def _message(data, status):
    msg = data.get("msg")
    items = data.get("results")
    if status in ("failed", "ignored", "unreachable") and isinstance(items, list):
        # a loop's own msg ("All items completed", "One or more items failed") says less than
        # the first item that went wrong
        for item in items:
            if isinstance(item, Mapping) and (item.get("failed") or item.get("unreachable")) and item.get("msg"):
                msg = item["msg"]
                break
    if msg is None and status == "skipped":
        msg = data.get("skip_reason")
    if msg is None and status in ("failed", "ignored"):
        msg = data.get("stderr") or data.get("reason")
    if msg is None or msg == "":
        return None
    if not isinstance(msg, str):
        msg = json.dumps(msg, sort_keys=True, default=str)
    if len(msg) > MSG_LIMIT:
        msg = msg[:MSG_LIMIT] + "…"
    return msg


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "uhub_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get(EVENTS_ENV) or None
        self._file = None
        self._play = None
        if self._path is None:
            self._display.vv("uhub_events: %s is not set, no events are written" % EVENTS_ENV)

    def _emit(self, event):
        if self._path is None:
            return
        if self._file is None:
            self._file = open(self._path, "a", encoding="utf-8")
        self._file.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
        self._file.flush()

    # plays and tasks

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name().strip()
        self._emit({"event": "play", "name": self._play})

    def _task_start(self, task, handler):
        self._emit({"event": "task", "name": task.get_name().strip(), "play": self._play,
                    "task_id": _task_id(task), "handler": handler})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start(task, False)

    def v2_playbook_on_handler_task_start(self, task):
        self._task_start(task, True)

    # results: one per host and task (loop items are folded into the loop's final result)

    def _result(self, result, status):
        data = _result_dict(result)
        no_log = _is_no_log(result, data)
        changed = bool(data.get("changed", False))
        if status == "ok" and changed:
            status = "changed"
        task = _task(result)
        self._emit({
            "event": "result",
            "play": self._play,
            "task": _task_name(result),
            "task_id": _task_id(task),
            "host": _host(result),
            "status": status,
            "changed": changed,
            "rescued": status == "failed" and task is not None and _in_rescued_block(task),
            "diff": None if no_log else _diff_text(data),
            "msg": None if no_log else _message(data, status),
        })

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_unreachable(self, result):
        task = _task(result)
        self._result(result, "ignored" if getattr(task, "ignore_unreachable", False) else "unreachable")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    # the recap

    def v2_playbook_on_stats(self, stats):
        hosts = {}
        for host in sorted(stats.processed.keys()):
            s = stats.summarize(host)
            hosts[host] = {
                "ok": s.get("ok", 0),
                "changed": s.get("changed", 0),
                "failed": s.get("failures", 0),
                "unreachable": s.get("unreachable", 0),
                "skipped": s.get("skipped", 0),
                "rescued": s.get("rescued", 0),
                "ignored": s.get("ignored", 0),
            }
        self._emit({"event": "stats", "hosts": hosts})
        if self._file is not None:
            self._file.close()
            self._file = None
