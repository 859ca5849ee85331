#!/bin/sh
# Makes the wake model that ships with the firmware (speaker/data/wake/hey_computer.npz) and
# measures it on held-out voices and sentences; the figures go in README.md ("Wake word").
# Everything is generated on this machine; nothing is downloaded. About 15-25 minutes on 2 cores.
#   scripts/train_wake_model.sh            (after `make setup` and `make models`)
set -eu
cd "$(dirname "$0")/.."
SPEAKER="${SPEAKER:-.venv/bin/speaker}"
OUT=speaker/data/wake/hey_computer.npz
# The threshold was chosen on held-out voices with `speaker wake eval --seed 7 --threshold T`;
# the figures in README.md come from other clips (the default seed).
"$SPEAKER" wake train "hey computer" --size full --seed 1 --threshold 0.998 --out "$OUT"
"$SPEAKER" wake eval --model "$OUT" --positives 200 --hours 1 --near-hours 0.5
