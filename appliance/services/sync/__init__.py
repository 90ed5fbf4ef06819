"""Content sync: channels, the sync engine and its sources (mirror, stick, peer), plan and policy, activation,
sticks, peers, the uplink.

Must not import web, hub or cli."""
