// One split virtqueue (virtio 1.2 2.7) as a device uses it: the descriptor table, the
// available ring the driver fills and the used ring the device fills, all in guest RAM
// and reached only through GuestRam with bounds checks. Anything the driver gets wrong
// (a loop, an address outside RAM, a head out of range, an indirect table where none is
// allowed) is a DriverError: the transport then sets DEVICE_NEEDS_RESET.

import type { GuestRam } from "../dma.js";
import { DriverError } from "./virtio.js";

/** Descriptor flags (2.7.5). */
export const enum DescFlag { NEXT = 1, WRITE = 2, INDIRECT = 4 }
/** virtq_avail.flags (2.7.6) and virtq_used.flags (2.7.8). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** The largest queue size a split virtqueue may have (2.7). */
export const MAX_QUEUE_SIZE = 32768;

/** One buffer of a chain: `length` bytes at guest-physical `address`. */
export interface Segment { address: number; length: number }

/** A descriptor chain popped from the available ring. */
export interface Chain {
  /** The head descriptor's index: what goes back in the used ring. */
  readonly head: number;
  /** Device-readable buffers, then device-writable ones (2.7.4.2 orders them so). */
  readonly readable: Segment[];
  readonly writable: Segment[];
  readonly readableBytes: number;
  readonly writableBytes: number;
}

export interface QueueLayout {
  size: number;
  desc: number;
  driver: number;
  device: number;
}

/** Why a queue layout cannot be used, or null when it can (2.7 sizes and alignments). */
export function layoutProblem(ram: GuestRam, l: QueueLayout, maxSize: number): string | null {
  if (l.size === 0 || l.size > maxSize) return `queue size ${l.size} is not between 1 and QueueNumMax ${maxSize}`;
  if ((l.size & (l.size - 1)) !== 0) return `queue size ${l.size} is not a power of 2 (virtio 1.2 2.7)`;
  if (l.desc % 16 !== 0 || l.driver % 2 !== 0 || l.device % 4 !== 0) return "a ring is not aligned as virtio 1.2 2.7 requires (16, 2, 4)";
  // With EVENT_IDX the rings carry one more u16 each; reserve it always.
  if (!inRam(ram, l.desc, 16 * l.size) || !inRam(ram, l.driver, 6 + 2 * l.size) || !inRam(ram, l.device, 6 + 8 * l.size)) return "a ring lies outside RAM";
  return null;
}

/** True when [address, address + length) is in RAM; address may be a 64-bit value as a double. */
export function inRam(ram: GuestRam, address: number, length: number): boolean {
  return address >= 0 && length >= 0 && address + length <= ram.bytes;
}

export class SplitVirtqueue {
  /** The next available-ring slot the device will look at (a free-running u16). */
  lastAvail = 0;
  /** The device's used idx (free-running u16). */
  usedIdx = 0;
  /** The used idx at the last interrupt decision (for EVENT_IDX, 2.7.7.2). */
  private signalledUsed = 0;

  /**
   * `eventIdx` and `indirect` say whether VIRTIO_F_EVENT_IDX / VIRTIO_F_INDIRECT_DESC were
   * negotiated. The layout was checked with layoutProblem().
   */
  constructor(
    private readonly ram: GuestRam,
    readonly layout: QueueLayout,
    private readonly eventIdx: boolean,
    private readonly indirect: boolean,
  ) {
    // The device initializes the used ring's flags and idx (2.7.8: the device writes them).
    ram.write16(layout.device, 0);
    ram.write16(layout.device + 2, 0);
  }

  get size(): number { return this.layout.size; }

  /** The driver's avail idx. */
  availIdx(): number { return this.ram.read16(this.layout.driver + 2); }

  /** True when the driver has made a buffer available that the device has not taken. */
  hasAvailable(): boolean {
    const avail = this.availIdx();
    if (((avail - this.lastAvail) & 0xffff) > this.size) throw new DriverError(`avail idx moved from ${this.lastAvail} to ${avail}, more than the queue size ${this.size}`);
    return avail !== this.lastAvail;
  }

  /** The next available chain, or null when the driver has offered none. */
  pop(): Chain | null {
    if (!this.hasAvailable()) return null;
    const head = this.ram.read16(this.layout.driver + 4 + 2 * (this.lastAvail % this.size));
    if (head >= this.size) throw new DriverError(`available ring names descriptor ${head}, beyond the queue size ${this.size}`);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    return this.walk(head);
  }

