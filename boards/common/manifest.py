# The agent as every firmware freezes it: boards/*/manifest.py include this
# file, so the ESP32 image (no Xtensa toolchain in CI) freezes exactly what
# the 32-bit unix build that CI runs freezes. Paths are relative to this file.
package("csagent", base_path="../../firmware")
