"""Over-the-air model updates: signed manifests in, a new model running between two turns, or a rollback.

Speaker side:
    signing   envelope + ed25519 signature, checked against `ota.trusted_keys` before anything else
    manifest  what an update is (component, version, files with size/sha256/url, expiry, serial, ...)
    policy    refusals: unknown component, other device, firmware too old, expired, replayed, not newer
    fetch     free-disk check, then resumable size-capped downloads (the model store's downloader)
    slots     A/B slots per component, state.json (the commit point), recovery at start-up
    health    the new model's smoke test in a child process (healthcheck.py runs in the child)
    updater   one announcement from start to finish; `speaker ota apply` uses it as it is
    report    progress, results and the Home Assistant entity state, as events on the bus
    runtime   inside `speaker run`: worker thread, engine swap between turns, trial turns, rollback
    events    OtaProgress, OtaResult, OtaUpdateState (Home Assistant update-entity fields)
    link      on the speaker's broker connection: manifests in, Home Assistant update entities and
              the retained status topic out (`speaker run --mqtt`)
Operator side: publish (build, sign, publish retained), serve (HTTP with Range).

Wiring with the MQTT service (link.py does this; the boundary is two calls and three event types):

    ota = OtaRuntime(settings, store, bus); ota.open()
    ...build the speaker with models=ota.active_models(), then ota.attach(speaker.loop)
    # on connect: subscribe topics.manifest_subscriptions(prefix, device), and publish ota.states()
    # on message: ota.handle_manifest(message.payload, message.topic)   # never blocks paho's thread
    # bus listener: OtaUpdateState -> the component's update entity state topic: event.ha_state()
    #               OtaResult      -> topics.status_topic(prefix, device), retained:
    #                                 ota.status() (every component, last result and reason)
"""
