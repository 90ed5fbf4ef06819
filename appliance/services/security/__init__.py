"""Security: the kit's posture as findings (`tpkit audit`, /admin/security): units' exposure, file modes, who
holds which role, sign-in throttles, the firewall and the classroom Wi-Fi (docs/security.md, "The audit").

Must not import web, hub or cli."""
