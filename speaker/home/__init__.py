"""Home devices on MQTT: what they are (`devices`), config/devices.yaml (`devices_file`), imports
from Home Assistant discovery (`hass_import`) and Zigbee2MQTT (`z2m_import`), the merged registry
with each device's last known state (`registry`), and keeping it in step with the broker (`sync`).
The skills that drive them live in skills/ (devices, targets, device_intents, replies, phrases).
"""
