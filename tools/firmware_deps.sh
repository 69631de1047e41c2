#!/bin/sh
# Host packages the firmware builds need (the MicroPython kit's README lists them),
# and node with npm for the emulated Pico W (tools/emulator).
# Installs them with apt where apt is available and we are root; otherwise says
# in one line what is missing. Exit 0 when everything is present afterwards.
PACKAGES="build-essential gcc-multilib pkg-config cmake gcc-arm-none-eabi libnewlib-arm-none-eabi xz-utils"

missing() {
    out=""
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out="$out $p"
    done
    # node may come from elsewhere than Debian (with its own npm): the commands count
    { command -v node && command -v npm; } >/dev/null 2>&1 || out="$out nodejs npm"
    echo "$out"
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    for tool in gcc g++ make cmake pkg-config xz arm-none-eabi-gcc node npm; do
        command -v "$tool" >/dev/null 2>&1 || absent="$absent $tool"
    done
    [ -z "$absent" ] && exit 0
    echo "firmware_deps: no apt here; install these tools by hand:$absent (and 32-bit gcc, newlib for arm-none-eabi)" >&2
    exit 1
fi
need=$(missing)
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $need >/dev/null
    need=$(missing)
    [ -z "$need" ] && exit 0
fi
echo "firmware_deps: missing apt packages:$need (run: apt-get install -y$need)" >&2
exit 1
