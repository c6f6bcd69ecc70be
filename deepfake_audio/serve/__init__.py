"""Using trained detectors: scoring files, exported packages, the web app."""
