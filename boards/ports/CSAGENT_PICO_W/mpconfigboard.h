// RPI_PICO_W with network.PPP (lwIP's PPP over a machine.UART): it builds
// beside CYW43's lwIP and costs about 24 KB of flash.
#include "boards/RPI_PICO_W/mpconfigboard.h"

#define MICROPY_PY_NETWORK_PPP_LWIP (1)
