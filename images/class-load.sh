# shellcheck shell=sh
# shellcheck disable=SC2034,SC2153,SC2154 # variables shared with images/image-test.sh, which sources this file
# The class-load run: `./build.sh image-test --arch ARCH --class-load [--memory MB] [--minutes M]` (opt-in, never
# in CI's default path; docs/image.md "A 1 GB Pi under a class" and "The SD card"). Sourced by images/image-test.sh
# after its setup (the namespace, the hub, both NICs, the test kit.toml), and run with its helpers: power_on,
# boot, shut_down, collect_console, fail_guest, write_kit_toml. The host's side (the class, the samples of
# /metrics, the table) is images/class_load.py, with images/power_cuts.py's browser and class.
#
# What happens, on a guest of MEMORY_MB (1024: a 1 GB Pi):
#   1. a signed channel is made on the host (images/class_book.py: a reader of 1,500 articles, version 1; then
#      version 2 with a patch) and put on two USB stick images (FAT32): stick 1 the whole book, stick 2 only the
#      patch; the kit.toml trusts the channel's key and subscribes to it;
#   2. the kit boots; /metrics is sampled every 5 s from then on; the administrator imports a class of 40 and
#      pastes a quiz; stick 1 is plugged in (qemu's monitor: a usb-storage device on an xHCI controller), and
#      udev starts tpkit-usb-import@ as it would for a teacher's stick; the book must serve;
#   3. the class: 40 pupils sign in at once and for M minutes read, search, take the quiz and hand in a photo;
#      two minutes in, stick 2 is plugged in and the kit applies the patch while they read; tpkit-report.timer
#      sends its reports as it always does (every 15 min);
#   4. the class leaves: 10 minutes idle (what a kit writes with nobody there);
#   5. the table: memory (lowest MemAvailable, swap, processes killed for memory, each service's peak) and SD card
#      writes (per partition and service, per hour with and without a class, per school day and year).

CL_BASE=http://127.0.0.1:$GUEST_PORT
CL_IDLE_S=${TPKIT_IMAGE_IDLE_S:-600}
CL_CHANNEL=class-load
CL_BOOK=class_load_reader
# A stick's import must finish within this (TCG on a shared machine; a Pi takes seconds for this book).
CL_IMPORT_TIMEOUT_S=900

cl_py() { ip netns exec "$NETNS" python3 "$IMAGES/class_load.py" "$@"; }

