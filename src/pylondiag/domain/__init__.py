"""Domain facts both sides use: the readers (``evidence/``) to classify what they parse, and the
rules (``diagnosis/``) to judge it.

A module here holds tables of facts with their sources (manuals, captures, third-party notes in
``shared/domain``) and pure look-ups over them; it imports nothing from ``evidence/``, ``casedir/``
or ``diagnosis/``, so neither layer reaches into the other for a table.

- :mod:`pylondiag.domain.inverter_codes`: inverter alarm/fault code tables, one per brand.
"""
