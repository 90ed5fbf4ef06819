"""Content sync: channels, the sync engine and its plan and policy, activation, sticks, peers, the uplink.

Must not import web, hub or cli."""
