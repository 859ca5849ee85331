"""MQTT: one broker connection for the whole speaker, Home Assistant discovery, turn events.

Modules: `connection` (where the broker is: config, --mqtt URL, $SPEAKER_MQTT_URL), `client`
(`MqttService`: paho-mqtt with version-2 callbacks, TLS, reconnect with backoff, last will,
subscriptions restored on every reconnect, handlers run on its own worker thread), `discovery`
(Home Assistant discovery payloads), `homeassistant` (the speaker as a Home Assistant device),
`turns` (every turn published as JSON).

Topics, with <root> = <mqtt.base_topic>/<device_id> (default speaker/<host name>):

    <root>/availability                online | offline, retained; "offline" is the last will
    <root>/volume, <root>/volume/set   0..100
    <root>/mute, <root>/mute/set       ON | OFF (the microphone: no wake word while ON)
    <root>/mode, <root>/mode/set       dialog mode
    <root>/last_transcript, <root>/last_reply     {"text", "full", "at"}, retained
    <root>/turn                        {"transcript", "mode", "intent", "reply", ...} per turn
    <root>/update/<kind>               Home Assistant update entity state (asr, tts, llm, wake)
    <root>/update/<kind>/install       "install", only once a handler is registered (on_install)
    homeassistant/<component>/<device_id>/<object>/config      discovery, retained

Using the connection from another service (model updates, for example). With MQTT configured,
`speaker.services.mqtt` is an `MqttService` and `speaker.services.bridge` a `HomeAssistantBridge`
(both None when no broker is given; the bridge also in one-shot commands such as `speaker ask`):

    mqtt = speaker.services.mqtt
    def on_manifest(payload: bytes, topic: str) -> None:   # runs on the "mqtt-work" thread
        manifest = parse(payload)          # raise PayloadError("why") for a bad message:
        ...                                # it is logged as a warning and dropped
    mqtt.subscribe("speaker/fleet/manifest", on_manifest)            # kept across reconnects
    mqtt.subscribe(mqtt.topic("ota", "manifest"), on_manifest, max_bytes=256 * 1024)
    mqtt.publish(mqtt.topic("ota", "status"), json.dumps(status), retain=True, qos=1)  # -> bool
    mqtt.on_connected(lambda: ...)         # after every (re)connect, e.g. re-publish state

    bridge = speaker.services.bridge
    bridge.publish_update("llm", installed_version="0.1.2", latest_version="0.2.0",
                          in_progress=True, update_percentage=42, release_summary="...")
    bridge.on_install("llm", start_update)  # shows an Install button in Home Assistant
    bridge.on_mode = router.set_mode        # the dialog mode chosen in Home Assistant

Rules: `publish` never blocks (False when offline: nothing is queued); handlers must not block
for long (hand long work to a thread of your own); nothing here blocks the voice loop, and an
unreachable broker is logged and retried in the background.
"""
