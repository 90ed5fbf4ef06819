"""The fields of a kit's provisioning: the columns of schools.csv and the options of `tpkit provision`.

A module of its own so that building `tpkit`'s parser (every command, and each web worker's start) does not import
provision_batch and the password hashing it needs (issue 15: cold start).
"""

# The columns of schools.csv and the options of `tpkit provision` (dashes for underscores): one name each.
FIELDS = (
    "kit_id",
    "school_name",
    "time_zone",
    "network_mode",
    "wifi_ssid",
    "wifi_passphrase",
    "wifi_country",
    "wifi_max_clients",
    "wifi_security",
    "hub_url",
    "enrolment_token",
    "admin_password",
    "admin_password_hash",
    "trusted_content_keys",
    "default_language",
)
LISTS = ("trusted_content_keys",)
WHOLE_NUMBERS = ("wifi_max_clients",)  # written to kit.toml as numbers when they are digits (else checked as given)
# Columns of the county's schools.csv that only the hub reads (`tpkit hub kit add-many`): a kit.toml has no place
# for them, and `tpkit provision` accepts and leaves them, so one sheet serves both (docs/provisioning.md).
HUB_FIELDS = ("district", "location")
