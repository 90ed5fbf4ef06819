"""Health thresholds: where the kit's own health problems start and where the hub raises the same alerts, so a
technician never sees the two disagree about one kit.

Imports nothing of tpkit.
"""

# The Pi 4 firmware caps the ARM clock from 80 °C (and hard-throttles at 85 °C): at 80 the class
# already feels it. 70 leaves room to act on a hot afternoon before that happens.
HOT_WARNING_C = 70.0
HOT_CRITICAL_C = 80.0
# Percent of a filesystem used (as `df`). At 90 % one more large book or a month of homework can fill
# it; at 97 % SQLite may fail to save a student's work and content sync refuses to start.
DISK_WARNING_PERCENT = 90.0
DISK_CRITICAL_PERCENT = 97.0
