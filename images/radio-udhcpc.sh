#!/bin/sh
# shellcheck disable=SC2154 # udhcpc sets interface, ip, subnet, router and dns
# busybox udhcpc's script for one simulated phone of the radio run (images/radio_guest.py, in the guest only): the
# lease onto the phone's interface, its DNS into the namespace's resolv.conf (`ip netns exec` puts it over
# /etc/resolv.conf), and the lease as JSON for radio_guest.py. Its own trace goes to /run/tpkit-radio/IFACE.udhcpc.log.
exec 2>> "/run/tpkit-radio/$interface.udhcpc.log"
set -x
case $1 in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/$subnet" dev "$interface"
        ip route replace default via "$router" dev "$interface"
        mkdir -p "/etc/netns/$interface"
        # shellcheck disable=SC2086 # one nameserver line per address in $dns
        printf 'nameserver %s\n' $dns > "/etc/netns/$interface/resolv.conf"
        printf '{"ip": "%s", "subnet": "%s", "router": "%s", "dns": "%s"}\n' "$ip" "$subnet" "$router" "$dns" \
            > "/run/tpkit-radio/$interface.lease"
        ;;
esac
exit 0
