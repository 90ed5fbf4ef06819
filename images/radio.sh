# shellcheck shell=sh
# shellcheck disable=SC2034,SC2153,SC2154 # variables shared with images/image-test.sh, which sources this file
# The radio run: `./build.sh image-test --arch ARCH --radio [--phones N] [--max-clients N] [--security MODE] [--memory MB]` (opt-in,
# never in CI; docs/image.md "The classroom radio"). Sourced by images/image-test.sh after its setup (the namespace,
# the hub, both NICs), and run with its helpers: boot, shut_down, collect_console, console_since, fail_guest,
# write_kit_toml.
#
# What happens:
#   1. the test's copy of the image (never the image itself) gets what a phone needs and a kit does not: Debian's
#      wpasupplicant (with libpcsclite1, libreadline8) and busybox-static (udhcpc, ping), unpacked from their .debs
#      into the root partition (a loop mount); mac80211_hwsim is loaded at boot with N+1 radios; and a one-off unit,
#      tpkit-radio-test.service, runs images/radio_guest.py with images/power_cuts.py (its browser and class);
#   2. the kit.toml names wlan0 (the first simulated radio) as the access point's interface: first boot writes
#      hostapd's and dnsmasq's files from it exactly as on a Pi;
#   3. in the guest, radio_guest.py moves each other radio into a network namespace of its own (a phone), checks a
#      wrong passphrase, lets all N phones join at once, leases them addresses from the kit's dnsmasq, checks names,
#      the home page, the captive portal without an uplink, client isolation and the uplink, then the class signs
#      in and reads for RADIO_S seconds; its result is one "TPKIT-RADIO-RESULT {json}" line on the serial console;
#   4. the host turns it into images/out/logs/radio-ARCH.md and .json, and powers the kit off.

RADIO_DEBS="wpasupplicant libpcsclite1 libreadline8 readline-common busybox-static"
RADIO_LIB=usr/local/lib/tpkit-radio
RADIO_S=${TPKIT_IMAGE_RADIO_S:-180}
# Boot, the demo books, the class, the association and the reading, under TCG on a shared 2-core machine.
RADIO_TIMEOUT_S=${TPKIT_IMAGE_RADIO_TIMEOUT_S:-3600}

# radio_debs: the .debs a simulated phone needs, for the guest's architecture, into $WORK/debs.
radio_debs() {
    mkdir -p "$WORK/debs"
    set --
    for deb in $RADIO_DEBS; do set -- "$@" "$deb:$ARCH"; done
    (cd "$WORK/debs" && apt-get download -q "$@" > "$WORK/debs.log" 2>&1) \
        || { apt-get update -qq > /dev/null 2>&1 && (cd "$WORK/debs" && apt-get download -q "$@" >> "$WORK/debs.log" 2>&1); } \
        || EXIT_CODE=2 fail "apt-get download $* failed: $(tail -n 2 "$WORK/debs.log")" \
            "Fix: for arm64, dpkg --add-architecture arm64 && apt-get update; otherwise check apt's sources."
}

