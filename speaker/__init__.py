"""speaker: offline smart-speaker firmware for single-board computers."""

__version__ = "0.1.0"
