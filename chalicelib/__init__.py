"""classpay: the backend of an online class marketplace that moves real money."""

__version__ = "0.1.0"
