# shellcheck shell=sh
# shellcheck disable=SC2034,SC2153,SC2154 # variables shared with images/image-test.sh, which sources this file
# The power-cut run: `./build.sh image-test --arch ARCH --power-cuts N [--seed S]` (opt-in, never in CI's
# default path; docs/image.md "The power cut"). Sourced by images/image-test.sh after its setup (the namespace,
# the hub, both NICs, the test kit.toml on $WORK/disk.img), and run with its helpers: power_on, wait_home, boot,
# shut_down, collect_console, fail_guest, write_kit_toml. The host's side (the pupils, the teacher's read-back,
# the library, the console's verdict, the table) is images/power_cuts.py.
#
# Each cut is a SIGKILL of qemu (no shutdown, the disk's write cache as it was) at a moment drawn from the seed:
# a fraction of the phase's window, the window measured at the start of the run. Phases:
#   first boot        a never-booted copy of the image (with the test kit.toml), cut during its first boot;
#   kit.toml applied  a new kit.toml (another school name) put on the FAT partition, cut during the boot that
#                     applies it; after power-on the new name must be in force;
#   book activated    a USB stick with the next version's patch of the test channel's book plugged in (the sync's
#                     engine with the stick as its source verifies, applies and activates it), cut within the
#                     import's window; after power-on the book must be the version before or the new one, whole,
#                     and with the stick plugged in again the new one (images/usb-stick.sh);
#   40 hand-ins       a new homework lesson, 40 pupils signed in, cut while all 40 hand in a photo at once, right
#                     after the K-th of them was acknowledged (K from 0 to 40, drawn from the seed);
#   report written    cut while tpkit-report.service runs (from its "Starting" line on the console, within
#                     REPORT_WINDOW_S): the report written to the outbox, signed and sent.
# After every cut: power on, the home page within BOOT_TIMEOUT_S, the console of that boot read for anything
# that needs a person, every book listed opens an article, and the phase's own check.

PC_WINDOW_REPORT_S=${TPKIT_IMAGE_REPORT_WINDOW_S:-30}
PC_BASE=http://127.0.0.1:$GUEST_PORT
# shellcheck source=/dev/null # images/usb-stick.sh, checked on its own
. "$IMAGES/usb-stick.sh"

# pc_py ARGS...: images/power_cuts.py from the namespace (the kit's forwarded port is its loopback's).
pc_py() { ip netns exec "$NETNS" python3 "$IMAGES/power_cuts.py" "$@"; }

# cut_power: the power goes: SIGKILL, no shutdown.
cut_power() {
    kill -KILL "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
    QEMU_PID=""
    collect_console
}

# wait_console PATTERN TIMEOUT_S: until this power-on's console shows PATTERN (grep -E); 1 on time-out.
wait_console() {
    waited=0
    while ! console_since "$serial_from" | grep -aqE "$1"; do
        [ "$waited" -lt "$2" ] || return 1
        kill -0 "$QEMU_PID" 2>/dev/null || return 1
        sleep 1
        waited=$((waited + 1))
        collect_console
    done
}

# sleep_fraction FRACTION WINDOW_S: sleep FRACTION of WINDOW_S (sets cut_after_s, one decimal).
sleep_fraction() {
    cut_after_s=$(awk -v f="$1" -v w="$2" 'BEGIN { printf "%.1f", f * w }')
    sleep "$cut_after_s"
}

# serving_main QEMU_ARGS...: the main kit is on and serving (powered on again when it is off).
serving_main() {
    DISK=$WORK/disk.img
    if [ -z "$QEMU_PID" ] || ! kill -0 "$QEMU_PID" 2>/dev/null; then
        boot "$@"
    fi
}

# recover CUT_DIR QEMU_ARGS...: power on after a cut, and write what came back into CUT_DIR (meta, console.log,
# library.json, home.html); 1 when the kit did not come back serving.
recover() {
    dir=$1
    shift
    power_on "$@"
    back=0
    wait_home || back=1
    collect_console
    console_since "$serial_from" > "$dir/console.log"
    printf 'not_serving=%s\nboot_s=%s\n' "$back" "${answered:-}" >> "$dir/meta"
    if [ "$back" -eq 0 ]; then
        cp "$WORK/home.html" "$dir/home.html"
        pc_py library "$PC_BASE" > "$dir/library.json" || printf '{"books": null, "broken": ["the check failed"]}\n' > "$dir/library.json"
    fi
    return "$back"
}

