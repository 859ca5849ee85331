#!/bin/sh
# Makes the wake model that ships with the firmware (speaker/data/wake/hey_computer.npz), and the
# phone recognizers its phone check uses (speaker/data/wake/phones*.npz), and measures the model on
# held-out voices and sentences; the figures go in README.md ("Wake word"). Everything is
# generated on this machine; nothing is downloaded. About 4 hours on 2 cores.
#   scripts/train_wake_model.sh            (after `make setup` and `make models`)
set -eu
cd "$(dirname "$0")/.."
SPEAKER="${SPEAKER:-.venv/bin/speaker}"
PYTHON="${PYTHON:-.venv/bin/python}"
OUT=speaker/data/wake/hey_computer.npz
# The recognizer learns every phone of English from training voices (jax: pip install -e '.[phones]').
# Made three times from the same speech with other starting weights (--init-seed 5, 6 and 7); the
# shipped one (6) turned down the most false wakes of the two networks in the clips of seeds 7 and 8
# at 99% of their caught phrases kept (46 of 73, against 37 and 27). Piper's speech differs a
# little from run to run, so a rerun makes a like recognizer, not the same file.
"$PYTHON" -m speaker.wake.training.phones --out speaker/data/wake/phones.npz --seed 5 --init-seed 6 \
    --piper-voice "$("$SPEAKER" models path piper-en-us-joe-medium)"
# The check averages it with two more recognizers that learned from other speech (each ~40
# minutes): one from twice the speech (that of seed 5 and of seed 8), one from the speech of seeds
# 12 and 13. They err differently, so the average is better than any one (README).
"$PYTHON" -m speaker.wake.training.phones --out speaker/data/wake/phones_more.npz --seed 5 8 \
    --init-seed 6 --piper-voice "$("$SPEAKER" models path piper-en-us-joe-medium)"
"$PYTHON" -m speaker.wake.training.phones --out speaker/data/wake/phones_other.npz --seed 12 13 \
    --init-seed 7 --piper-voice "$("$SPEAKER" models path piper-en-us-joe-medium)"
# The thresholds (the first stage's and the verifier's) were chosen on held-out voices: the clips
# of `speaker wake eval --seed 7` and 600 more phrases, the pair with the fewest near-miss wakes
# that misses at most ~3% there. The phone check's: each rival's own, between -10 and -5, is the
# lowest margin over it of the phrases the two networks caught in the clips of seeds 7, 8, 9 and
# 10 (200 each; about 4 minutes); the ceiling -5 is the strictest whose misses on those clips
# (fitted on half, counted on the other) are no more than one threshold's (README). The figures
# in README.md come from other clips (seeds 11, 23, 31, 41, 53, 61, 67, 71, 73 and 79). The rivals
# are the phrase with a word swapped for a sound-alike, and its later words after a determiner
# ("his computer"): speaker/wake/soundalikes.py. The phrase never comes near the determiners'
# (every caught phrase explains its audio better than any of them, by 0.66 at the least), so they
# have a ceiling of their own, 0: none of them may explain it better than the phrase. On the tuning clips, fitted on seeds 7 + 8 and counted
# on 9 + 10 and the other way round, it loses no phrase and turns down 3 of the 13 false wakes left.
"$SPEAKER" wake train "hey computer" --size full --seed 1 --threshold 0.99 --verify-threshold 0.9 --out "$OUT"
"$SPEAKER" wake phones "$OUT" --threshold -10 --rival-ceiling -5 --determiner-ceiling 0
# Said fast, "hey, can pewter ..." is the phrase itself to the phone recognizers; a pair network
# learns to tell the two apart (about 16 minutes). Its threshold (the default, 0.05) was chosen on
# the clips of seeds 7 to 10: as many of the "can pewter" wakes turned down there as at 0.1 or 0.2,
# and the fewest caught phrases (1 of 773).
"$SPEAKER" wake pair "$OUT" "hey can pewter" --clips 2400 --seed 2
# "hey computes" is the phrase with a weak last syllable to the phone check, which lets real
# phrases come as near it as the "computes" that woke the model; a pair network alone turned down
# 8 of the 766 phrases the check passed in the clips of seeds 7 to 10. The two err on different
# voices: this one turns a hit down only when the check, too, hears "hey computes" better than
# the phrase (--phone-margin 0; there: all 4 "computes" wakes, none of the phrases).
"$SPEAKER" wake pair "$OUT" "hey computes" --clips 2400 --seed 3 --phone-margin 0
"$SPEAKER" wake eval --model "$OUT" --positives 200 --hours 1 --near-hours 0.5 --talk 200
"$SPEAKER" wake eval --model "$OUT" --positives 200 --hours 1 --near-hours 0.5 --talk 200 --seed 23
"$SPEAKER" wake eval --model "$OUT" --positives 200 --hours 1 --near-hours 1.5 --seed 41
"$SPEAKER" wake eval --model "$OUT" --positives 200 --hours 1 --near-hours 0.5 --seed 31
"$SPEAKER" wake eval --model "$OUT" --positives 200 --hours 1 --near-hours 1.5 --seed 53
"$SPEAKER" wake eval --model "$OUT" --positives 200 --hours 1 --near-hours 1.5 --seed 61
"$SPEAKER" wake eval --model "$OUT" --positives 200 --hours 1 --near-hours 1.5 --seed 67
"$SPEAKER" wake eval --model "$OUT" --positives 200 --hours 1 --near-hours 1.5 --seed 71
"$SPEAKER" wake eval --model "$OUT" --positives 200 --hours 1 --near-hours 1.5 --seed 73
"$SPEAKER" wake eval --model "$OUT" --positives 200 --hours 1 --near-hours 1.5 --seed 79
# the phrase said in one breath with a request after it
"$SPEAKER" wake eval --model "$OUT" --positives 0 --hours 0 --near-hours 0 --one-breath 200
"$SPEAKER" wake eval --model "$OUT" --positives 0 --hours 0 --near-hours 0 --one-breath 200 --seed 23
