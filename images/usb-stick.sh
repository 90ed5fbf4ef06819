# shellcheck shell=sh
# shellcheck disable=SC2034,SC2153,SC2154 # variables shared with images/image-test.sh and the runs that source this file
# USB sticks for the opt-in runs that apply content on the booted kit (images/class-load.sh, images/power-cuts.sh):
# a signed test channel made on the host, its versions on stick images, and a stick plugged into the guest's USB
# port through qemu's monitor, where udev starts tpkit-usb-import@ as it would for a teacher's stick. The guest needs
# an xHCI controller: `-device qemu-xhci,id=usb` among qemu's arguments.

STICK_CHANNEL=class-load
STICK_BOOK=class_load_reader
# A stick's import must finish within this (TCG on a shared machine; a Pi takes seconds for this book).
STICK_IMPORT_TIMEOUT_S=900

# make_stick TREE IMAGE: a 64 MiB stick with one FAT32 partition holding TREE's files, by mtools (nothing mounted).
make_stick() {
    rm -f "$2"
    truncate -s 64M "$2"
    printf 'start=2048, type=c\n' | sfdisk -q "$2"
    mformat -i "$2@@1M" -F -T $(( 64 * 2048 - 2048 )) -v TPKITSTICK ::
    mcopy -s -i "$2@@1M" "$1"/* ::
}

# make_channel VERSIONS: the test channel (host side, with the checkout's .venv) in VERSIONS versions of the book
# (images/class_book.py), each published over the one before: stick 1 carries version 1 whole, stick K (K > 1) only
# the patch from version K-1 to K, which the kit must apply to the version it has.
make_channel() {
    versions=$1
    channel=$WORK/channel/$STICK_CHANNEL
    rm -rf "$WORK/channel" "$WORK/previous" "$WORK"/stick[0-9]*
    mkdir -p "$channel"
    "$TPKIT" channel keygen --out "$WORK/channel-key" > "$WORK/channel.log" 2>&1 \
        || fail "Could not make the test channel's key: $WORK/channel.log" "Fix: ./build.sh test -k test_imports"
    version=1
    while [ "$version" -le "$versions" ]; do
        set --  # publish's --previous: the version before, from which the patch is made
        if [ "$version" -gt 1 ]; then
            rm -rf "$WORK/previous"
            mkdir -p "$WORK/previous"
            cp "$channel/$STICK_BOOK.zim" "$WORK/previous/"
            set -- --previous "$WORK/previous"
        fi
        if ! { "$REPO/.venv/bin/python" "$IMAGES/class_book.py" "$channel/$STICK_BOOK.zim" "$version" \
            && "$TPKIT" channel publish --key "$WORK/channel-key.key" --name "$STICK_CHANNEL" "$@" "$channel"; } >> "$WORK/channel.log" 2>&1; then
            fail "Could not make version $version of the test channel: $WORK/channel.log" "Fix: read it."
        fi
        mkdir -p "$WORK/stick$version/tpkit"
        cp -r "$channel" "$WORK/stick$version/tpkit/"
        [ "$version" -eq 1 ] || rm "$WORK/stick$version/tpkit/$STICK_CHANNEL/$STICK_BOOK.zim"
        make_stick "$WORK/stick$version" "$WORK/stick$version.img"
        version=$(( version + 1 ))
    done
    info "Channel $STICK_CHANNEL: version 1 ($(stat -c %s "$WORK/stick1/tpkit/$STICK_CHANNEL/$STICK_BOOK.zim") bytes) on stick 1, each later version's patch on its own stick (up to stick $versions)"
}

# plug_stick N: stick N into the kit's USB port (its import's console lines are looked for from here on).
plug_stick() {
    collect_console
    stick_from=$(wc -l < "$SERIAL")
    monitor "drive_add 0 if=none,id=stick$1,format=raw,file=$WORK/stick$1.img"
    monitor "device_add usb-storage,bus=usb.0,drive=stick$1,id=stickdev$1,removable=on"
    t_plug=$(date +%s)
    info "USB stick $1 plugged in"
}

# wait_import N: until stick N's tpkit-usb-import@ unit has ended (its "Finished" or "Failed" line on the console),
# then pull the stick out. Sets import_s.
wait_import() {
    while ! console_since "$stick_from" | grep -aqE "(Finished|Failed to start|Failed with result).*tpkit-usb-import@|tpkit-usb-import@.*(Deactivated successfully|Failed with result)"; do
        collect_console
        [ $(( $(date +%s) - t_plug )) -lt "$STICK_IMPORT_TIMEOUT_S" ] \
            || fail_guest "Stick $1's import did not end within ${STICK_IMPORT_TIMEOUT_S}s." "Fix: read tpkit-usb-import@ on the console."
        sleep 3
    done
    import_s=$(( $(date +%s) - t_plug ))
    monitor "device_del stickdev$1"
    info "Stick $1's import ended ${import_s}s after it was plugged in; stick pulled out"
}
