"""A small HTTP/2 client over one socket (h2c with prior knowledge), built on the `h2` package,
for tests that must see frames: many streams on one connection, RST_STREAM codes, resets."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from conftest import API_KEY, MODEL


@dataclass
class Stream:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    ended: bool = False
    reset_code: int | None = None  # the RST_STREAM error code the server sent
    started: float = 0.0
    finished: float | None = None

    @property
    def done(self) -> bool:
        return self.ended or self.reset_code is not None

    def json(self) -> Any:
        return json.loads(self.body)


class H2Client:
    def __init__(self, host: str, port: int, timeout: float = 20):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.authority = f"{host}:{port}"
        self.conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())
        self.streams: dict[int, Stream] = {}
        self.closed = False  # the server closed or reset the TCP connection
        self.reset_by_peer = False
        self.server_settings: dict[int, int] = {}
        # Like nghttp2: read the server's SETTINGS (and acknowledge them) before opening streams, so
        # that a burst of streams meets the announced limit, not the default of 100.
        deadline = time.monotonic() + timeout
        while not self.server_settings:
            assert time.monotonic() < deadline, "no SETTINGS from the server"
            data = self.sock.recv(65536)
            assert data, "the server closed the connection before its SETTINGS"
            self._handle(self.conn.receive_data(data))
            self.sock.sendall(self.conn.data_to_send())

    def close(self) -> None:
        try:
            self.conn.close_connection()
            self.sock.sendall(self.conn.data_to_send())
        except OSError:
            pass
        self.sock.close()

    def send(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             auth: str | None = f"Api-Key {API_KEY}") -> int:
        """Starts a request on a new stream; returns its id."""
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        fields = [(":method", method), (":path", path), (":scheme", "http"), (":authority", self.authority)]
        if auth is not None:
            fields.append(("authorization", auth))
        if data:
            fields += [("content-type", "application/json"), ("content-length", str(len(data)))]
        fields += [(k.lower(), v) for k, v in (headers or {}).items()]
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, fields, end_stream=not data)
        if data:
            self.conn.send_data(sid, data, end_stream=True)  # small bodies: within the first window
        self.sock.sendall(self.conn.data_to_send())
        self.streams[sid] = Stream(started=time.monotonic())
        return sid

    def create(self, **fields: Any) -> int:
        body = {"model": MODEL, "input": "hello", "background": True}
        body.update(fields)
        return self.send("POST", "/v1/responses", body)

    def wait(self, sids: list[int] | None = None, timeout: float = 20) -> None:
        """Reads until every stream in `sids` (default: all) has ended or was reset, or the
        connection closed; fails after `timeout` seconds."""
        wanted = list(self.streams) if sids is None else sids
        deadline = time.monotonic() + timeout
        while not all(self.streams[s].done for s in wanted) and not self.closed:
            left = deadline - time.monotonic()
            assert left > 0, f"streams not done after {timeout} s: {[s for s in wanted if not self.streams[s].done]}"
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                self.closed = self.reset_by_peer = True
                break
            if not data:
                self.closed = True
                break
            self._handle(self.conn.receive_data(data))
            out = self.conn.data_to_send()
            if out:
                self.sock.sendall(out)

    def request(self, method: str, path: str, body: Any = None, **kw: Any) -> Stream:
        sid = self.send(method, path, body, **kw)
        self.wait([sid])
        return self.streams[sid]

    def stats(self) -> dict:
        return self.request("GET", "/_emulator/stats", auth=None).json()

    def _handle(self, events: list) -> None:
        now = time.monotonic()
        for event in events:
            if isinstance(event, h2.events.ResponseReceived):
                stream = self.streams[event.stream_id]
                stream.headers = {k: v for k, v in event.headers}
                stream.status = int(stream.headers[":status"])
            elif isinstance(event, h2.events.DataReceived):
                self.streams[event.stream_id].body += event.data
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self.streams[event.stream_id].ended = True
                self.streams[event.stream_id].finished = now
            elif isinstance(event, h2.events.StreamReset):
                self.streams[event.stream_id].reset_code = int(event.error_code)
                self.streams[event.stream_id].finished = now
            elif isinstance(event, h2.events.RemoteSettingsChanged):
                for key, change in event.changed_settings.items():
                    self.server_settings[int(key)] = change.new_value
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.closed = True
