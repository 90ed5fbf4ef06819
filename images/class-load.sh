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
# shellcheck source=/dev/null # images/usb-stick.sh, checked on its own
. "$IMAGES/usb-stick.sh"

cl_py() { ip netns exec "$NETNS" python3 "$IMAGES/class_load.py" "$@"; }

hub_reports() {
    python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM reports WHERE kit_id = ?", (sys.argv[2],)).fetchone()[0])' \
        "$WORK/hub/hub.sqlite3" "$KIT_ID"
}

run_class_load() {
    t_run=$(date +%s)
    class_s=$(( CLASS_MINUTES * 60 ))
    make_channel 2
    EXTRA_TOP=$(printf 'trusted_content_keys = ["%s"]' "$(tail -n 1 "$WORK/channel-key.pub")")
    EXTRA_SETTINGS=$(printf 'sync_channels = "%s"' "$STICK_CHANNEL")
    write_kit_toml "$SCHOOL" "$token"
    mcopy -o -i "$FAT" "$WORK/kit.toml" ::kit.toml
    samples=$WORK/samples.jsonl
    : > "$samples"
    rm -f "$WORK/stop-sampling"

    boot "$@" -device qemu-xhci,id=usb
    ip netns exec "$NETNS" python3 "$IMAGES/class_load.py" sample "$CL_BASE" "$samples" "$WORK/stop-sampling" &
    sampler=$!
    pc_state=$WORK/class-state.json
    ip netns exec "$NETNS" python3 "$IMAGES/power_cuts.py" setup "$CL_BASE" "$pc_state" "$ADMIN_PASSWORD" \
        || fail_guest "The class could not be set up through the kit's pages (above)." "Fix: run images/power_cuts.py setup against a local tpkit serve."
    cl_py quiz "$CL_BASE" "$pc_state" || fail_guest "The quiz could not be pasted (above)." "Fix: run images/class_load.py quiz against a local tpkit serve."

    plug_stick 1
    wait_import 1
    import1_s=$import_s
    cl_py book "$CL_BASE" "$STICK_BOOK" article0 "Article 0" \
        || fail_guest "Stick 1's book does not serve after its import." "Fix: read tpkit-usb-import@ on the console."

    reports_before=$(hub_reports)
    class_start=$(date +%s)
    cl_py drive "$CL_BASE" "$pc_state" "$class_s" "$STICK_BOOK" "$WORK/drive.json" > "$WORK/drive.out" 2>&1 &
    driver=$!
    sleep 120
    plug_stick 2
    wait_import 2
    import2_s=$import_s
    patched=no
    cl_py book "$CL_BASE" "$STICK_BOOK" article0 "Revised in version 2" && patched=yes
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
        "patch_book_bytes=$(stat -c %s "$WORK/channel/$STICK_CHANNEL/$STICK_BOOK.zim")" \
        "reports_during_class=$(( reports_after - reports_before ))" "console_oom_lines=$killed" "caches=${caches:-not on the console}" \
        "load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)" "wall_s=$(( $(date +%s) - t_run ))" \
        "class_start=$class_start" "class_end=$class_end" "idle_end=$idle_end" \
        || fail_guest "The table could not be made (above)." "Fix: read $samples."
    shut_down
    [ "$patched" = yes ] || fail "Stick 2's patch was not applied while the class read (article0 is not version 2)." \
        "Fix: read tpkit-usb-import@ in $SERIAL."
    ok "Class-load run done: $OUT/logs/class-load-$ARCH.md"
}
