"""tools/firmware.py: the Pico W flash-layout check on made-up images and
headers, and (under `make firmware-test`) the 32-bit build's frozen agent."""
import os
import struct
import subprocess

import pytest

from conftest import ROOT

import firmware  # noqa: E402  (tools/firmware.py)
from stations import FIRMWARE  # noqa: E402


def uf2(path, blocks):
    """A UF2 file writing `size` bytes at each flash offset of blocks."""
    with open(path, "wb") as f:
        for n, (offset, size) in enumerate(blocks):
            head = struct.pack("<8I", 0x0A324655, 0x9E5D5157, 0x2000, firmware.XIP_BASE + offset, size,
                               n, len(blocks), 0xE48BFF56)
            f.write(head + bytes(476) + struct.pack("<I", 0x0AB16F30))


def test_uf2_end_is_the_last_byte_written(tmp_path):
    uf2(tmp_path / "a.uf2", [(0, 256), (0x1000, 256), (0x400, 256)])
    assert firmware.uf2_end(str(tmp_path / "a.uf2")) == 0x1100


def test_uf2_end_refuses_another_file(tmp_path):
    (tmp_path / "x.uf2").write_bytes(b"\0" * 512)
    with pytest.raises(firmware.BuildError):
        firmware.uf2_end(str(tmp_path / "x.uf2"))


def test_image_reaching_into_the_filesystem_is_refused():
    assert firmware.check_layout(1000, 1000) == 0
    assert firmware.check_layout(900, 1000) == 100
    with pytest.raises(firmware.BuildError, match="1 bytes into the filesystem"):
        firmware.check_layout(1001, 1000)


def test_filesystem_start_from_the_board_headers(tmp_path):
    """End of flash minus the filesystem and the ROMFS, board header first."""
    rp2 = tmp_path / "ports" / "rp2"
    (rp2 / "boards" / "RPI_PICO_W").mkdir(parents=True)
    (rp2 / "boards" / "RPI_PICO_W" / "mpconfigboard.h").write_text(
        "// todo\n#define MICROPY_HW_FLASH_STORAGE_BYTES          (848 * 1024)\n")
    (rp2 / "mpconfigport.h").write_text("#ifndef MICROPY_HW_ROMFS_BYTES\n#define MICROPY_HW_ROMFS_BYTES (0)\n"
                                        "#define MICROPY_HW_FLASH_STORAGE_BYTES (1408 * 1024)\n")
    sdk = tmp_path / "lib" / "pico-sdk" / "src" / "boards" / "include" / "boards"
    sdk.mkdir(parents=True)
    (sdk / "pico_w.h").write_text("#define PICO_FLASH_SIZE_BYTES (2 * 1024 * 1024)\n")
    assert firmware.picow_filesystem_start(str(tmp_path)) == 1200 * 1024


@pytest.mark.skipif(not FIRMWARE, reason="make firmware-test sets CSAGENT_MICROPYTHON")
def test_the_32_bit_build_freezes_every_agent_module():
    """What boards/common/manifest.py freezes for every board is in the
    image CI runs: the ESP32 manifest shares the list."""
    r = subprocess.run([FIRMWARE, "-c", "import sys; print(sys.maxsize); help('modules')"],
                       capture_output=True, text=True, timeout=30, env=dict(os.environ, MICROPYPATH=".frozen"))
    words = r.stdout.split()
    assert words[0] == str(2 ** 31 - 1)  # a 32-bit build
    agent = {"csagent/" + f[:-3] for f in os.listdir(os.path.join(ROOT, "firmware", "csagent"))
             if f.endswith(".py")}
    assert agent | {"board"} <= set(words), sorted(agent - set(words))
