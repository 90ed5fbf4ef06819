"""The device: health and readings, the panel, mDNS on the LAN, backup, provisioning and first boot.

Must not import web, hub or cli."""
