// A PL011 UART of the emulated RP2040 as MicroPython's rp2 driver (and
// network.PPP on it) needs it, bridged to a byte stream on the host.
//
// rp2040js 1.4.1's RPUART gets three things wrong for that driver: its TX
// interrupt is raised again at every check, so the driver's handler runs
// without end; its RX interrupt ignores the FIFO level UARTIFLS selects;
// and it never raises the RX timeout interrupt (UARTRTINTR), which
// UART.IRQ_RXIDLE, and so network.PPP, waits for. Here both FIFOs move at
// the line rate in emulated time: a byte from the host enters the 32-byte
// RX FIFO one character time after the last, and waits while the FIFO is
// full (as RTS/CTS would hold the sender), so none is dropped; a byte the
// firmware writes leaves the TX FIFO one character time after the last.
// Interrupts follow the PL011 manual: RX at or above the RX level, TX when
// the TX FIFO drains through its level, RX timeout 32 bit times after the
// last byte arrived while the RX FIFO is not empty; UARTICR clears them.

const DR = 0x0;
const FR = 0x18;
const IFLS = 0x34;
const IMSC = 0x38;
const RIS = 0x3c;
const MIS = 0x40;
const ICR = 0x44;
const FIFO_SIZE = 32;
const RXINTR = 1 << 4;
const TXINTR = 1 << 5;
const RTINTR = 1 << 6;
const FR_BUSY = 1 << 3;
const FR_RXFE = 1 << 4;
const FR_TXFF = 1 << 5;
const FR_RXFF = 1 << 6;
const FR_TXFE = 1 << 7;
const LEVELS = [4, 8, 16, 24, 28]; // UARTIFLS 1/8 .. 7/8 of 32 entries
const DEFAULT_BAUD = 115200;

// uart: an rp2040js RPUART; clock: the simulator's clock; send(bytes): to
// the host. Returns feed(bytes) for the host's bytes and the number queued.
export function bridgeUart(uart, clock, send) {
  const rx = []; // in the RX FIFO
  const tx = []; // in the TX FIFO
  let pending = Buffer.alloc(0); // from the host, not yet on the line
  let ifls = 0x12; // reset value: both levels 1/2
  let status = 0;
  const rxAlarm = clock.createAlarm(() => receiveOne());
  const txAlarm = clock.createAlarm(() => transmitOne());
  const timeoutAlarm = clock.createAlarm(() => {
    if (rx.length) setStatus(status | RTINTR);
  });

  const bitNanos = () => 1e9 / (uart.baudRate > 0 && uart.intDivisor ? uart.baudRate : DEFAULT_BAUD);
  const charNanos = () => 10 * bitNanos(); // start, 8 data, stop
  const rxLevel = () => LEVELS[Math.min((ifls >> 3) & 7, 4)];
  const txLevel = () => LEVELS[Math.min(ifls & 7, 4)];
  const setStatus = (value) => {
    status = value;
    uart.rp2040.setInterrupt(uart.irq, !!(status & uart.interruptMask));
  };

  function receiveOne() {
    if (pending.length && rx.length < FIFO_SIZE && uart.enabled && uart.rxEnabled) {
      rx.push(pending[0]);
      pending = pending.subarray(1);
      timeoutAlarm.schedule(32 * bitNanos());
      if (rx.length >= rxLevel()) setStatus(status | RXINTR);
    }
    if (pending.length) rxAlarm.schedule(charNanos()); // a full FIFO holds the line
  }

  function transmitOne() {
    const before = tx.length;
    send(tx.shift());
    if (before > txLevel() && tx.length <= txLevel()) setStatus(status | TXINTR);
    if (tx.length) txAlarm.schedule(charNanos());
  }

  uart.readUint32 = function (offset) {
    switch (offset) {
      case DR: {
        const value = rx.length ? rx.shift() : 0;
        let next = status;
        if (rx.length < rxLevel()) next &= ~RXINTR;
        if (!rx.length) next &= ~RTINTR;
        setStatus(next);
        return value;
      }
      case FR:
        return (rx.length ? 0 : FR_RXFE) | (rx.length >= FIFO_SIZE ? FR_RXFF : 0) |
          (tx.length ? FR_BUSY : FR_TXFE) | (tx.length >= FIFO_SIZE ? FR_TXFF : 0);
      case IFLS:
        return ifls;
      case RIS:
        return status;
      case MIS:
        return status & this.interruptMask;
      default:
        return Object.getPrototypeOf(this).readUint32.call(this, offset);
    }
  };

  uart.writeUint32 = function (offset, value) {
    switch (offset) {
      case DR:
        if (tx.length < FIFO_SIZE) {
          tx.push(value & 0xff);
          if (tx.length === 1) txAlarm.schedule(charNanos());
        }
        break;
      case IFLS:
        ifls = value & 0x3f;
        break;
      case IMSC:
        this.interruptMask = value & 0x7ff;
        setStatus(status);
        break;
      case ICR:
        setStatus(status & ~this.rawWriteValue);
        if (this.rawWriteValue & RTINTR && rx.length) timeoutAlarm.schedule(32 * bitNanos());
        break;
      default:
        Object.getPrototypeOf(this).writeUint32.call(this, offset, value);
    }
  };

  return {
    feed(bytes) {
      const idle = !pending.length;
      pending = Buffer.concat([pending, bytes]);
      if (idle) rxAlarm.schedule(charNanos());
    },
    get queued() {
      return pending.length;
    },
  };
}
