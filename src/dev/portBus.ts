// The I/O port space: devices claim port ranges and the access widths they accept
// (as Bochs' iodev handlers do). Unclaimed ports read as all ones and ignore writes,
// like an ISA bus with nothing driving it.

import { AccessLog } from "./accessLog.js";

export interface PortDevice {
  readonly name: string;
  read(port: number, size: number): number;
  write(port: number, size: number, value: number): void;
}

/** Thrown by a device for programming its model does not cover; the run ends naming it. */
export class DeviceUnsupported extends Error {}

interface Claim { first: number; last: number; device: PortDevice }

export class PortBus {
  private readonly byPort = new Array<PortDevice | undefined>(0x10000);
  private readonly claims: Claim[] = [];
  /** Port accesses (IN, OUT, each element of INS/OUTS), and those nobody claimed, for reports. */
  accesses = 0;
  unclaimedAccesses = 0;
  /** Accesses per device (register accesses are what device emulation costs a hypervisor). */
  readonly log = new AccessLog<PortDevice>();

  register(first: number, count: number, device: PortDevice): void {
    const last = first + count - 1;
    for (const c of this.claims) {
      if (first <= c.last && last >= c.first) {
        throw new Error(`ports 0x${first.toString(16)}-0x${last.toString(16)} of ${device.name} overlap ${c.device.name}`);
      }
    }
    this.claims.push({ first, last, device });
    for (let p = first; p <= last; p++) this.byPort[p] = device;
  }

  in(port: number, size: number): number {
    this.accesses++;
    const dev = this.byPort[port & 0xffff];
    if (dev === undefined) {
      this.unclaimedAccesses++;
      return size === 4 ? -1 : (1 << (size * 8)) - 1;
    }
    this.log.record(dev);
    return dev.read(port & 0xffff, size);
  }

  out(port: number, size: number, value: number): void {
    this.accesses++;
    const dev = this.byPort[port & 0xffff];
    if (dev === undefined) { this.unclaimedAccesses++; return; }
    this.log.record(dev);
    dev.write(port & 0xffff, size, value);
  }
}
