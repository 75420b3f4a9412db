#!/usr/bin/env python3
"""An OpenAI Batch JSONL file through ycbg inside a Dask cluster.

The driver reads IN.jsonl, splits its lines into partitions (by line ranges,
or by a hash of custom_id), and sends each partition to a Dask worker.  There
one ``ycbg.Client`` submits every line of the partition (``client.submit``:
the library's I/O thread sends the creates and polls) and collects them as
they finish (``ycbg.as_completed``).  Each partition returns its output
lines, in the format ``ycbg batch`` writes:

    {"id", "custom_id", "response": {"status_code", "request_id", "body": <final Response>}, "error"}

or, for a line that got no Response, ``"response": null`` and
``"error": {"code", "message"}`` naming the line number.  The driver writes
them to OUT.jsonl as partitions finish.

Input lines: ``{"custom_id", "method": "POST", "url": "/v1/responses",
"body": {...}}``, or the short form ``{"custom_id", "input", ...}`` (the
line minus custom_id is the request).  ``--model`` fills in a missing model.

Credentials are never task arguments (Dask may log those): every worker
reads YC_API_KEY (or YC_IAM_TOKEN), YC_FOLDER_ID and YC_BASE_URL from its
own environment.  Workers need the ycbg package installed; this file is
shipped to them with ``upload_file``.

Usage:
  python3 ycbg_dask.py IN.jsonl -o OUT.jsonl [--scheduler tcp://HOST:8786]
         [--partitions N] [--split lines|hash] [--model M] [--max-in-flight K]
Without --scheduler it starts a LocalCluster on this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import uuid
from typing import Any, Dict, Iterator, List, Optional, Tuple

import distributed
import ycbg

DEFAULT_MODEL = "yandexgpt/latest"  # what `ycbg batch` uses without --model

Line = Tuple[int, Dict[str, Any]]  # (line number, the parsed input object)


# -- the output format ----------------------------------------------------------

def batch_request_id() -> str:
    """A new output line id, as `ycbg batch` makes them."""
    return "batch_req_" + uuid.uuid4().hex


def shard_of(custom_id: str, shards: int) -> int:
    """The shard `ycbg batch --shard K/N` gives this custom_id: FNV-1a 64 of
    its UTF-8 bytes, modulo N; so hash partitions and shards coincide."""
    h = 0xcbf29ce484222325
    for byte in custom_id.encode():
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h % shards


def response_line(custom_id: str, task: ycbg.Task) -> Dict[str, Any]:
    """A line that reached a final Response (completed, or failed/incomplete:
    the body says which)."""
    # The library does not report the HTTP request id of a successful call.
    return {"id": batch_request_id(), "custom_id": custom_id,
            "response": {"status_code": 200, "request_id": None, "body": task.response},
            "error": None}


def error_line(custom_id: Optional[str], line_no: int, code: str, message: str) -> Dict[str, Any]:
    """A line that got no Response: a bad input line, or a create that failed."""
    return {"id": batch_request_id(), "custom_id": custom_id, "response": None,
            "error": {"code": code, "message": f"line {line_no}: {message}"}}


def to_request(entry: Dict[str, Any], model: str) -> Dict[str, Any]:
    """The Responses request of an input line (either form); ValueError if it has none."""
    if "body" in entry or "url" in entry or "method" in entry:
        if entry.get("method") != "POST" or entry.get("url") != "/v1/responses":
            raise ValueError('only "method": "POST", "url": "/v1/responses" is supported')
        request = entry.get("body")
        if not isinstance(request, dict):
            raise ValueError('"body" must be a JSON object')
    else:
        request = {k: v for k, v in entry.items() if k != "custom_id"}
    return {"model": model, **request}


# -- on a worker: one partition ------------------------------------------------

def process_partition(lines: List[Line], model: str, timeout: float,
                      options: Dict[str, Any]) -> Dict[str, Any]:
    """Submits every line through one client and returns its output lines.

    Never raises for a line: every failure becomes that line's error line.
    ``options`` are non-secret client settings (max_in_flight, ...); the
    client reads credentials and the base URL from the worker's environment.
    """
    out: List[Dict[str, Any]] = []
    with ycbg.Client(**options) as client:
        pending: Dict[ycbg.Task, Line] = {}
        for line_no, entry in lines:
            try:
                pending[client.submit(to_request(entry, model))] = (line_no, entry)
            except ycbg.Error as e:                    # checked locally: nothing was sent
                out.append(error_line(entry["custom_id"], line_no, e.code or e.kind, e.message))
            except ValueError as e:
                out.append(error_line(entry["custom_id"], line_no, "invalid_request", str(e)))
        try:
            for task in ycbg.as_completed(list(pending), timeout=timeout):
                line_no, entry = pending.pop(task)
                if task.response is not None and task.status.terminal:
                    out.append(response_line(entry["custom_id"], task))
                else:                                  # the create failed for good
                    err = task.error
                    out.append(error_line(entry["custom_id"], line_no, err.code or err.kind, err.message))
                task.close()
        except ycbg.TimeoutError:
            for task, (line_no, entry) in pending.items():
                out.append(error_line(entry["custom_id"], line_no, "timeout",
                                      f"not finished after {timeout} s (response id {task.id})"))
    return {"worker": distributed.get_worker().address, "lines": out}


# -- on the driver -------------------------------------------------------------

def split(path: str, partitions: int, by: str) -> Tuple[List[List[Line]], List[Dict[str, Any]]]:
    """Reads the file: the partitions of its good lines, and the error lines of
    those without a usable, unique custom_id (caught here, across the file)."""
    good: List[Line] = []
    errors: List[Dict[str, Any]] = []
    seen = set()
    with open(path, encoding="utf-8") as f:
        for line_no, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                entry = json.loads(text)
            except ValueError as e:
                errors.append(error_line(None, line_no, "invalid_json", str(e)))
                continue
            custom_id = entry.get("custom_id") if isinstance(entry, dict) else None
            if not isinstance(custom_id, str) or not custom_id:
                errors.append(error_line(None, line_no, "invalid_request", "no custom_id"))
            elif custom_id in seen:
                errors.append(error_line(None, line_no, "duplicate_custom_id", f"custom_id {custom_id!r} seen before"))
            else:
                seen.add(custom_id)
                good.append((line_no, entry))
    if by == "hash":  # a line's partition depends only on its custom_id
        parts: List[List[Line]] = [[] for _ in range(partitions)]
        for line in good:
            parts[shard_of(line[1]["custom_id"], partitions)].append(line)
    else:             # consecutive line ranges of (nearly) equal size
        size = math.ceil(len(good) / partitions) or 1
        parts = [good[i:i + size] for i in range(0, len(good), size)]
    return [p for p in parts if p], errors


def run(dask_client: distributed.Client, path: str, partitions: int = 4, by: str = "lines",
        model: str = DEFAULT_MODEL, timeout: float = 3600,
        **options: Any) -> Iterator[Dict[str, Any]]:
    """Yields {"worker", "lines"} once for the driver's error lines (worker None),
    then once per partition as each finishes."""
    dask_client.upload_file(__file__, load=False)  # workers import process_partition from it
    parts, errors = split(path, partitions, by)
    yield {"worker": None, "lines": errors}
    futures = [dask_client.submit(process_partition, part, model, timeout, options, pure=False)
               for part in parts]
    for future in distributed.as_completed(futures, timeout=timeout + 60):
        yield future.result()


def main(argv: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--scheduler", help="address of a running scheduler (default: a LocalCluster)")
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--split", choices=("lines", "hash"), default="lines")
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--max-in-flight", type=int, help="per partition (the library's max_in_flight)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per partition")
    args = p.parse_args(argv)
    if args.partitions < 1:
        p.error("--partitions must be at least 1")

    cluster = (contextlib.nullcontext(args.scheduler) if args.scheduler
               else distributed.LocalCluster(n_workers=2, threads_per_worker=1))
    summary = []
    with cluster as address, distributed.Client(address) as dask_client, \
            open(args.output, "w", encoding="utf-8") as out:
        for part in run(dask_client, args.input, args.partitions, args.split, args.model,
                        args.timeout, max_in_flight=args.max_in_flight):
            out.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in part["lines"])
            out.flush()
            summary.append({"worker": part["worker"], "lines": len(part["lines"])})
            print(f"{len(part['lines'])} lines from {part['worker'] or 'the driver'}", file=sys.stderr)
    return summary


if __name__ == "__main__":
    main()