# radio_payload: the phones' tools, the guest's runner and its unit into the root partition of $DISK.
radio_payload() {
    radio_debs
    payload=$WORK/payload
    rm -rf "$payload"
    mkdir -p "$payload/$RADIO_LIB" "$payload/etc/systemd/system/multi-user.target.wants" \
        "$payload/etc/modules-load.d" "$payload/etc/modprobe.d"
    for deb in "$WORK"/debs/*.deb; do dpkg-deb -x "$deb" "$payload"; done
    # The image's root is merged-/usr: /bin, /sbin and /lib are links into /usr, so the .debs' own go there.
    for dir in bin sbin lib; do
        if [ -d "$payload/$dir" ] && [ ! -L "$payload/$dir" ]; then
            mkdir -p "$payload/usr/$dir"
            cp -a "$payload/$dir/." "$payload/usr/$dir/"
            rm -rf "${payload:?}/$dir"
        fi
    done
    cp "$IMAGES/radio_guest.py" "$IMAGES/radio-udhcpc.sh" "$IMAGES/power_cuts.py" "$payload/$RADIO_LIB/"
    python3 -c 'import json, sys; print(json.dumps(dict(zip(("phones", "seconds", "ssid", "passphrase", "admin_password", "kit_id", "security"), sys.argv[1:]))))' \
        "$PHONES" "$RADIO_S" "$WIFI_SSID" "$WIFI_PASSPHRASE" "$ADMIN_PASSWORD" "$KIT_ID" "${WIFI_SECURITY:-wpa2}" > "$payload/$RADIO_LIB/radio.json"
    printf 'mac80211_hwsim\n' > "$payload/etc/modules-load.d/tpkit-radio-test.conf"
    printf 'options mac80211_hwsim radios=%s\n' "$(( PHONES + 1 ))" > "$payload/etc/modprobe.d/tpkit-radio-test.conf"
    cat > "$payload/etc/systemd/system/tpkit-radio-test.service" <<UNIT
# The radio run's phones (images/radio.sh): in the boot test's copy of the image only, never in the image itself.
[Unit]
Description=tpkit radio test: simulated phones on the kit's access point
After=hostapd.service dnsmasq.service tpkit-web.service

[Service]
Type=exec
ExecStart=/usr/bin/python3 /$RADIO_LIB/radio_guest.py run /$RADIO_LIB/radio.json
StandardOutput=journal+console
StandardError=journal+console
UNIT
    ln -s /etc/systemd/system/tpkit-radio-test.service "$payload/etc/systemd/system/multi-user.target.wants/"

    root_line=$(sfdisk --dump "$DISK" | sed -n 's/^[^ ]*2 : start= *\([0-9]*\), size= *\([0-9]*\),.*/\1 \2/p')
    [ -n "$root_line" ] || fail "The image has no second (root) partition." "Fix: rebuild with ./build.sh image --arch $ARCH"
    mkdir -p "$WORK/root"
    mount -o "loop,offset=$(( ${root_line% *} * 512 )),sizelimit=$(( ${root_line#* } * 512 ))" "$DISK" "$WORK/root" \
        || EXIT_CODE=2 fail "Could not loop-mount the test copy's root partition." "Fix: the radio run needs loop devices (modprobe loop)."
    copied=0
    hwsim=$(find "$WORK/root/usr/lib/modules" -name 'mac80211_hwsim.ko*' | head -n 1)
    [ -n "$hwsim" ] && cp -a "$payload/." "$WORK/root/" && copied=1
    umount "$WORK/root"
    [ -n "$hwsim" ] || EXIT_CODE=2 fail "The image's kernel has no mac80211_hwsim module." \
        "Fix: the radio run needs Debian's kernel (linux-image-$ARCH), which ships it in drivers/net/wireless/virtual."
    [ "$copied" -eq 1 ] || fail "Could not copy the radio payload into the test copy's root partition." "Fix: read the lines above."
    info "The test copy of the image has wpa_supplicant, busybox, mac80211_hwsim with $(( PHONES + 1 )) radios and tpkit-radio-test.service (the image itself is unchanged)"
}

run_radio() {
    t_run=$(date +%s)
    radio_payload
    CLASSROOM_IF=wlan0
    write_kit_toml "$SCHOOL" "$token"
    mcopy -o -i "$FAT" "$WORK/kit.toml" ::kit.toml
    boot "$@"
    info "Waiting for the guest's phones (at most ${RADIO_TIMEOUT_S}s; they read for ${RADIO_S}s once they have joined)"
    while ! console_since "$serial_from" | grep -aq "TPKIT-RADIO-DONE"; do
        collect_console
        kill -0 "$QEMU_PID" 2>/dev/null || fail_guest "qemu exited before the radio run ended." "Fix: read the guest's console."
        [ $(( $(date +%s) - t_boot )) -lt "$RADIO_TIMEOUT_S" ] \
            || fail_guest "The radio run did not end within ${RADIO_TIMEOUT_S}s of power-on." \
                "Fix: read tpkit-radio-test.service on the console; a slower machine may need TPKIT_IMAGE_RADIO_TIMEOUT_S=7200."
        sleep 10
    done
    collect_console
    status=0
    console_since "$serial_from" > "$WORK/radio-console.log"
    python3 "$IMAGES/radio_guest.py" table "$WORK/radio-console.log" "$OUT/logs/radio-$ARCH.json" "$OUT/logs/radio-$ARCH.md" \
        "arch=$ARCH" "memory_mb=$MEMORY_MB" "phones=$PHONES" "max_clients=${WIFI_MAX_CLIENTS:-24 (the default)}" \
        "security=${WIFI_SECURITY:-wpa2 (the default)}" \
        "accelerator=$ACCEL_NAME" "reading_s=$RADIO_S" \
        "home_page_s=$answered" "load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)" "wall_s=$(( $(date +%s) - t_run ))" \
        > "$WORK/radio-table.md" || status=$?
    sed -n '/^| check /,/^$/p' "$WORK/radio-table.md" | cut -c 1-240
    shut_down
    [ "$status" -eq 0 ] || fail "The radio run failed a check: $OUT/logs/radio-$ARCH.md" "Fix: read it and the console ($SERIAL)."
    ok "Radio run passed: $OUT/logs/radio-$ARCH.md"
}
