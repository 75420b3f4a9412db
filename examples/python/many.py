#!/usr/bin/env python3
"""Many prompts at once: submit them all, print each answer as it finishes.

One client drives every task from the library's one I/O thread; this script
only waits for the events (``ycbg.as_completed``), or with ``--async`` awaits
them on an asyncio loop (``ycbg.as_completed_async``, no extra thread).

Configured from the environment:
  YC_BASE_URL   (default https://ai.api.cloud.yandex.net/v1; e.g. a local yc-emulator)
  YC_API_KEY    (or YC_IAM_TOKEN)
  YC_FOLDER_ID
  YC_MODEL      (default "yandexgpt")

Usage: python3 examples/python/many.py [--async] "prompt one" "prompt two" ...
"""

import asyncio
import os
import sys
from pathlib import Path
from typing import List

try:
    import ycbg
except ImportError:  # running in the source tree without `pip install ./bindings/python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))
    import ycbg


def show(task: ycbg.Task, prompt: str) -> bool:
    if task.error is not None and task.status != "completed":
        print(f"[{prompt!r}] failed: {task.error}")
        return False
    print(f"[{prompt!r}] {task.status} ({task.id}): {task.output_text}")
    return task.status == "completed"


def run_blocking(client: ycbg.Client, prompts: List[str], model: str) -> int:
    tasks = {client.submit(model=model, input=p): p for p in prompts}   # returns at once
    ok = 0
    for task in ycbg.as_completed(tasks, timeout=600):
        ok += show(task, tasks[task])
    return ok


async def run_async(client: ycbg.Client, prompts: List[str], model: str) -> int:
    tasks = {client.submit(model=model, input=p): p for p in prompts}
    ok = 0
    async for task in ycbg.as_completed_async(tasks, timeout=600):
        ok += show(task, tasks[task])
    return ok


def main() -> int:
    args = sys.argv[1:]
    use_async = "--async" in args
    prompts = [a for a in args if a != "--async"] or [
        "Write a haiku about background tasks.",
        "Name three rivers of Siberia.",
        "Explain HTTP/2 multiplexing in one sentence.",
    ]
    model = os.environ.get("YC_MODEL", "yandexgpt")
    with ycbg.Client() as client:      # YC_* from the environment
        if use_async:
            ok = asyncio.run(run_async(client, prompts, model))
        else:
            ok = run_blocking(client, prompts, model)
    print(f"{ok} of {len(prompts)} completed")
    return 0 if ok == len(prompts) else 1


if __name__ == "__main__":
    sys.exit(main())
