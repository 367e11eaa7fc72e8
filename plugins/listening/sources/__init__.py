"""Sources: one module per platform or file format, each turning what it reads into raw rows.

Every source returns plain dicts with the raw columns of `listening.schema.RAW` (and the
original record in `payload`), plus the records it refused, with a rule and a reason.
"""
