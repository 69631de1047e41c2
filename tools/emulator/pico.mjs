// A Raspberry Pi Pico W on rp2040js: the firmware's USB-CDC serial is this
// process's stdin and stdout, byte for byte; notices go to stderr.
//
//   node pico.mjs --bootrom rp2040-bootrom-B1.bin --firmware firmware.uf2
//                 [--fs littlefs.img --fs-offset 0x12c000 [--save out.img]]
//
// rp2040js drops flash erase and program, so littlefs could not write.
// The shim: the bootrom's flash_range_erase and flash_range_program start
// with a BKPT that lands here; this host does the operation on the
// emulated flash as a NOR chip would (an erase sets bytes to 0xff, a
// program can only clear bits) and returns to the caller. The pico-sdk
// reaches flash only through those two functions.
// --save writes the filesystem region back when the process ends (stdin
// closed, SIGTERM or SIGINT), so the host can read what the board wrote.
import { readFileSync, writeFileSync } from 'node:fs';
import { ConsoleLogger, LogLevel, Simulator, USBCDC } from 'rp2040js';

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

function installFlashShim(mcu, counts) {
  patchHalf(mcu, romFunction(mcu, 'RE'), 0xbe00 | ERASE_BKPT);
  patchHalf(mcu, romFunction(mcu, 'RP'), 0xbe00 | PROGRAM_BKPT);
  const { core, flash } = mcu;
  mcu.onBreak = (code) => {
    const [offset, b, c] = core.registers;
    if (code === ERASE_BKPT) {
      // (offset, count, block size, command): whole 4 KB sectors
      flash.fill(0xff, offset, offset + b);
      counts.erases++;
    } else if (code === PROGRAM_BKPT) {
      // (offset, data pointer, count)
      for (let i = 0; i < c; i++) flash[offset + i] &= mcu.readUint8(b + i);
      counts.programs++;
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

function main() {
  const args = parseArgs(process.argv.slice(2));
  const simulator = new Simulator();
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
  installFlashShim(mcu, counts);

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
  // A watchdog that expires resets a real RP2040; rp2040js resets nothing
  // (and spins on the expired alarm), so the emulation ends here, visibly.
  const watchdog = mcu.peripherals[0x40058];
  watchdog.onWatchdogTrigger = () => {
    watchdog.alarm.enable = false;
    end(3, 'the watchdog expired: a real board resets here');
  };

  mcu.core.PC = FLASH_BASE;
  simulator.execute();
}

main();
