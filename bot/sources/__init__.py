"""Market data sources behind one small protocol (see :mod:`bot.sources.base`)."""
