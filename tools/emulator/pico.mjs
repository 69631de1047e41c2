// A Raspberry Pi Pico W on rp2040js: the firmware's USB-CDC serial is this
// process's stdin and stdout, byte for byte; notices go to stderr.
//
//   node pico.mjs --bootrom rp2040-bootrom-B1.bin --firmware firmware.uf2
//                 [--fs littlefs.img --fs-offset 0x12c000 [--save out.img | --save-each fs.img]]
//                 [--uart0 PORT] [--reset-exit STATUS]
//
// rp2040js drops flash erase and program, so littlefs could not write.
// The shim: the bootrom's flash_range_erase and flash_range_program start
// with a BKPT that lands here; this host does the operation on the
// emulated flash as a NOR chip would (an erase sets bytes to 0xff, a
// program can only clear bits) and returns to the caller. The pico-sdk
// reaches flash only through those two functions.
// --save writes the filesystem region back when the process ends (stdin
// closed, SIGTERM or SIGINT), so the host can read what the board wrote;
// --save-each writes it after every erase and program instead, before the
// core goes on, so killing this process is a power cut at that instant.
// --uart0 PORT wires UART0 to a TCP connection to 127.0.0.1:PORT (a modem
// played on the host, tools/cellmodem.py), through uart.mjs.
// Idle emulated time runs no faster than wall time (IdleCappedSimulator).
import { openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { ConsoleLogger, LogLevel, Simulator, USBCDC } from 'rp2040js';
import { bridgeUart } from './uart.mjs';

const FLASH_BASE = 0x10000000;
const ERASE_BKPT = 0xe0;
const PROGRAM_BKPT = 0xe1;

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`usage: --name value pairs, got ${argv.slice(i).join(' ')}`);
    }
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const name of ['bootrom', 'firmware']) {
    if (!args[name]) throw new Error(`--${name} is required`);
  }
  if (args.fs && !args['fs-offset']) throw new Error('--fs needs --fs-offset');
  return args;
}

function loadBootrom(mcu, path) {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const words = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < words.length; i++) words[i] = view.getUint32(i * 4, true);
  mcu.loadBootrom(words);
}

function loadUF2(mcu, path) {
  const data = readFileSync(path);
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  for (let at = 0; at + 512 <= data.length; at += 512) {
    if (view.getUint32(at, true) !== 0x0a324655 || view.getUint32(at + 4, true) !== 0x9e5d5157) {
      throw new Error(`${path}: not a UF2 block at ${at}`);
    }
    const address = view.getUint32(at + 12, true);
    const size = view.getUint32(at + 16, true);
    mcu.flash.set(data.subarray(at + 32, at + 32 + size), address - FLASH_BASE);
  }
}

// The bootrom's function table: a 16-bit pointer at 0x14 to (code, address)
// pairs of 16-bit halves, codes being two ASCII letters, ending with code 0.
function romFunction(mcu, letters) {
  const half = (a) => (mcu.bootrom[a >> 2] >>> ((a & 2) * 8)) & 0xffff;
  const code = letters.charCodeAt(0) | (letters.charCodeAt(1) << 8);
  for (let entry = half(0x14); half(entry); entry += 4) {
    if (half(entry) === code) return half(entry + 2) & ~1;
  }
  throw new Error(`bootrom has no function ${letters}`);
}

function patchHalf(mcu, address, value) {
  const i = address >> 2;
  const shift = (address & 2) * 8;
  mcu.bootrom[i] = (mcu.bootrom[i] & ~(0xffff << shift)) | (value << shift);
}

// rp2040js jumps an idle core's clock to its next alarm at once, so emulated
// time ran 10-30x ahead of wall time while the firmware waited, and a host
// answering in wall time (a modem, a CSMS) looked late to it. Here an idle
// stretch advances emulated time by no more than the wall time it took;
// while the core runs, emulated time goes at the speed of emulation.
class IdleCappedSimulator extends Simulator {
  constructor() {
    super();
    this.idleSince = null; // [wall ms, emulated ns] when the core went idle
  }

  execute() {
    const { rp2040, clock } = this;
    this.executeTimer = null;
    this.stopped = false;
    const cycleNanos = 1e9 / 125e6;
    for (let i = 0; i < 1000000 && !this.stopped; i++) {
      if (rp2040.core.waiting) {
        const now = performance.now();
        if (!this.idleSince) this.idleSince = [now, clock.nanos];
        const allowed = (now - this.idleSince[0]) * 1e6 - (clock.nanos - this.idleSince[1]);
        const step = clock.nanosToNextAlarm;
        if (step <= 0 || step > allowed) break; // let wall time pass, and the host's I/O in
        clock.tick(step);
        i += step / cycleNanos;
      } else {
        this.idleSince = null;
        clock.tick(rp2040.core.executeInstruction() * cycleNanos);
      }
    }
    if (!this.stopped) this.executeTimer = setTimeout(() => this.execute(), 0);
  }
}

function installFlashShim(mcu, counts, persist) {
  patchHalf(mcu, romFunction(mcu, 'RE'), 0xbe00 | ERASE_BKPT);
  patchHalf(mcu, romFunction(mcu, 'RP'), 0xbe00 | PROGRAM_BKPT);
  const { core, flash } = mcu;
  mcu.onBreak = (code) => {
    const [offset, b, c] = core.registers;
    if (code === ERASE_BKPT) {
      // (offset, count, block size, command): whole 4 KB sectors
      flash.fill(0xff, offset, offset + b);
      counts.erases++;
      persist(offset, b);
    } else if (code === PROGRAM_BKPT) {
      // (offset, data pointer, count)
      for (let i = 0; i < c; i++) flash[offset + i] &= mcu.readUint8(b + i);
      counts.programs++;
      persist(offset, c);
    } else {
      throw new Error(`breakpoint ${code} at 0x${core.PC.toString(16)}`);
    }
    core.PC = core.LR & ~1; // return as the ROM function would
  };
}

