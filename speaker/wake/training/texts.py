"""What the training and evaluation voices say: the phrase, near misses, and ordinary talk.

Everything is split in two by a stable hash: one half trains, the other half evaluates, so the
figures of `speaker wake eval` come from sentences the model never heard. Ordinary prose comes
from the documentation strings of Python's standard library (every machine has them, no download)
and from everyday household sentences written here.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import re
import warnings

from speaker.wake.soundalikes import sound_alike_swaps

HOUSEHOLD = """\
Could you pass me the salt please
I think it is going to rain later this afternoon
The kids left their shoes in the hallway again
Did you remember to buy milk on the way home
We should call your mother this weekend
The dishwasher is making that strange noise again
Let me know when dinner is ready
I can't find my keys anywhere
Turn left at the next traffic light
The football game starts at eight tonight
She said the meeting was moved to Thursday
Put the leftovers in the fridge before you go to bed
The cat has been sleeping on the sofa all day
Have you seen the remote control
I need to finish this report before Monday
What do you want for breakfast tomorrow
The neighbours are having a party on Saturday
My phone battery is almost empty
We ran out of coffee this morning
The garden needs watering when the sun goes down
Can you help me carry these bags upstairs
The train was twenty minutes late today
I will pick up the children from school
Tell me again what the doctor said
This soup needs a little more pepper
The weather report says it will be sunny tomorrow
Let's watch a film after dinner
The washing machine finished an hour ago
Grandma is coming to visit next week
Please close the window it's getting cold
I left the umbrella in the car
We should paint the bedroom a lighter colour
He forgot to lock the back door
The bread is on the second shelf
My brother bought a new bicycle
Do we have any batteries for the torch
The baby finally fell asleep
I'm going for a walk around the block
Someone is knocking at the front door
Dinner will be ready in ten minutes
The library closes early on Sundays
I really like the new curtains
We need to book the hotel for the holidays
She practises the piano every evening
Don't forget to feed the fish
The printer is out of paper again
Let's have pancakes this weekend
I heard a strange noise in the attic
The heating comes on at six in the morning
Can you read the recipe out loud
The plumber will come on Tuesday morning
Our flight leaves very early in the morning
They painted the fence last summer
The shop on the corner sells fresh bread
It's your turn to take out the rubbish
I'd like a cup of tea with a little milk
The news was on when I came in
The car needs new tyres before winter
Water the tomatoes and the basil
Have a good day at work
"""

# Near misses for the default phrase: the words of "hey computer" in other company, and words
# that sound like them. Other phrases get theirs from near_misses() alone.
HEY_COMPUTER_NEAR = """\
The new computer keeps freezing
My computer needs an update
Hey can you help me with this
Hey come here for a second
The commuter train was full this morning
He computed the total twice
Hay fever is terrible this time of year
Hey Cooper where are you going
They put the computer in the spare room
A computer science degree takes three years
Hey there how was your day
Hey look at that
The computers at school are very old
Compute the average of these numbers
Hey kids time for dinner
I bought a cheaper computer last year
The horse is eating the hay
Hey you forgot your coat
Our computer is in the study
Hey mum I'm home
The commuters waited on the platform
Is the computer turned off
Hey what time is it
She works as a computer programmer
A bale of hay fell off the truck
Hey Peter come and look
The computer game was too loud
He plays computer games all night
Hey Kim did you call
Let the computer cool down
Hey Tom we're leaving
Hey that's mine
The computer crashed again
He wrote it on his computer
Hey Cam pick up the phone
Hey, come pay the bill
A commuter bike is in the shed
Hey, can pewter tarnish
Hey, compare these two
Hey, a commuter lost his ticket
"""


def _split(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def held_out(text: str) -> bool:
    """Whether a sentence belongs to the evaluation half (a stable hash, the same everywhere)."""
    return hashlib.sha1(text.lower().encode()).digest()[0] % 2 == 1


def half(sentences: list[str], evaluation: bool) -> list[str]:
    return [s for s in sentences if held_out(s) == evaluation]


_MODULES = (
    "argparse calendar collections configparser contextlib csv dataclasses datetime decimal difflib "
    "email.message enum fractions ftplib functools getopt gettext glob gzip hashlib heapq hmac "
    "html.parser http.client imaplib inspect io ipaddress itertools json locale logging mailbox "
    "mimetypes multiprocessing.pool netrc numbers operator optparse pathlib pdb pickle platform "
    "plistlib pprint queue random sched secrets shelve shutil smtplib socket sqlite3 ssl statistics "
    "string subprocess tarfile tempfile textwrap threading time tokenize traceback typing "
    "unittest urllib.parse urllib.request warnings wave weakref xml.dom.minidom zipfile"
).split()
_WORD = re.compile(r"[A-Za-z][a-z']*[,;]?")


@functools.lru_cache(maxsize=1)
def prose() -> tuple[str, ...]:
    """Plain English sentences from the standard library's documentation strings (thousands)."""
    found: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in _MODULES:
            try:
                module = importlib.import_module(name)
            except Exception:  # a module this Python lacks: fewer sentences, nothing else
                continue
            for doc in _docstrings(module):
                for sentence in re.split(r"(?<=[.!?])\s+", " ".join(doc.split())):
                    words = sentence.rstrip(".!?").split()
                    if 5 <= len(words) <= 22 and all(_WORD.fullmatch(w) for w in words):
                        found.add(sentence)
    return tuple(sorted(found))


