"""Loaded at start-up by a bot subprocess that a test runs with tests/offline on PYTHONPATH.

It makes the process behave like a machine without internet: connections and DNS
lookups outside loopback fail at once (as they would offline), and native HTTP
clients are sent to a closed loopback port. Nothing can leave the machine.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests import netguard

netguard.install_offline(os.environ)
