"""Every turn published as one JSON message: transcript, mode, intent, reply (an EventBus listener).

    {"transcript": "turn off the kitchen light", "mode": null, "intent": "device_off",
     "reply": "Turning off the kitchen light.", "interrupted": false, "at": "2026-01-02T15:04:05+01:00"}

Goes to `mqtt.turns_topic` (default <base>/<device_id>/turn), not retained; `mqtt.publish_turns:
false` turns it off for privacy. The listener only formats and queues: it never blocks the turn.
"""

from __future__ import annotations

import json
from datetime import datetime

from speaker.events import Event, IntentMatched, TurnDone, Wake
from speaker.mqtt.client import MqttService


class TurnPublisher:
    def __init__(self, mqtt: MqttService, topic: str) -> None:
        self.mqtt = mqtt
        self.topic = topic
        self._intent: str | None = None
        self._mode: str | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, Wake):
            self._intent = None
        elif isinstance(event, IntentMatched):
            self._intent = event.intent
        mode = getattr(event, "mode", None)
        if isinstance(mode, str) and mode:
            self._mode = mode
        if isinstance(event, TurnDone):
            message = {
                "transcript": event.transcript,
                "mode": self._mode,
                "intent": self._intent,
                "reply": event.reply,
                "interrupted": event.interrupted,
                "at": datetime.now().astimezone().isoformat(timespec="seconds"),
            }
            self._intent = None
            self.mqtt.publish(self.topic, json.dumps(message, ensure_ascii=False))