  /**
   * Follows a chain from `head` (2.7.5): NEXT links, at most one INDIRECT table at the end
   * (2.7.5.3), readable buffers before writable ones (2.7.4.2). A chain longer than its
   * table (queue size, or the indirect table's entries) must contain a loop (2.7.5.2).
   */
  private walk(head: number): Chain {
    const ram = this.ram;
    const readable: Segment[] = [], writable: Segment[] = [];
    let table = this.layout.desc, entries = this.size, index = head, seen = 0, inIndirect = false;
    let readableBytes = 0, writableBytes = 0;
    for (;;) {
      if (++seen > entries) throw new DriverError(`descriptor chain from ${head} is longer than its table (${entries} entries): a loop`);
      // 2.7.5.3.1: no chain, indirect tables included, is longer than the queue size.
      if (readable.length + writable.length >= this.size) throw new DriverError(`descriptor chain from ${head} is longer than the queue size ${this.size} (2.7.5.3.1)`);
      const at = table + 16 * index;
      const address = ram.read64(at), length = ram.read32(at + 8), flags = ram.read16(at + 12), next = ram.read16(at + 14);
      if ((flags & DescFlag.INDIRECT) !== 0) {
        if (!this.indirect) throw new DriverError("INDIRECT descriptor without VIRTIO_F_INDIRECT_DESC (2.7.5.3.1)");
        if (inIndirect) throw new DriverError("INDIRECT descriptor inside an indirect table (2.7.5.3.1)");
        if ((flags & DescFlag.NEXT) !== 0) throw new DriverError("descriptor with both INDIRECT and NEXT (2.7.5.3.1)");
        if (length === 0 || length % 16 !== 0) throw new DriverError(`indirect table of ${length} bytes is not a whole number of descriptors`);
        if (!inRam(ram, address, length)) throw new DriverError(`indirect table at 0x${address.toString(16)} (+${length}) is outside RAM`);
        table = address; entries = length / 16; index = 0; seen = 0; inIndirect = true;
        continue;
      }
      if (!inRam(ram, address, length)) throw new DriverError(`buffer at 0x${address.toString(16)} (+${length}) is outside RAM`);
      if ((flags & DescFlag.WRITE) !== 0) {
        writable.push({ address, length });
        writableBytes += length;
      } else {
        if (writable.length > 0) throw new DriverError("device-readable buffer after a device-writable one (2.7.4.2)");
        readable.push({ address, length });
        readableBytes += length;
      }
      if (readableBytes + writableBytes > 0xffffffff) throw new DriverError("descriptor chain longer than 2^32 bytes (2.7.5.2)");
      if ((flags & DescFlag.NEXT) === 0) break;
      if (next >= entries) throw new DriverError(`descriptor ${index} links to ${next}, beyond its table of ${entries}`);
      index = next;
    }
    return { head, readable, writable, readableBytes, writableBytes };
  }

  /** Returns a chain to the driver with `written` bytes stored in its writable buffers (2.7.8). */
  push(head: number, written: number): void {
    const ram = this.ram, used = this.layout.device;
    const slot = used + 4 + 8 * (this.usedIdx % this.size);
    ram.write32(slot, head);
    ram.write32(slot + 4, written);
    // The element is in place before idx exposes it (2.7.8.2: len before idx).
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    ram.write16(used + 2, this.usedIdx);
  }

  /**
   * Whether the used buffers added since the last call deserve a used buffer notification
   * (2.7.7.2): with EVENT_IDX, when the used idx crossed used_event; without, unless the
   * driver set VIRTQ_AVAIL_F_NO_INTERRUPT.
   */
  takeNotification(): boolean {
    const old = this.signalledUsed, now = this.usedIdx;
    if (old === now) return false;
    this.signalledUsed = now;
    if (this.eventIdx) {
      const usedEvent = this.ram.read16(this.layout.driver + 4 + 2 * this.size);
      // The driver wants a notification once the entry at index used_event is written:
      // used_event lies in [old, now) in u16 arithmetic.
      return ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
    }
    return (this.ram.read16(this.layout.driver) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /**
   * The device has taken every available buffer: with EVENT_IDX it asks to be notified as
   * soon as the driver adds one beyond them (avail_event, 2.7.10).
   */
  publishAvailEvent(): void {
    if (this.eventIdx) this.ram.write16(this.layout.device + 4 + 8 * this.size, this.lastAvail);
  }
}

/** Copies `length` bytes starting `offset` bytes into the chain's readable buffers. */
export function gather(ram: GuestRam, segments: Segment[], offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  for (const s of segments) {
    if (done === length) break;
    if (offset >= s.length) { offset -= s.length; continue; }
    const n = Math.min(s.length - offset, length - done);
    out.set(ram.read(s.address + offset, n), done);
    done += n;
    offset = 0;
  }
  if (done !== length) throw new RangeError("gather beyond the chain");
  return out;
}

/** Stores `data` starting `offset` bytes into the chain's writable buffers, in order. */
export function scatter(ram: GuestRam, segments: Segment[], offset: number, data: Uint8Array): void {
  let done = 0;
  for (const s of segments) {
    if (done === data.length) break;
    if (offset >= s.length) { offset -= s.length; continue; }
    const n = Math.min(s.length - offset, data.length - done);
    ram.write(s.address + offset, data.subarray(done, done + n));
    done += n;
    offset = 0;
  }
  if (done !== data.length) throw new RangeError("scatter beyond the chain");
}
