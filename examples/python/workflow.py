#!/usr/bin/env python3
"""The ycbg seed workflow: start a background response, poll it, print the result.

Configured from the environment:
  YC_BASE_URL   (default https://ai.api.cloud.yandex.net/v1; e.g. a local yc-emulator)
  YC_API_KEY    (or YC_IAM_TOKEN)
  YC_FOLDER_ID
  YC_MODEL      (default "yandexgpt")

Usage: python3 examples/python/workflow.py ["your prompt"]
"""

import os
import sys
import time
from pathlib import Path

try:
    import ycbg
except ImportError:  # running in the source tree without `pip install ./bindings/python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))
    import ycbg


def main() -> int:
    prompt = sys.argv[1] if len(sys.argv) > 1 else "Write a haiku about background tasks."
    poll_seconds = float(os.environ.get("YCBG_POLL_SECONDS", "2"))

    # None (unset variable) -> the library reads the environment itself.
    client = ycbg.Client(
        api_key=os.environ.get("YC_API_KEY"),
        folder_id=os.environ.get("YC_FOLDER_ID"),
        base_url=os.environ.get("YC_BASE_URL"),
    )
    resp = client.create_background(model=os.environ.get("YC_MODEL", "yandexgpt"), input=prompt)
    print("Task sent:", resp.id, flush=True)

    while True:
        status = resp.poll()
        print("Status:", status, flush=True)
        if status in ("completed", "failed", "cancelled", "incomplete"):
            break
        time.sleep(poll_seconds)

    if status == "completed":
        print("Final response:", resp.output_text)
        return 0
    print("Task ended", status, "-", resp.error, file=sys.stderr)
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ycbg.Error as exc:
        print(f"ycbg error: {exc}", file=sys.stderr)
        sys.exit(2)
