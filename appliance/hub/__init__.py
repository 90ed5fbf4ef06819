"""The county hub (`tpkit hub`): enrols kits, ingests their signed reports, shows and exports the fleet.

The kit's neighbour, not a floor above it (sibling of web): it imports protocol, webcore, edges and base modules,
never the kit's services or web; its SQL is in hub/storage/. Only cli imports it.
"""
