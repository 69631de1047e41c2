# The Raspberry Pi Pico W with network.PPP, for a cellular modem on a UART
# (boards/common/ppp.py): MicroPython's RPI_PICO_W board as it is, plus lwIP's
# PPP (mpconfigboard.h), whose input takes the lwIP lock (ppp_lock.c).
# tools/firmware.py builds it with BOARD_DIR=this dir.
include(${MICROPY_PORT_DIR}/boards/RPI_PICO_W/mpconfigboard.cmake)
set(MICROPY_BOARD_PINS ${MICROPY_PORT_DIR}/boards/RPI_PICO_W/pins.csv)
set(MICROPY_FROZEN_MANIFEST ${MICROPY_PORT_DIR}/boards/RPI_PICO_W/manifest.py)
set(MICROPY_SOURCE_BOARD ${MICROPY_BOARD_DIR}/ppp_lock.c)
set(CMAKE_EXE_LINKER_FLAGS "${CMAKE_EXE_LINKER_FLAGS} -Wl,--wrap=pppos_input")
