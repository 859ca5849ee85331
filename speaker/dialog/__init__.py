"""The dialog: modes (modes.yaml), the router that picks one per utterance, and conversation memory.

`modes` loads and checks config/modes.yaml; `commands` finds explicit requests ("switch to
inspiration mode", "new conversation"); `classifier` scores an utterance against each mode's
cues; `router` decides; `memory` keeps the conversation within a token budget; `session`
puts them together into what one turn sends to the language model.
"""
