// network.PPP's poll (extmod/network_ppp_lwip.c, MicroPython v1.28) runs as
// a scheduled callback and hands the UART's bytes to lwIP with pppos_input()
// without the lwIP lock modlwip takes around every socket call. On rp2 that
// lock holds off PendSV, where lwIP's timers run; without it a TCP timer
// (a delayed ACK, a retransmission) can run in the middle of tcp_input and
// corrupt a segment list (seen on the emulated board: tcp_output looping on
// a cycle in pcb->unacked until the watchdog fired). The link flag
// --wrap=pppos_input (mpconfigboard.cmake) sends that call here.
#include "py/mphal.h"
#include "netif/ppp/pppos.h"

void __real_pppos_input(ppp_pcb *ppp, const void *data, int len);

void __wrap_pppos_input(ppp_pcb *ppp, const void *data, int len) {
    MICROPY_PY_LWIP_ENTER
    __real_pppos_input(ppp, data, len);
    MICROPY_PY_LWIP_EXIT
}