// USB-CDC input: the host side sends an OUT packet only when it has bytes,
// as a real host does; rp2040js's USBCDC would answer every read at once,
// empty or not, and keep the emulated CPU busy with empty packets.
function connectSerial(mcu, onConnected) {
  const cdc = new USBCDC(mcu.usbCtrl);
  let queue = Buffer.alloc(0);
  let waiting = 0; // size of the read the device has armed, 0 if none
  const deliver = () => {
    if (!waiting || !queue.length) return;
    const n = Math.min(waiting, queue.length);
    mcu.usbCtrl.endpointReadDone(cdc.outEndpoint, Uint8Array.from(queue.subarray(0, n)));
    queue = queue.subarray(n);
    waiting = 0;
  };
  mcu.usbCtrl.onEndpointRead = (endpoint, size) => {
    if (endpoint !== cdc.outEndpoint) return;
    waiting = size;
    deliver();
  };
  cdc.onSerialData = (bytes) => process.stdout.write(bytes);
  cdc.onDeviceConnected = onConnected;
  return (bytes) => {
    queue = Buffer.concat([queue, bytes]);
    deliver();
  };
}

// UART0 <-> a TCP connection to the host's modem; the socket is paused while
// more than a few KB wait for the line, so input is held, never dropped.
function connectUart(uart, clock, port) {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  let out = [];
  const send = (byte) => {
    if (!out.length) setImmediate(() => { socket.write(Uint8Array.from(out)); out = []; });
    out.push(byte);
  };
  const line = bridgeUart(uart, clock, send);
  socket.on('data', (bytes) => {
    line.feed(bytes);
    if (line.queued > 4096) socket.pause();
  });
  setInterval(() => { if (socket.isPaused() && line.queued < 1024) socket.resume(); }, 5).unref();
  socket.on('error', (e) => process.stderr.write(`emulator: UART0: ${e.message}\n`));
  socket.on('close', () => process.stderr.write('emulator: UART0 line closed\n'));
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const simulator = new IdleCappedSimulator();
  const mcu = simulator.rp2040;
  // to stderr (stdout is the serial line); its warnings name every register
  // rp2040js does not model, which the firmware touches by the hundred
  mcu.logger = new ConsoleLogger(LogLevel.Error);
  loadBootrom(mcu, args.bootrom);
  loadUF2(mcu, args.firmware);
  let fsOffset = 0;
  let fsLength = 0;
  if (args.fs) {
    const image = readFileSync(args.fs);
    fsOffset = Number(args['fs-offset']);
    fsLength = image.length;
    mcu.flash.set(image, fsOffset);
  }
  const counts = { erases: 0, programs: 0 };
  let persist = () => {};
  if (args['save-each'] && fsLength) {
    const fd = openSync(args['save-each'], 'r+');
    persist = (offset, length) => {
      const start = Math.max(offset, fsOffset);
      const end = Math.min(offset + length, fsOffset + fsLength);
      if (end > start) writeSync(fd, mcu.flash, start, end - start, start - fsOffset);
    };
  }
  installFlashShim(mcu, counts, persist);
  if (args.uart0) connectUart(mcu.uart[0], simulator.clock, Number(args.uart0));

  const started = Date.now();
  const send = connectSerial(mcu, () => {
    process.stderr.write(`emulator: USB connected after ${Date.now() - started} ms\n`);
  });
  process.stdin.on('data', send);

  let ended = false;
  const end = (status, why) => {
    if (ended) return;
    ended = true;
    simulator.stop();
    if (args.save && fsLength) {
      writeFileSync(args.save, mcu.flash.subarray(fsOffset, fsOffset + fsLength));
    }
    const seconds = (Date.now() - started) / 1000;
    const virtual = Number(simulator.clock.nanos) / 1e9;
    process.stderr.write(
      `emulator: ${why}: ${seconds.toFixed(1)} s run, ${virtual.toFixed(1)} s emulated, ` +
        `${counts.erases} erases, ${counts.programs} programs\n`,
    );
    process.exit(status);
  };
  process.stdin.on('end', () => end(0, 'stopped'));
  process.on('SIGTERM', () => end(0, 'stopped'));
  process.on('SIGINT', () => end(0, 'stopped'));
  // a benchmark's probe: the flash operations so far, at once
  process.on('SIGUSR2', () => {
    process.stderr.write(`emulator: ${counts.erases} erases, ${counts.programs} programs\n`);
  });
  // A watchdog that expires resets a real RP2040; rp2040js resets nothing
  // (and spins on the expired alarm), so the emulation ends here, visibly.
  const watchdog = mcu.peripherals[0x40058];
  watchdog.onWatchdogTrigger = () => {
    watchdog.alarm.enable = false;
    // machine.reset() comes this way too (watchdog_reboot); with
    // --reset-exit the host restarts the board on the same flash
    const { PC, LR } = mcu.core;
    end(args['reset-exit'] ? Number(args['reset-exit']) : 3,
      `the watchdog expired (PC 0x${PC.toString(16)}, LR 0x${LR.toString(16)}): a real board resets here`);
  };

  mcu.core.PC = FLASH_BASE;
  simulator.execute();
}

main();
