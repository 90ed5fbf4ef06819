"""The county hub (`tpkit hub`): enrols kits, ingests their signed reports, shows and exports the fleet.

A layer above services (it may use services, storage, content, edges and the kit's web helpers); only cli imports it.
"""
