"""Use cases (login, Check Changes, preview, sync…) built from the domain, adapters and store."""