# put_books DISK: tpkit's two demo books (written by the checkout's .venv) into content/ of DISK's data partition,
# owned as that partition's root folder is (the tpkit user), by debugfs on a copy of the partition: nothing is
# mounted. The library check then has books to open after every cut.
put_books() {
    rm -rf "$WORK/books"
    "$REPO/.venv/bin/python" -c 'import pathlib, sys; from appliance.services.library import demo_books; demo_books.build(pathlib.Path(sys.argv[1]))' \
        "$WORK/books" > /dev/null 2>&1 || fail "Could not write the demo books with $REPO/.venv." "Fix: ./build.sh test -k test_imports"
    part=$(sfdisk --dump "$1" | sed -n 's/^[^ ]*3 : start= *\([0-9]*\), size= *\([0-9]*\),.*/\1 \2/p')
    dd if="$1" of="$WORK/data.part" bs=512 skip="${part% *}" count="${part#* }" status=none
    owner=$(debugfs -R "stat /" "$WORK/data.part" 2>/dev/null | sed -n 's/.*User: *\([0-9]*\) *Group: *\([0-9]*\).*/\1 \2/p')
    {
        printf 'mkdir content\nsif content uid %s\nsif content gid %s\n' "${owner% *}" "${owner#* }"
        for book in "$WORK"/books/*.zim; do
            name=content/$(basename "$book")
            printf 'write %s %s\nsif %s uid %s\nsif %s gid %s\n' "$book" "$name" "$name" "${owner% *}" "$name" "${owner#* }"
        done
    } > "$WORK/debugfs.cmds"
    books=$(grep -c '^write ' "$WORK/debugfs.cmds")
    debugfs -w -f "$WORK/debugfs.cmds" "$WORK/data.part" > "$WORK/debugfs.out" 2>&1 \
        || fail "debugfs could not write the demo books ($WORK/debugfs.out)." "Fix: apt-get install e2fsprogs"
    dd if="$WORK/data.part" of="$1" bs=512 seek="${part% *}" conv=notrunc status=none
    rm -f "$WORK/data.part"
    info "Put $books demo books into content/ on the data partition (uid ${owner% *})"
}

# write_table [KEY=VALUE...]: the table so far (after every cut, so a run stopped early still leaves one).
write_table() {
    wall=$(( $(date +%s) - t_run ))
    python3 "$IMAGES/power_cuts.py" table "$results" "$OUT/logs/power-cuts-$ARCH.json" "$OUT/logs/power-cuts-$ARCH.md" \
        "arch=$ARCH" "cuts=$i/$POWER_CUTS" "seed=$seed" "accelerator=$ACCEL_NAME" "wall_s=$wall" \
        "load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)" "$@" > /dev/null
    rm -rf "$OUT/logs/power-cuts-$ARCH-cuts"
    cp -r "$WORK/cuts" "$OUT/logs/power-cuts-$ARCH-cuts"
}

run_power_cuts() {
    seed=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
    results=$WORK/power-cuts.jsonl
    state=$WORK/power-cuts-state.json
    : > "$results"
    t_run=$(date +%s)
    i=0
    info "Power-cut run: $POWER_CUTS cuts, seed $seed (replay with --seed $seed), accelerator $ACCEL_NAME"
    python3 "$IMAGES/power_cuts.py" plan "$POWER_CUTS" "$seed" > "$WORK/plan"
    # The sticks go into an xHCI port of the guest.
    set -- "$@" -device qemu-xhci,id=usb
    # The test channel: versions 1 and 2 before the cuts, then one more version (its patch on a stick of its own)
    # for each book cut; the test kit.toml trusts its key and subscribes to it.
    make_channel $(( $(grep -c '^book_activated ' "$WORK/plan" || true) + 2 ))
    EXTRA_TOP=$(printf 'trusted_content_keys = ["%s"]' "$(tail -n 1 "$WORK/channel-key.pub")")
    EXTRA_SETTINGS=$(printf 'sync_channels = "%s"' "$STICK_CHANNEL")
    write_kit_toml "$SCHOOL" "$token"
    mcopy -o -i "$FAT" "$WORK/kit.toml" ::kit.toml
    put_books "$WORK/disk.img"
    # A never-booted copy of the disk with the test kit.toml: each first-boot cut starts from it.
    cp --sparse=always "$WORK/disk.img" "$WORK/fresh.img"

    # The first boot's window (power-on to the home page); one round of 40 hand-ins, not cut, proves the flow.
    DISK=$WORK/disk.img
    boot "$@"
    window_boot=$answered
    pc_py setup "$PC_BASE" "$state" "$ADMIN_PASSWORD" || fail_guest "The class could not be set up through the kit's pages (above)." \
        "Fix: run images/power_cuts.py setup against a local tpkit serve."
    rm -f "$WORK/go"
    pc_py handins "$PC_BASE" "$state" calibration "$WORK/acks-calibration" "$WORK/go" > "$WORK/calibration.json" \
        || fail_guest "The 40 hand-ins failed before any cut (above)." "Fix: run images/power_cuts.py handins against a local tpkit serve."
    # The book's window: stick 1 (version 1 whole), then stick 2's patch to version 2, not cut; the patch's import,
    # from plugging the stick in to its unit's end, is the window a book cut's moment is drawn from.
    plug_stick 1
    wait_import 1
    plug_stick 2
    wait_import 2
    window_book=$import_s
    pc_py book "$PC_BASE" "$STICK_BOOK" > "$WORK/book-start.json" || true
    python3 "$IMAGES/power_cuts.py" is-version "$WORK/book-start.json" 2 \
        || fail_guest "The test channel's book is not version 2 after its two sticks (above)." "Fix: read tpkit-usb-import@ on the console."
    book_version=2
    ok "Windows: first boot ${window_boot}s to the home page, a book's patch ${window_book}s from plugging in its stick, report ${PC_WINDOW_REPORT_S}s from its start; 40 hand-ins uncut: $(cat "$WORK/calibration.json")"

    i=0
    while read -r phase fraction; do
        i=$((i + 1))
        dir=$WORK/cuts/$i
        mkdir -p "$dir"
        printf 'cut=%s\nphase=%s\nfraction=%s\n' "$i" "$(printf %s "$phase" | tr _ ' ')" "$fraction" > "$dir/meta"
        case $phase in
            first_boot)
                [ -z "$QEMU_PID" ] || shut_down  # the main kit, off by its power button (not a cut)
                cp --sparse=always "$WORK/fresh.img" "$WORK/first.img"
                DISK=$WORK/first.img
                power_on "$@"
                sleep_fraction "$fraction" "$window_boot"
                cut_power
                printf 'expect_school=%s\n' "$SCHOOL" >> "$dir/meta" ;;
            kit.toml_applied)
                serving_main "$@"
                shut_down
                school="$SCHOOL cut $i"
                write_kit_toml "$school"
                mcopy -o -i "$WORK/disk.img@@$boot_offset" "$WORK/kit.toml" ::kit.toml
                power_on "$@"
                sleep_fraction "$fraction" "$window_boot"
                cut_power
                printf 'expect_school=%s\n' "$school" >> "$dir/meta" ;;
            book_activated)
                serving_main "$@"
                stick=$(( book_version + 1 ))
                plug_stick "$stick"
                sleep_fraction "$fraction" "$window_book"
                cut_power
                # The import as far as the console shows it when the power went (power_cuts.py import_stage).
                console_since "$stick_from" > "$dir/console-cut.log"
                printf 'stick=%s\n' "$stick" >> "$dir/meta" ;;
            40_hand-ins)
                serving_main "$@"
                rm -f "$WORK/go"
                : > "$dir/acks"
                pc_py handins "$PC_BASE" "$state" "cut$i" "$dir/acks" "$WORK/go" > "$dir/handins.json" 2> "$dir/handins.err" &
                driver=$!
                waited=0
                until [ -e "$WORK/go" ] || ! kill -0 "$driver" 2>/dev/null || [ "$waited" -ge 600 ]; do sleep 1; waited=$((waited + 1)); done
                [ -e "$WORK/go" ] || fail_guest "The pupils could not sign in before cut $i ($(tail -n 1 "$dir/handins.err"))." "Fix: read $dir/handins.err."
                # The moment is counted in hand-ins, not seconds (a kit just powered on takes several times
                # longer than a warm one): the power goes right after the K-th acknowledgement, K = fraction of 41
                # (0: as the 40 are sent; 40: just after the last was answered).
                after_acks=$(awk -v f="$fraction" 'BEGIN { k = int(f * 41); print (k > 40 ? 40 : k) }')
                t_go=$(date +%s.%N)
                while [ "$(wc -l < "$dir/acks")" -lt "$after_acks" ] && kill -0 "$driver" 2>/dev/null; do
                    sleep 0.05
                done
                cut_power
                cut_after_s=$(awk -v a="$t_go" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
                printf 'after_acks=%s\n' "$after_acks" >> "$dir/meta"
                wait "$driver" || true
                touch "$dir/acks" ;;
            report_written)
                serving_main "$@"
                # tpkit-report.timer fires 2 min after boot (plus up to 5 min of spread), then every 15 min:
                # when this boot's first report has already started, a fresh boot by the power button.
                if console_since "$serial_from" | grep -aq "Starting tpkit-report"; then
                    shut_down
                    power_on "$@"
                fi
                wait_console "Starting tpkit-report" 900 \
                    || fail_guest "tpkit-report.service did not start within 900 s of power-on (cut $i)." "Fix: read the console."
                sleep_fraction "$fraction" "$PC_WINDOW_REPORT_S"
                cut_power ;;
        esac
        printf 'after_s=%s\n' "$cut_after_s" >> "$dir/meta"
        DISK=$WORK/disk.img
        [ "$phase" = first_boot ] && DISK=$WORK/first.img
        came_back=yes
        recover "$dir" "$@" || came_back=no
        if [ "$phase" = 40_hand-ins ] && [ "$came_back" = yes ]; then
            pc_py lost "$PC_BASE" "$state" "$dir/acks" > "$dir/lost.json" || printf '{"acknowledged": 0, "lost": null}\n' > "$dir/lost.json"
        fi
        if [ "$phase" = book_activated ] && [ "$came_back" = yes ]; then
            # The book as the power cut left it, then with the same stick plugged in again.
            pc_py book "$PC_BASE" "$STICK_BOOK" > "$dir/book.json" || true
            plug_stick "$stick"
            wait_import "$stick"
            pc_py book "$PC_BASE" "$STICK_BOOK" > "$dir/book-after.json" || true
            ! python3 "$IMAGES/power_cuts.py" is-version "$dir/book-after.json" "$stick" > /dev/null || book_version=$stick
        fi
        python3 "$IMAGES/power_cuts.py" record "$dir" >> "$results"
        info "Cut $i/$POWER_CUTS ($phase at $cut_after_s s): $(tail -n 1 "$results" | cut -c 1-300)"
        write_table
        if [ "$came_back" = no ] && [ "$phase" != first_boot ]; then
            printf '[✗] The kit did not come back serving after cut %s: the run stops here (console: %s)\n' "$i" "$dir/console.log" >&2
            break
        fi
        if [ "$phase" = first_boot ]; then
            stop_qemu
            rm -f "$WORK/first.img"
        fi
    done < "$WORK/plan"

    # Every hand-in acknowledged in any round, read back once more at the end.
    serving_main "$@"
    cat "$WORK"/cuts/*/acks > "$WORK/acks-all" 2>/dev/null || : > "$WORK/acks-all"
    pc_py lost "$PC_BASE" "$state" "$WORK/acks-all" > "$WORK/lost-all.json" || true
    info "Every acknowledged hand-in of the run read back at the end: $(cat "$WORK/lost-all.json")"
    stop_qemu
    write_table "final_readback=$(tr -d ' ' < "$WORK/lost-all.json")"
    cat "$OUT/logs/power-cuts-$ARCH.md"
    ok "Power-cut run done in ${wall}s: $OUT/logs/power-cuts-$ARCH.md (replay: --power-cuts $POWER_CUTS --seed $seed)"
}
