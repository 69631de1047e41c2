#!/bin/sh
# Host packages the firmware builds need (the MicroPython kit's README lists them),
# and node with npm for the emulated Pico W (tools/emulator).
# What counts is what the builds use, not the package names: each check below
# compiles or runs what a build does, and names the package that provides it.
# Missing pieces are installed with apt where apt is available and we are root;
# whatever is still missing afterwards fails in one line naming its package.
PROBE=$(mktemp -d)
trap 'rm -rf "$PROBE"' EXIT
printf 'int main(void){return 0;}\n' >"$PROBE/m32.c"
printf '#include <cstdlib>\n#include <new>\nint main(){int*p=new int(std::abs(-1));int r=*p;delete p;return r;}\n' >"$PROBE/arm.cpp"

has() { command -v "$1" >/dev/null 2>&1; }

# One line per check: the Debian package, then the command that proves it is there.
check() {
    case "$1" in
        build-essential) has make && has gcc && has g++ ;;
        gcc-multilib) gcc -m32 "$PROBE/m32.c" -o "$PROBE/m32" 2>/dev/null ;;
        pkg-config) has pkg-config ;;
        cmake) has cmake ;;
        xz-utils) has xz ;;
        gcc-arm-none-eabi) has arm-none-eabi-gcc && has arm-none-eabi-g++ ;;
        libnewlib-arm-none-eabi)
            printf '#include <stdlib.h>\n' | arm-none-eabi-gcc -x c -c -o /dev/null - 2>/dev/null ;;
        libstdc++-arm-none-eabi-newlib)
            arm-none-eabi-g++ -mcpu=cortex-m0plus -mthumb --specs=nosys.specs \
                "$PROBE/arm.cpp" -o "$PROBE/arm.elf" 2>/dev/null ;;
        nodejs) has node ;;
        npm) has npm ;;
    esac
}
PACKAGES="build-essential gcc-multilib pkg-config cmake xz-utils gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib nodejs npm"

missing() {
    out=""
    for p in $PACKAGES; do
        check "$p" || out="$out $p"
    done
    echo "$out"
}

need=$(missing)
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && has apt-get; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $need >/dev/null
    need=$(missing)
    [ -z "$need" ] && exit 0
fi
echo "firmware_deps: missing (Debian packages):$need; install them with: apt-get install -y$need" >&2
exit 1
