"""The wire contract shared by the kit and the county hub: report files, desired configurations, xAPI rules, thresholds.

Imports only base modules and edges; never services, web, webcore, hub or cli.
"""
