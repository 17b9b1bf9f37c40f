"""Business rules, one function per use case. Nothing here knows about HTTP."""
