"""MQTT topics of over-the-air updates (prefix: `ota.topic_prefix`, default "speaker/ota").

    <prefix>/fleet/<component>                 retained manifest for every speaker
    <prefix>/device/<device id>/<component>    retained manifest for one speaker
    <prefix>/status/<device id>                retained status of one speaker (published by it)

One retained manifest per component and audience, so that announcing a new voice does not
replace the announcement of a new language model for a speaker that was offline.
"""

from __future__ import annotations

from speaker.ota.manifest import COMPONENTS


def manifest_topic(prefix: str, component: str, device: str | None = None) -> str:
    base = prefix.strip("/")
    if device:
        return f"{base}/device/{device}/{component}"
    return f"{base}/fleet/{component}"


def manifest_subscriptions(prefix: str, device: str) -> list[str]:
    """What a speaker subscribes to (inside on_connect, so that it survives reconnects)."""
    base = prefix.strip("/")
    return [f"{base}/fleet/+", f"{base}/device/{device}/+"]


def status_topic(prefix: str, device: str) -> str:
    return f"{prefix.strip('/')}/status/{device}"


def topic_component(topic: str) -> str:
    """The component a manifest topic is for ('' when the topic does not name one)."""
    last = topic.rstrip("/").rsplit("/", 1)[-1] if topic else ""
    return last if last in COMPONENTS else ""
