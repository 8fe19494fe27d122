"""The root of the domain's exceptions."""


class DomainError(ValueError):
    """Input that breaks a billing rule; the message says which and with what values."""
