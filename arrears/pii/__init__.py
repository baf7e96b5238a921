"""Personal data at rest (docs/privacy.md): the key, sealing, and key rotation."""
