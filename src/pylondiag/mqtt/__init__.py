"""MQTT and Home Assistant: a stack's live states and its diagnosis as MQTT topics with Home Assistant
discovery, and alerts when something becomes actionable (issue 16 items 6-8).

* :mod:`.state` — what is published, read from a :class:`~pylondiag.model.stack.CaseView` (pure);
* :mod:`.discovery` — topics, Home Assistant discovery payloads and state payloads (pure);
* :mod:`.alerts` — one alert per change of outcome or new culprit, confirmed over polls and
  rate-limited (pure, clock passed in);
* :mod:`.client` — the broker connection (paho-mqtt) with availability and last will;
* :mod:`.notify` — notification URLs (apprise);
* :mod:`.run` — ``publish`` (once, a diagnosed case) and ``monitor`` (polling a live stack).

Needs the ``[mqtt]`` extra (``monitor`` also ``[bus]``).
"""
