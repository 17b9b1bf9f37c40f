"""What the tests share, one module per topic: test modules import their helpers from here, never from
each other or from conftest.py (which holds only fixtures and pytest hooks)."""
