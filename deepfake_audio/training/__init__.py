"""Training: the LightningCLI subclass, run records, random state, speed switches and the
protocols that train several fits (seeds, leave-one-out, cross-validation)."""
