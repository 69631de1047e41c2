// uart.mjs on a real rp2040js RP2040 and its simulation clock (node --test;
// host_tests/test_emulator_uart.py runs it in make test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Simulator } from 'rp2040js';
import { bridgeUart } from './uart.mjs';

const DR = 0x0, FR = 0x18, IBRD = 0x24, FBRD = 0x28, CR = 0x30, IFLS = 0x34, IMSC = 0x38, RIS = 0x3c, ICR = 0x44;
const RX = 1 << 4, TX = 1 << 5, RT = 1 << 6;
const CHAR_NS = 10 * 1e9 / 115200;

function board() {
  const { clock, rp2040: mcu } = new Simulator(); // not run: the test moves the clock
  const uart = mcu.uart[0];
  const state = { irq: false, sent: [] };
  mcu.setInterrupt = (irq, level) => { if (irq === uart.irq) state.irq = level; };
  const line = bridgeUart(uart, clock, (b) => state.sent.push(b));
  uart.writeUint32(IBRD, 67); // 125 MHz / (16 * 67.8125) = 115200 baud
  uart.writeUint32(FBRD, 52);
  uart.writeUint32(CR, 0x301); // UARTEN, TXE, RXE
  const chars = (n) => clock.tick(n * CHAR_NS + 1);
  const read = (n) => Array.from({ length: n }, () => uart.readUint32(DR));
  return { clock, uart, line, state, chars, read };
}

test('RX interrupt at the FIFO level UARTIFLS selects, not before', () => {
  const { uart, line, state, chars, read } = board();
  uart.writeUint32(IMSC, RX);
  assert.equal(uart.readUint32(IFLS), 0x12); // reset value: 1/2 each way
  line.feed(Buffer.alloc(20, 0x41));
  chars(15);
  assert.equal(uart.readUint32(RIS) & RX, 0);
  chars(1);
  assert.ok(uart.readUint32(RIS) & RX && state.irq);
  read(1);
  assert.equal(uart.readUint32(RIS) & RX, 0); // below the level again
  assert.equal(state.irq, false);
});

test('RX timeout 32 bit times after the last byte, cleared by emptying the FIFO', () => {
  const { uart, line, state, chars, read, clock } = board();
  uart.writeUint32(IMSC, RX | RT);
  line.feed(Buffer.from('OK\r'));
  chars(3);
  assert.equal(uart.readUint32(RIS) & (RX | RT), 0); // 3 bytes: under the level of 16
  clock.tick(32 * 1e9 / 115200);
  assert.ok(uart.readUint32(RIS) & RT && state.irq);
  assert.deepEqual(read(3), [0x4f, 0x4b, 0x0d]);
  assert.equal(uart.readUint32(RIS) & RT, 0);
  assert.equal(state.irq, false);
});

test('input is paced at the line rate and held, not dropped, while the FIFO is full', () => {
  const { uart, line, chars } = board();
  const data = Buffer.from(Array.from({ length: 40 }, (_, i) => i));
  const drain = () => {
    const out = [];
    while (!(uart.readUint32(FR) & (1 << 4))) out.push(uart.readUint32(DR)); // until RXFE
    return out;
  };
  line.feed(data);
  chars(5);
  assert.equal(line.queued, 35); // one byte per character time
  chars(55);
  assert.ok(uart.readUint32(FR) & (1 << 6)); // RXFF: 32 in the FIFO, 8 held
  assert.equal(line.queued, 8);
  const got = drain();
  chars(20);
  assert.deepEqual([...got, ...drain()], [...data]);
});

test('TX leaves at the line rate; its interrupt comes once, draining through the level', () => {
  const { uart, state, chars } = board();
  uart.writeUint32(IMSC, TX);
  for (let i = 0; i < 20; i++) uart.writeUint32(DR, 0x30 + i);
  assert.ok(uart.readUint32(FR) & (1 << 3)); // BUSY
  chars(3);
  assert.equal(state.sent.length, 3);
  assert.equal(uart.readUint32(RIS) & TX, 0); // 17 left: above the level of 16
  chars(1);
  assert.ok(uart.readUint32(RIS) & TX && state.irq);
  uart.writeUint32Atomic(ICR, TX, 0);
  chars(16);
  assert.equal(state.sent.length, 20);
  assert.equal(uart.readUint32(RIS) & TX, 0); // not raised again: rp2040js raised it for ever
  assert.equal(uart.readUint32(FR) & ((1 << 3) | (1 << 7)), 1 << 7); // TXFE, not BUSY
});
