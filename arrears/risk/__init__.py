"""Learned roll-forward risk (docs/models.md): features, training, saved models, scoring."""
