"""deepfake-audio: train, compare and serve detectors of AI-generated speech.

Labels: 1 = bona fide (real), 0 = spoof (fake); a detector's score is P(bona fide).
"""

__version__ = "0.1.0"
