"""Web plumbing shared by the kit's pages and the county hub's dashboard: forms and CSRF, language choice and
message catalogues, error pages.

Never imports services, web, hub or cli.
"""
