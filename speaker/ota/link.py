"""Over-the-air updates on the speaker's broker connection: manifests in, state and results out.

    link = MqttLink(ota, services.mqtt, services.bridge, settings)   # in `speaker run`
    link.start()
    ...
    link.close()

- Manifests: `<prefix>/fleet/+` and `<prefix>/device/<device id>/+` (the MQTT service subscribes
  again after every reconnect); each message goes to `ota.handle_manifest`, which only queues it
  for the updater's own thread, so the MQTT worker is never held up by a download.
- Home Assistant: every `OtaUpdateState` becomes the state of that model kind's `update` entity
  (installed_version, latest_version, in_progress, update_percentage, release_summary).
- Status: after every `OtaResult`, `<prefix>/status/<device id>` gets `ota.status()` (every
  component: slot, versions, last result and reason) plus `last`, the latest result of all,
  retained, so an operator sees why an update was refused, even for a manifest that named no
  known component.
- Install button: an update that was accepted but could not be finished (the file server was
  away) is retried by itself with a growing delay (30 s up to 30 min); pressing Install in Home
  Assistant retries it now. Nothing else is ever waiting for a button: updates install as soon as
  they are announced, and Home Assistant only offers Install while latest_version differs from
  installed_version and no update is in progress, which is exactly that case.

Everything published runs on the MQTT worker thread (handed over with `call_soon`), never on the
thread that emitted the event (the voice loop's or the updater's).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from speaker.events import Event
from speaker.identity import device_id
from speaker.ota.events import CURRENT, OtaResult, OtaUpdateState
from speaker.ota.manifest import COMPONENTS
from speaker.ota.runtime import OtaRuntime
from speaker.ota.signing import MAX_ENVELOPE
from speaker.ota.state import now_text
from speaker.ota.topics import manifest_subscriptions, status_topic
from speaker.settings import Settings

log = logging.getLogger(__name__)

# Larger than any manifest, so that a wrong one is refused with a reason on the status topic;
# beyond this the MQTT service drops it with a warning in the log.
MANIFEST_MAX_BYTES = 4 * MAX_ENVELOPE


class MqttLink:
    def __init__(self, ota: OtaRuntime, mqtt: Any, bridge: Any, settings: Settings) -> None:
        """`mqtt`: the speaker's MqttService; `bridge`: its HomeAssistantBridge (None: no entities)."""
        self.ota = ota
        self.mqtt = mqtt
        self.bridge = bridge
        self.device = device_id(settings)
        self.topics = manifest_subscriptions(settings.ota.topic_prefix, self.device)
        self.status_topic = status_topic(settings.ota.topic_prefix, self.device)
        self._last: dict[str, Any] | None = None
        self._closers: list[Callable[[], None]] = []

    def start(self) -> None:
        for state in self.ota.states():  # before Home Assistant is told anything: no stale versions
            self._publish_state(state)
        for topic in self.topics:
            self.mqtt.subscribe(topic, self._on_manifest, max_bytes=MANIFEST_MAX_BYTES)
        self.mqtt.on_connected(self._on_connected)
        self._closers.append(self.ota.bus.subscribe(self._on_event))
        if self.bridge is not None:
            for component in COMPONENTS:
                self.bridge.on_install(component, lambda c=component: self.ota.install_now(c))
        log.info("over-the-air updates: listening on %s", ", ".join(self.topics))

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()
        for topic in self.topics:
            self.mqtt.unsubscribe(topic, self._on_manifest)

    # -- in --------------------------------------------------------------------------------------

    def _on_manifest(self, payload: bytes, topic: str) -> None:
        self.ota.handle_manifest(payload, topic)  # queues it; never blocks

    def _on_connected(self) -> None:
        """After every (re)connect: what Home Assistant and the operator must see, again."""
        for state in self.ota.states():
            self._publish_state(state)
        self._publish_status()

    # -- out -------------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        """A bus listener (any thread, under the bus's lock): hand the publishing to the MQTT worker."""
        if isinstance(event, OtaUpdateState):
            self.mqtt.call_soon(lambda: self._publish_state(event))
        elif isinstance(event, OtaResult):
            if event.result == CURRENT:  # a retained manifest delivered again after a reconnect: no news
                return
            self._last = {
                "component": event.component, "version": event.version, "result": event.result,
                "reason": event.reason, "code": event.code, "at": now_text(),
            }  # fmt: skip
            self.mqtt.call_soon(self._publish_status)

    def _publish_state(self, state: OtaUpdateState) -> None:
        fields = state.ha_state()
        if self.bridge is not None:
            self.bridge.publish_update(state.component, **fields)
        else:
            topic = self.mqtt.topic("update", state.component)
            self.mqtt.publish(topic, json.dumps(fields), retain=True, qos=1)

    def _publish_status(self) -> None:
        try:
            report = self.ota.status()
        except Exception as exc:  # the report reads the slots' files: a problem there is not fatal here
            log.warning("over-the-air status not published: %s", exc)
            return
        report["last"] = self._last or latest_result(report)
        self.mqtt.publish(self.status_topic, json.dumps(report), retain=True, qos=1)


def latest_result(report: dict[str, Any]) -> dict[str, Any] | None:
    """The most recent per-component result in a status report (after a restart: none in memory)."""
    done = [(c["last_at"], name, c) for name, c in report["components"].items() if c["last_result"]]
    if not done:
        return None
    _, name, c = max(done)
    return {"component": name, "version": c["last_version"], "result": c["last_result"],
            "reason": c["last_reason"], "code": "", "at": c["last_at"]}  # fmt: skip
