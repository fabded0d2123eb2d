"""The rules engine: pure rules (data and a clock in, alerts out) and the state machine around them."""
