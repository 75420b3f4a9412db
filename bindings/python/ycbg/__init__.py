"""ycbg — Yandex Cloud AI Studio text generation in background mode.

A ctypes binding of libycbg (C ABI: include/ycbg.h)::

    import ycbg
    client = ycbg.Client(api_key=KEY, folder_id=FOLDER)
    resp = client.create_background(model="yandexgpt", input="Hello")
    if resp.wait() == "completed":
        print(resp.output_text)

Many at once, from the client's own I/O thread::

    tasks = [client.submit(model="yandexgpt", input=p) for p in prompts]
    for task in ycbg.as_completed(tasks):          # or: async for ... as_completed_async
        print(task.status, task.output_text)
"""

from ._client import (
    TERMINAL_STATUSES,
    WAIT_SLICE_SECONDS,
    Client,
    Status,
    Task,
    library_version,
)
from ._errors import (
    APIError,
    ConfigError,
    Error,
    GenerationError,
    HTTPError,
    InvalidArgumentError,
    InvalidJSONError,
    NetworkError,
    ProtocolError,
    TimeoutError,
)
from ._many import as_completed, as_completed_async
from ._native import library_path
from ._version import __version__

#: Another name for :class:`Task` (what ``create_background`` returns).
Response = Task

__all__ = [
    "Client",
    "Task",
    "Response",
    "Status",
    "as_completed",
    "as_completed_async",
    "TERMINAL_STATUSES",
    "WAIT_SLICE_SECONDS",
    "library_version",
    "library_path",
    "Error",
    "InvalidArgumentError",
    "InvalidJSONError",
    "ConfigError",
    "NetworkError",
    "TimeoutError",
    "HTTPError",
    "APIError",
    "ProtocolError",
    "GenerationError",
    "__version__",
]