def _docstrings(module: object) -> list[str]:
    docs = [module.__doc__ or ""]
    for name, obj in vars(module).items():
        if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        docs.append(obj.__doc__ or "")
        if inspect.isclass(obj):
            docs += [
                f.__doc__ or ""
                for n, f in vars(obj).items()
                if not n.startswith("_") and inspect.isfunction(f)
            ]
    return [d for d in docs if isinstance(d, str)]


def ordinary(evaluation: bool) -> list[str]:
    """Everyday sentences and prose, without any word of the wake phrase in particular."""
    return half(_split(HOUSEHOLD), evaluation) + half(list(prose()), evaluation)


def phrase_variants(phrase: str) -> list[str]:
    """Ways the phrase gets written for a voice: plain, with a comma, as a call."""
    words = phrase.split()
    variants = [phrase, phrase + "!", phrase.capitalize()]
    if len(words) > 1:
        variants.append(words[0] + ", " + " ".join(words[1:]))
    return variants


REQUESTS = _split("""\
what time is it
turn on the kitchen light
what's the weather like tomorrow
set a timer for ten minutes
tell me a joke
stop
how far away is the moon
play some music
what is the capital of France
give me a tip for sleeping better
""")


def near_misses(phrase: str, evaluation: bool, similar: list[str] | None = None) -> list[str]:
    """Sentences that share words or sounds with the phrase but do not say it.

    `similar`: words that sound like the phrase's words (from the pronunciation dictionary).
    Sentences are split into halves like all the others: evaluation hears sentences never trained on.
    """
    words = phrase.lower().split()
    frames = _split("""\
I told her {w} yesterday
the {w} is over there
did you say {w}
{w} is a strange word
we talked about the {w} for an hour
she wrote {w} on the board
that {w} again
{w} and then nothing
he keeps saying {w} all the time
look at the {w}
""")
    out: list[str] = []
    for i, frame in enumerate(frames):
        for w in words:
            out.append(frame.format(w=w))
        for s in similar or []:
            out.append(frame.format(w=s))
        if len(words) > 1:
            # the phrase with a word swapped, or cut short: the classic false wake
            out.append(
                frame.format(
                    w=" ".join(words[:-1] + [(similar or ["thing"])[i % max(1, len(similar or []))]])
                )
            )
            out.append(frame.format(w=words[0]) + " " + " ".join(words[1:-1] + ["please"]))
    if phrase.lower() == "hey computer":
        out += _split(HEY_COMPUTER_NEAR)
    return half(sorted(set(out)), evaluation)


_CALL_FRAMES = _split("""\
{p}
{p} again
oh {p}
{p} is what he said
I think {p} right
{p} tomorrow morning
so {p} and then we left
{p}, what time is it
{p}, turn on the light
{p} over there
""")


def sound_alike_calls(phrase: str) -> list[str]:
    """More near misses, for training only: the phrase with a word swapped for one that sounds like
    it (or both words of a two-word phrase), alone and in short sentences. The training half only,
    so that the sentences `speaker wake eval` hears stay the same whatever is added here."""
    words, swaps, starts = sound_alike_swaps(phrase)
    calls = {" ".join([alt, *words[1:]]) for alt in starts}
    for k in range(1, len(words)):
        calls |= {" ".join(words[:k] + [alt] + words[k + 1 :]) for alt in swaps[k]}
    if len(words) == 2:
        calls |= {f"{a} {b}" for a in swaps[0] for b in swaps[1]}
    out = {frame.format(p=call) for frame in _CALL_FRAMES for call in sorted(calls)}
    return half(sorted(out), evaluation=False)
