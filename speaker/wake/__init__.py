"""Wake word detection: keyword spotting that needs no training and no cloud."""
