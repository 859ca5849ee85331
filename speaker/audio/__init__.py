"""Audio in and out: one chunk type, format conversion, WAV files, microphones and speakers."""
