"""The pure rules of the marketplace: money arithmetic, prices, fees, refunds, settlement dates, payouts.

No I/O, no clock reads, no PynamoDB, no boto: a rule takes values (and `now` when it needs the
time) and returns values, so it is tested without the emulator. The domain imports nothing of the
project but itself and `chalicelib.money` (tests/test_layers.py holds it to that).
"""
