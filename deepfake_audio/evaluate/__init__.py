"""Evaluation: metrics from score files, test reports, tables, figures and TensorBoard
extras, and scoring under unseen recording conditions. Nothing here launches a fit."""