# make_stick TREE IMAGE: a 64 MiB stick with one FAT32 partition holding TREE's files, by mtools (nothing mounted).
make_stick() {
    rm -f "$2"
    truncate -s 64M "$2"
    printf 'start=2048, type=c\n' | sfdisk -q "$2"
    mformat -i "$2@@1M" -F -T $(( 64 * 2048 - 2048 )) -v TPKITSTICK ::
    mcopy -s -i "$2@@1M" "$1"/* ::
}

# The channel (host side, with the checkout's .venv): version 1 whole on stick 1, version 2's patch on stick 2.
make_channel() {
    channel=$WORK/channel/$CL_CHANNEL
    rm -rf "$WORK/channel" "$WORK/previous" "$WORK/stick1" "$WORK/stick2"
    mkdir -p "$channel" "$WORK/previous" "$WORK/stick1/tpkit" "$WORK/stick2/tpkit"
    if ! { "$TPKIT" channel keygen --out "$WORK/channel-key" \
        && "$REPO/.venv/bin/python" "$IMAGES/class_book.py" "$channel/$CL_BOOK.zim" 1 \
        && "$TPKIT" channel publish --key "$WORK/channel-key.key" --name "$CL_CHANNEL" "$channel"; } > "$WORK/channel.log" 2>&1; then
        fail "Could not make the test channel (version 1): $WORK/channel.log" "Fix: ./build.sh test -k test_imports"
    fi
    cp -r "$channel" "$WORK/stick1/tpkit/"
    cp "$channel/$CL_BOOK.zim" "$WORK/previous/"
    if ! { "$REPO/.venv/bin/python" "$IMAGES/class_book.py" "$channel/$CL_BOOK.zim" 2 \
        && "$TPKIT" channel publish --key "$WORK/channel-key.key" --name "$CL_CHANNEL" --previous "$WORK/previous" \
            "$channel"; } >> "$WORK/channel.log" 2>&1; then
        fail "Could not make the test channel (version 2 and its patch): $WORK/channel.log" "Fix: read it."
    fi
    cp -r "$channel" "$WORK/stick2/tpkit/"
    rm "$WORK/stick2/tpkit/$CL_CHANNEL/$CL_BOOK.zim"  # the patch only: the kit must apply it
    make_stick "$WORK/stick1" "$WORK/stick1.img"
    make_stick "$WORK/stick2" "$WORK/stick2.img"
    patch_bytes=$(find "$WORK/stick2" -name '*.zimpatch' -exec stat -c %s {} +)
    info "Channel $CL_CHANNEL: version 1 ($(stat -c %s "$WORK/previous/$CL_BOOK.zim") bytes) on stick 1, the patch to version 2 ($patch_bytes bytes) on stick 2"
}

# plug_stick N: stick N into the kit's USB port; wait_import N: until its tpkit-usb-import@ unit has ended
# (its "Finished" or "Failed" line on the console), then pull it out. Sets import_s.
plug_stick() {
    monitor "drive_add 0 if=none,id=stick$1,format=raw,file=$WORK/stick$1.img"
    monitor "device_add usb-storage,bus=usb.0,drive=stick$1,id=stickdev$1,removable=on"
    t_plug=$(date +%s)
    info "USB stick $1 plugged in"
}
wait_import() {
    while ! console_since "$cl_serial_from" | grep -aqE "(Finished|Failed to start|Failed with result).*tpkit-usb-import@|tpkit-usb-import@.*(Deactivated successfully|Failed with result)"; do
        collect_console
        [ $(( $(date +%s) - t_plug )) -lt "$CL_IMPORT_TIMEOUT_S" ] \
            || fail_guest "Stick $1's import did not end within ${CL_IMPORT_TIMEOUT_S}s." "Fix: read tpkit-usb-import@ on the console."
        sleep 3
    done
    import_s=$(( $(date +%s) - t_plug ))
    cl_serial_from=$(wc -l < "$SERIAL")
    monitor "device_del stickdev$1"
    info "Stick $1's import ended ${import_s}s after it was plugged in; stick pulled out"
}

hub_reports() {
    python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM reports WHERE kit_id = ?", (sys.argv[2],)).fetchone()[0])' \
        "$WORK/hub/hub.sqlite3" "$KIT_ID"
}

run_class_load() {
    t_run=$(date +%s)
    class_s=$(( CLASS_MINUTES * 60 ))
    make_channel
    EXTRA_TOP=$(printf 'trusted_content_keys = ["%s"]' "$(tail -n 1 "$WORK/channel-key.pub")")
    EXTRA_SETTINGS=$(printf 'sync_channels = "%s"' "$CL_CHANNEL")
    write_kit_toml "$SCHOOL" "$token"
    mcopy -o -i "$FAT" "$WORK/kit.toml" ::kit.toml
    samples=$WORK/samples.jsonl
    : > "$samples"
    rm -f "$WORK/stop-sampling"

    boot "$@" -device qemu-xhci,id=usb
    cl_serial_from=$serial_from
    ip netns exec "$NETNS" python3 "$IMAGES/class_load.py" sample "$CL_BASE" "$samples" "$WORK/stop-sampling" &
    sampler=$!
    pc_state=$WORK/class-state.json
    ip netns exec "$NETNS" python3 "$IMAGES/power_cuts.py" setup "$CL_BASE" "$pc_state" "$ADMIN_PASSWORD" \
        || fail_guest "The class could not be set up through the kit's pages (above)." "Fix: run images/power_cuts.py setup against a local tpkit serve."
    cl_py quiz "$CL_BASE" "$pc_state" || fail_guest "The quiz could not be pasted (above)." "Fix: run images/class_load.py quiz against a local tpkit serve."

    plug_stick 1
    wait_import 1
    import1_s=$import_s
    cl_py book "$CL_BASE" "$CL_BOOK" article0 "Article 0" \
        || fail_guest "Stick 1's book does not serve after its import." "Fix: read tpkit-usb-import@ on the console."

    reports_before=$(hub_reports)
    class_start=$(date +%s)
    cl_py drive "$CL_BASE" "$pc_state" "$class_s" "$CL_BOOK" "$WORK/drive.json" > "$WORK/drive.out" 2>&1 &
    driver=$!
    sleep 120
    plug_stick 2
    wait_import 2
    import2_s=$import_s
    patched=no
    cl_py book "$CL_BASE" "$CL_BOOK" article0 "Revised in version 2" && patched=yes
    wait "$driver" || fail_guest "The class's driver failed: $(tail -n 3 "$WORK/drive.out")" "Fix: read $WORK/drive.out."
    class_end=$(date +%s)
    reports_after=$(hub_reports)
    ok "The class ran ${class_s}s: $(tail -n 1 "$WORK/drive.out" | cut -c 1-400)"
    info "Idle for ${CL_IDLE_S}s (the class has gone home)"
    sleep "$CL_IDLE_S"
    idle_end=$(date +%s)
    touch "$WORK/stop-sampling"
    wait "$sampler" || true
    collect_console
    killed=$(console_since "$serial_from" | grep -acE "Out of memory|oom-kill|invoked oom-killer" || true)
    # What the web server chose for this RAM (appliance/services/library/cache_sizes.py prints it at start).
    caches=$(console_since "$serial_from" | grep -ao "book caches sized for .*directory entries a book" | tail -n 1)
    cp "$samples" "$OUT/logs/class-load-$ARCH-samples.jsonl"
    python3 "$IMAGES/class_load.py" table "$samples" "$WORK/drive.json" "$OUT/logs/class-load-$ARCH.json" "$OUT/logs/class-load-$ARCH.md" \
        "arch=$ARCH" "memory_mb=$MEMORY_MB" "accelerator=$ACCEL_NAME" "class_minutes=$CLASS_MINUTES" \
        "stick1_import_s=$import1_s" "stick2_patch_s=$import2_s" "patch_applied=$patched" \
        "reports_during_class=$(( reports_after - reports_before ))" "console_oom_lines=$killed" "caches=${caches:-not on the console}" \
        "load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)" "wall_s=$(( $(date +%s) - t_run ))" \
        "class_start=$class_start" "class_end=$class_end" "idle_end=$idle_end" \
        || fail_guest "The table could not be made (above)." "Fix: read $samples."
    shut_down
    [ "$patched" = yes ] || fail "Stick 2's patch was not applied while the class read (article0 is not version 2)." \
        "Fix: read tpkit-usb-import@ in $SERIAL."
    ok "Class-load run done: $OUT/logs/class-load-$ARCH.md"
}
