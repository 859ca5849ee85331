#!/bin/sh
# Makes the wake model that ships with the firmware (speaker/data/wake/hey_computer.npz) and
# measures it on held-out voices and sentences; the figures go in README.md ("Wake word").
# Everything is generated on this machine; nothing is downloaded. About 15-25 minutes on 2 cores.
#   scripts/train_wake_model.sh            (after `make setup` and `make models`)
set -eu
cd "$(dirname "$0")/.."
SPEAKER="${SPEAKER:-.venv/bin/speaker}"
OUT=speaker/data/wake/hey_computer.npz
"$SPEAKER" wake train "hey computer" --size full --seed 1 --out "$OUT"
"$SPEAKER" wake eval --model "$OUT" --positives 300 --hours 2 --near-hours 1
