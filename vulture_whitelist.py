"""Names vulture (./build.sh check, at --min-confidence 60) reports as unused that are used where it cannot see:
by a library calling back, by a template, by a test or a doc check, or by uvicorn's --factory string."""

# ruff: noqa
# Signal handlers and zeroconf listeners take the arguments their caller passes.
frame  # appliance/cli/content.py: _exit_on_signal(signum, frame)
zeroconf  # appliance/edges/mdns.py: _on_change(zeroconf, service_type, name, state_change)

# Dataclass fields read only by Jinja templates (opds_entry.xml, quiz_results.html, quiz pages, admin.html).
publisher
flavour
has_illustration
answered
wrong_answers
partly  # quiz_results.html: how many were partly right
attempts_left
reveal
ran_at
# Outbox row fields, filled positionally from `SELECT {COLUMNS}` (storage/outbox.py); nothing reads them yet.
parked_reason
exported_at

# libzim's writer calls these methods of its Item and ContentProvider (content/zimwriter.py).
_.get_path
_.get_title
_.get_mimetype
_.get_contentprovider
_.get_hints

# Attributes set for a library to read: gpiozero's button callbacks, anyio's thread limiter,
# sqlite3's row factory, tarfile's member time.
_.when_pressed
_.when_released
_.total_tokens
_.row_factory
_.mtime

# uvicorn builds each worker's app from "appliance.web.asgi:app_from_environment" (and the hub's).
app_from_environment

# Read by tests: the ZIM reader's path listing (Kiwix parity) and the health problem codes (docs check).
_.entry_paths
PROBLEM_CODES

# Keys built at run time, read by tests/test_messages.py; the Babel extraction method named in babel.cfg;
# the Viewer protocol's item access (a sqlite3.Row or the console's dict).
BUILT_AT_RUN_TIME
python_and_error_codes
_.__getitem__

# cli/common's module __getattr__ (PEP 562) and the protocol class it names for uvicorn's `http=`.
__getattr__
_.__module__
_.__qualname__

# Starlette reads a convertor's pattern from its class attribute (webcore/bounded_ids.py).
_.regex
_.bytecode_cache  # jinja2.Environment reads it (web/pages.use_bytecode_cache)
_.spool_max_size  # starlette's MultiPartParser reads it (webcore/forms._FilesInMemory)

# What libzim was told, read back by tests/services/library/test_cache_sizes.py (issue 15).
_.cluster_cache_bytes
_.dirent_cache_size

# How many book entries went the short way (web/hot_entries.py), read by tests/web/test_hot_entries.py (issue 15).
_.hot_entries

# The layer interface of issue 21 ("apply ∝ edit"), called by the sync side that installs a patch as a layer.
_.write_stack
_.remove_layers
_.write_layer

# html.parser.HTMLParser calls it for each start tag (services/packing/page_files.py).
_.handle_starttag

