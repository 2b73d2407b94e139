// The 8042 keyboard controller at 0x60/0x64 with a PS/2 keyboard behind it, as far as a
// guest needs it to boot: controller self-tests, the command byte, the output port (A20,
// reset), and the keyboard's reset, enable/disable, echo, identify and LED/scan-set
// commands. Behaviour from the IBM PC/AT Technical Reference (keyboard controller) and
// IBM's PS/2 keyboard command set. No key presses arrive yet: there is no input source.

import { PortDevice } from "./portBus.js";

const enum StatusBit { OUTPUT_FULL = 0x01, SYSTEM = 0x04, COMMAND = 0x08, UNLOCKED = 0x10 }
const enum CommandByte { KBD_INTERRUPT = 0x01, SYSTEM = 0x04, TRANSLATE = 0x40 }
const ACK = 0xfa;

export class I8042 implements PortDevice {
  readonly name = "i8042 keyboard controller";
  private readonly output: number[] = [];
  private commandByte = CommandByte.SYSTEM | CommandByte.TRANSLATE | CommandByte.KBD_INTERRUPT;
  private lastWasCommand = false;
  /** A controller command waiting for its data byte on port 0x60 (0x60, 0xD1, 0xD2), or 0. */
  private pendingController = 0;
  /** A keyboard command waiting for its argument (0xED LEDs, 0xF0 scan set, 0xF3 rate), or 0. */
  private pendingKeyboard = 0;
  private scanSet = 2;
  private outputPort = 0x03; // bit 0: CPU not in reset, bit 1: A20 enabled

  /** `irq1(level)` drives IRQ 1; `reset()` pulses the CPU's reset line. */
  constructor(private readonly irq1: (level: boolean) => void, private readonly reset: () => void) {}

  private queue(...bytes: number[]): void {
    for (const b of bytes) this.output.push(b & 0xff);
    this.update();
  }

  private update(): void {
    this.irq1(this.output.length > 0 && (this.commandByte & CommandByte.KBD_INTERRUPT) !== 0);
  }

  read(port: number): number {
    if (port === 0x64) {
      return (this.output.length > 0 ? StatusBit.OUTPUT_FULL : 0) | (this.commandByte & CommandByte.SYSTEM ? StatusBit.SYSTEM : 0) |
        (this.lastWasCommand ? StatusBit.COMMAND : 0) | StatusBit.UNLOCKED;
    }
    const v = this.output.length > 0 ? (this.output.shift() as number) : 0;
    this.update();
    return v;
  }

  write(port: number, _size: number, value: number): void {
    const v = value & 0xff;
    if (port === 0x64) { this.lastWasCommand = true; this.controllerCommand(v); return; }
    this.lastWasCommand = false;
    if (this.pendingController !== 0) {
      const c = this.pendingController;
      this.pendingController = 0;
      if (c === 0x60) { this.commandByte = v; this.update(); }
      else if (c === 0xd1) this.writeOutputPort(v);
      else this.queue(v); // 0xD2: as if the keyboard had sent it
      return;
    }
    this.keyboardCommand(v);
  }

  private writeOutputPort(v: number): void {
    this.outputPort = v | 0x02; // A20 stays enabled in this machine
    if ((v & 1) === 0) this.reset(); // bit 0 low holds the CPU in reset
  }

  private controllerCommand(c: number): void {
    switch (c) {
      case 0x20: this.queue(this.commandByte); return; // read command byte
      case 0x60: case 0xd1: case 0xd2: this.pendingController = c; return;
      case 0xaa: this.commandByte |= CommandByte.SYSTEM; this.queue(0x55); return; // self-test passed
      case 0xab: case 0xa9: this.queue(0x00); return; // keyboard / auxiliary interface test: no error
      case 0xad: case 0xae: case 0xa7: case 0xa8: return; // disable/enable keyboard or auxiliary port
      case 0xc0: this.queue(0x80); return; // input port: keyboard not inhibited
      case 0xd0: this.queue(this.outputPort); return;
      case 0xfe: this.reset(); return; // pulse the reset line
      default:
        if (c >= 0xf0) { if ((c & 1) === 0) this.reset(); return; } // pulse output bits; bit 0 resets
    }
  }

  private keyboardCommand(c: number): void {
    if (this.pendingKeyboard !== 0) {
      const k = this.pendingKeyboard;
      this.pendingKeyboard = 0;
      if (k === 0xf0 && c === 0) { this.queue(ACK, this.scanSet); return; } // report the scan set
      if (k === 0xf0 && c >= 1 && c <= 3) this.scanSet = c;
      this.queue(ACK);
      return;
    }
    switch (c) {
      case 0xff: this.scanSet = 2; this.queue(ACK, 0xaa); return; // reset: ACK, then self-test passed
      case 0xee: this.queue(0xee); return; // echo
      case 0xf2: // identify: an MF2 keyboard, whose second ID byte is translated when XLAT is on
        this.queue(ACK, 0xab, (this.commandByte & CommandByte.TRANSLATE) !== 0 ? 0x41 : 0x83);
        return;
      case 0xed: case 0xf0: case 0xf3: this.pendingKeyboard = c; this.queue(ACK); return;
      case 0xf4: case 0xf5: case 0xf6: this.queue(ACK); return; // enable, disable, set defaults
      default: this.queue(0xfe); // resend: not a command this keyboard knows
    }
  }
}
