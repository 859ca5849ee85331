"""The speaker's one MQTT connection (paho-mqtt, version-2 callbacks), shared by every service.

paho runs the network in its own thread. Its callbacks only record what happened and hand the
work to this service's worker thread ("mqtt-work"), where subscription handlers and on-connect
callbacks run; so a slow handler delays other messages, never the network or the voice loop.
`publish` never blocks: it queues the packet for paho's thread, or returns False when offline.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from speaker.errors import MqttError
from speaker.events import EventBus, MqttConnected, MqttDisconnected
from speaker.mqtt.connection import Connection

log = logging.getLogger(__name__)

Handler = Callable[[bytes, str], None]  # (payload, topic)
Payload = str | bytes | bytearray | int | float | None
QUEUE_SIZE = 1000  # messages waiting for the worker; beyond this they are dropped, said in the log
FAIL_LOG_EVERY = 60.0  # seconds between repeated "broker unreachable" warnings


class PayloadError(ValueError):
    """A handler got a message it cannot use; logged as a warning (no traceback) and dropped."""


@dataclass(frozen=True)
class Subscription:
    topic: str  # a topic filter; + and # allowed
    handler: Handler
    qos: int
    max_bytes: int


class MqttService:
    """Connects in the background, reconnects with backoff, restores subscriptions, keeps a last will."""

    def __init__(
        self,
        connection: Connection,
        *,
        bus: EventBus | None = None,
        base_topic: str = "speaker",
        keepalive: int = 30,
        reconnect: tuple[float, float] = (1.0, 60.0),
        max_payload_bytes: int = 64 * 1024,
        availability: bool = True,
    ) -> None:
        """`availability` False: a one-shot client (`speaker ask`) beside the running speaker: it
        says nothing about the speaker being online or offline and connects under its own id."""
        self.connection = connection
        self.availability = availability
        self.bus = bus or EventBus()
        self.root = f"{base_topic}/{connection.device_id}"
        self.availability_topic = f"{self.root}/availability"
        self.keepalive = keepalive
        self.reconnect = reconnect
        self.max_payload_bytes = max_payload_bytes
        self._subscriptions: list[Subscription] = []
        self._on_connect: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._work: queue.Queue[Callable[[], None] | None] = queue.Queue(QUEUE_SIZE)
        self._client: Any = None
        self._worker: threading.Thread | None = None
        self._connected = threading.Event()
        self._stopping = False
        self._last_fail_log = -FAIL_LOG_EVERY
        self._fails = 0
        self._dropped = 0
        self._last_activity = time.monotonic()  # last message or connection
        self._busy = False  # the worker is handling a message
        self._subscribing: dict[int, list[tuple[str, int]]] = {}  # SUBSCRIBE message id -> topics

    # --- the API other services use ---------------------------------------------------------

    def topic(self, *parts: str) -> str:
        """A topic under this speaker's own root: topic("volume", "set") -> speaker/<id>/volume/set."""
        return "/".join((self.root, *parts))

    def subscribe(self, topic: str, handler: Handler, *, qos: int = 1, max_bytes: int | None = None) -> None:
        """Call `handler(payload, topic)` on the worker thread for every message matching `topic`.

        Kept across reconnects. Messages over `max_bytes` (default: mqtt.max_payload_kb) are dropped
        with a warning before the handler sees them.
        """
        sub = Subscription(topic, handler, qos, max_bytes or self.max_payload_bytes)
        with self._lock:
            self._subscriptions.append(sub)
        if self._connected.is_set():
            self._client.subscribe(topic, qos)

    def unsubscribe(self, topic: str, handler: Handler) -> None:
        with self._lock:
            self._subscriptions = [
                s for s in self._subscriptions if not (s.topic == topic and s.handler == handler)
            ]
            still_wanted = any(s.topic == topic for s in self._subscriptions)
        if not still_wanted and self._connected.is_set():
            self._client.unsubscribe(topic)

    def subscriptions(self) -> list[str]:
        with self._lock:
            return sorted({s.topic for s in self._subscriptions})

    def publish(self, topic: str, payload: Payload, *, retain: bool = False, qos: int = 0) -> bool:
        """Queue a message; False (and nothing queued) when not connected. Never blocks."""
        client = self._client
        if client is None or not self._connected.is_set():
            log.debug("not connected: %s not published", topic)
            return False
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != 0:
            log.debug("publishing to %s failed: rc %s", topic, info.rc)
            return False
        return True

    def on_connected(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the worker after every (re)connection: announce, publish state."""
        with self._lock:
            self._on_connect.append(callback)
        if self._connected.is_set():
            self.call_soon(callback)

    def call_soon(self, work: Callable[[], None]) -> None:
        """Run `work` on the worker thread (for anything that must not block the caller)."""
        try:
            self._work.put_nowait(work)
        except queue.Full:
            self._dropped += 1
            log.warning("MQTT work queue full: dropped work (%d so far)", self._dropped)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def quiet_for(self) -> float:
        """Seconds since the last message arrived or was handled (or the connection was made): a
        burst of messages is over only when the worker has handled them, not when they arrived;
        while it is still working (however long one message takes) it is not quiet at all."""
        if self._busy or not self._work.empty():
            return 0.0
        return time.monotonic() - self._last_activity

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting in the background; returns at once, whether the broker is there or not."""
        import paho.mqtt.client as paho

        conn = self.connection
        # the same client id would push the running speaker off the broker
        client_id = conn.client_id if self.availability else f"{conn.client_id}-{os.getpid()}"
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv311,
            clean_session=True,
        )
        if conn.username:
            client.username_pw_set(conn.username, conn.password)
        if conn.tls:
            self._set_tls(client)
        if self.availability:
            client.will_set(self.availability_topic, "offline", qos=1, retain=True)
        client.reconnect_delay_set(int(max(1, self.reconnect[0])), int(max(1, self.reconnect[1])))
        client.on_connect = self._on_connect_cb
        client.on_connect_fail = self._on_connect_fail_cb
        client.on_disconnect = self._on_disconnect_cb
        client.on_message = self._on_message_cb
        client.on_subscribe = self._on_subscribe_cb
        self._client = client
        self._worker = threading.Thread(target=self._run_worker, name="mqtt-work", daemon=True)
        self._worker.start()
        client.connect_async(conn.host, conn.port, keepalive=self.keepalive)
        client.loop_start()
        log.info("MQTT: connecting to %s as %s", conn.describe(), client_id)

    def stop(self, timeout: float = 2.0) -> None:
        """Say "offline" (retained), disconnect, stop the threads. paho's thread writes every packet
        already queued before it ends, so a command published just before is not lost."""
        client, self._stopping = self._client, True
        if client is not None:
            if self._connected.is_set() and self.availability:
                info = client.publish(self.availability_topic, "offline", qos=1, retain=True)
                deadline = time.monotonic() + timeout
                while not info.is_published() and time.monotonic() < deadline and self._connected.is_set():
                    time.sleep(0.01)
            client.disconnect()
            client.loop_stop()
        if self._worker is not None:
            while True:  # messages not handled yet are dropped: the worker ends at once
                try:
                    self._work.get_nowait()
                except queue.Empty:
                    break
            self._work.put(None)
            self._worker.join(timeout)
            self._worker = None
        self._connected.clear()

    def _set_tls(self, client: Any) -> None:
        conn = self.connection
        try:
            client.tls_set(
                ca_certs=str(conn.ca_certs) if conn.ca_certs else None,
                certfile=str(conn.certfile) if conn.certfile else None,
                keyfile=str(conn.keyfile) if conn.keyfile else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise MqttError(f"cannot set up TLS for {conn.describe()}: {exc}") from exc
        if conn.tls_insecure:
            client.tls_insecure_set(True)

    # --- paho's thread: record and hand over ------------------------------------------------

    def _on_connect_cb(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            hint = ""
            if reason.value in (134, 135, 4, 5):  # bad user name or password / not authorized
                hint = " (check the user name and password: mqtt.username, mqtt.password or the URL)"
            self._report_failure(f"the broker refused the connection: {reason}{hint}")
            return
        self._fails = 0
        with self._lock:
            topics = sorted({(s.topic, s.qos) for s in self._subscriptions})
        if self.availability:
            client.publish(self.availability_topic, "online", qos=1, retain=True)
        self._last_activity = time.monotonic()
        if topics:  # ready once the broker has them: retained messages are then on their way
            _, mid = client.subscribe(list(topics))
            self._subscribing[mid] = topics  # the SUBACK comes on this same thread, after this returns
        else:
            self._ready(0)

    def _on_subscribe_cb(self, client: Any, userdata: Any, mid: int, reasons: Any, properties: Any) -> None:
        topics = self._subscribing.pop(mid, None)
        if topics is None:
            return
        refused = [t for (t, _), r in zip(topics, reasons, strict=False) if getattr(r, "is_failure", False)]
        if refused:
            log.warning("MQTT: the broker refused subscriptions (check its ACL): %s", ", ".join(refused))
        self._ready(len(topics))

    def _ready(self, subscriptions: int) -> None:
        with self._lock:
            callbacks = list(self._on_connect)
        self._connected.set()
        broker = self.connection.describe()
        log.info("MQTT: connected to %s (%d subscriptions)", broker, subscriptions)
        self.call_soon(lambda: self.bus.emit(MqttConnected(broker=broker)))
        for callback in callbacks:
            self.call_soon(callback)

    def _on_connect_fail_cb(self, client: Any, userdata: Any) -> None:
        self.call_soon(lambda: self._report_failure(self._diagnose()))

    def _on_disconnect_cb(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if self._stopping or not was_connected:
            return
        broker = self.connection.describe()
        why = "the connection closed" if str(reason) == "Unspecified error" else str(reason)
        log.warning("MQTT: lost the connection to %s (%s); reconnecting in the background", broker, why)
        self.call_soon(lambda: self.bus.emit(MqttDisconnected(broker=broker, reason=why)))

    def _on_message_cb(self, client: Any, userdata: Any, message: Any) -> None:
        topic, payload = message.topic, message.payload
        self._last_activity = time.monotonic()
        self.call_soon(lambda: self._dispatch(payload, topic))

    # --- the worker thread --------------------------------------------------------------------

    def _run_worker(self) -> None:
        while (work := self._work.get()) is not None:
            try:
                work()
            except Exception:  # a broken handler must not stop the others
                log.exception("MQTT: a handler failed")

    def _dispatch(self, payload: bytes, topic: str) -> None:
        self._busy = True
        try:
            self._handle(payload, topic)
        finally:
            self._last_activity = time.monotonic()
            self._busy = False

    def _handle(self, payload: bytes, topic: str) -> None:
        from paho.mqtt.client import topic_matches_sub

        with self._lock:
            matching = [s for s in self._subscriptions if topic_matches_sub(s.topic, topic)]
        for sub in matching:
            if len(payload) > sub.max_bytes:
                log.warning(
                    "MQTT: ignored a %d-byte message on %s (limit %d bytes)",
                    len(payload),
                    topic,
                    sub.max_bytes,
                )
                continue
            try:
                sub.handler(payload, topic)
            except PayloadError as exc:
                log.warning("MQTT: ignored a message on %s: %s", topic, exc)
            except Exception:
                log.exception("MQTT: the handler for %s failed on a message; ignored", topic)

    def _report_failure(self, why: str) -> None:
        self._fails += 1
        now = time.monotonic()
        if self._fails == 1 or now - self._last_fail_log >= FAIL_LOG_EVERY:
            self._last_fail_log = now
            log.warning(
                "MQTT: cannot connect to %s: %s; retrying in the background (the speaker keeps "
                "answering by voice)",
                self.connection.describe(),
                why,
            )
        else:
            log.debug("MQTT: connection attempt %d failed: %s", self._fails, why)

    def _diagnose(self) -> str:
        """Why the broker cannot be reached, in words (paho does not say)."""
        conn = self.connection
        try:
            with socket.create_connection((conn.host, conn.port), timeout=2.0):
                return "the connection failed after it was opened (TLS or protocol mismatch?)"
        except socket.gaierror as exc:
            return f"the host name {conn.host!r} does not resolve ({exc.strerror})"
        except OSError as exc:
            return f"{exc.strerror or exc} (is the broker running and reachable?)"
