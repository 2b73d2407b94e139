// virtio-blk (virtio 1.2 5.2): one request queue; requests IN, OUT, FLUSH and GET_ID on a
// BlockStore. A write is in the store before its used entry is published; FLUSH completes
// after store.flush() (fsync) returns; without VIRTIO_BLK_F_FLUSH negotiated every write is
// flushed before it completes (write-through, 5.2.6.2).

import type { BlockStore } from "../ataChannel.js";
import { DeviceId, DriverError, Feature, VirtioDevice, VirtioHost, bit } from "./virtio.js";
import { Chain, gather, scatter } from "./splitVirtqueue.js";

/** Block feature bits (5.2.3). */
export const BlkFeature = { SEG_MAX: 2, BLK_SIZE: 6, FLUSH: 9 } as const;
/** Request types (5.2.6). */
export const enum BlkType { IN = 0, OUT = 1, FLUSH = 4, GET_ID = 8 }
/** Status byte values (5.2.6). */
export const enum BlkStatus { OK = 0, IOERR = 1, UNSUPP = 2 }

const SECTOR = 512;
const HEADER = 16; // le32 type, le32 reserved, le64 sector
/** GET_ID answers with at most 20 bytes (5.2.6: VIRTIO_BLK_ID_BYTES). */
export const BLK_ID_BYTES = 20;
export const BLK_QUEUE_SIZE = 256;

export class VirtioBlock implements VirtioDevice {
  readonly name = "virtio-blk";
  readonly deviceId = DeviceId.BLOCK;
  readonly queueCount = 1;
  readonly queueMaxSize = BLK_QUEUE_SIZE;
  readonly features = bit(Feature.VERSION_1) | bit(Feature.INDIRECT_DESC) | bit(Feature.EVENT_IDX) |
    bit(BlkFeature.FLUSH) | bit(BlkFeature.SEG_MAX) | bit(BlkFeature.BLK_SIZE);
  private host!: VirtioHost;
  private readonly id: Uint8Array;
  private readonly configBytes: Uint8Array;
  /** Requests completed, by status, for reports and tests. */
  readonly completed = { ok: 0, ioerr: 0, unsupp: 0 };

  /** `id` is what GET_ID returns (at most 20 bytes, NUL-padded when shorter). */
  constructor(private readonly store: BlockStore, id = "vmxlab-virtio-blk") {
    const bytes = new TextEncoder().encode(id);
    if (bytes.length > BLK_ID_BYTES) throw new RangeError(`virtio-blk id "${id}" is longer than ${BLK_ID_BYTES} bytes`);
    this.id = bytes;
    // struct virtio_blk_config (5.2.4): capacity, size_max, seg_max, geometry, blk_size, ...
    this.configBytes = new Uint8Array(0x3c);
    const v = new DataView(this.configBytes.buffer);
    v.setUint32(0, store.sectors % 0x100000000, true);
    v.setUint32(4, Math.floor(store.sectors / 0x100000000), true);
    v.setUint32(12, BLK_QUEUE_SIZE - 2, true); // seg_max: data buffers, besides header and status
    v.setUint32(20, SECTOR, true); // blk_size
  }

  config(): Uint8Array { return this.configBytes; }
  writeConfig(): void { /* writeback (CONFIG_WCE) is not offered: every field is read-only */ }
  attach(host: VirtioHost): void { this.host = host; }
  reset(): void { /* no state outside the transport's queues */ }

  notify(index: number): void {
    const q = this.host.queue(index);
    if (!q) return;
    for (let chain = q.pop(); chain !== null; chain = q.pop()) {
      q.push(chain.head, this.serve(chain));
    }
    q.publishAvailEvent();
    this.host.usedBuffers(index);
  }

  /** Runs one request and writes its status byte; returns the bytes written to the chain. */
  private serve(c: Chain): number {
    const ram = this.host.ram;
    // 5.2.6: the header is device-readable, the status byte the last device-writable byte;
    // without either the device has no request to answer and nowhere to answer it.
    if (c.readableBytes < HEADER) throw new DriverError(`virtio-blk request with ${c.readableBytes} device-readable bytes, less than the 16-byte header (5.2.6)`);
    if (c.writableBytes < 1) throw new DriverError("virtio-blk request without a device-writable status byte (5.2.6)");
    const h = new DataView(gather(ram, c.readable, 0, HEADER).buffer);
    const type = h.getUint32(0, true);
    const sector = h.getUint32(8, true) + h.getUint32(12, true) * 0x100000000;
    const statusAt = c.writableBytes - 1;
    let written = 0;
    let status: BlkStatus;
    switch (type) {
      case BlkType.IN: {
        const bytes = c.writableBytes - 1;
        if (bytes % SECTOR !== 0 || !this.inRange(sector, bytes)) { status = BlkStatus.IOERR; break; }
        const data = new Uint8Array(bytes);
        for (let i = 0; i < bytes / SECTOR; i++) this.store.read(sector + i, data.subarray(i * SECTOR, (i + 1) * SECTOR));
        scatter(ram, c.writable, 0, data);
        written = bytes;
        status = BlkStatus.OK;
        break;
      }
      case BlkType.OUT: {
        const bytes = c.readableBytes - HEADER;
        if (bytes % SECTOR !== 0 || !this.inRange(sector, bytes)) { status = BlkStatus.IOERR; break; }
        const data = gather(ram, c.readable, HEADER, bytes);
        for (let i = 0; i < bytes / SECTOR; i++) this.store.write(sector + i, data.subarray(i * SECTOR, (i + 1) * SECTOR));
        // 5.2.6.2: without a negotiated FLUSH the device is write-through.
        if ((this.host.features & bit(BlkFeature.FLUSH)) === 0n && bytes > 0) this.store.flush();
        status = BlkStatus.OK;
        break;
      }
      case BlkType.FLUSH:
        this.store.flush(); // durable before the used entry says so
        status = BlkStatus.OK;
        break;
      case BlkType.GET_ID: {
        // As many of the 20 id bytes as fit before the status byte, NUL-padded (5.2.6).
        const n = Math.min(BLK_ID_BYTES, c.writableBytes - 1);
        const out = new Uint8Array(n);
        out.set(this.id.subarray(0, n));
        scatter(ram, c.writable, 0, out);
        written = n;
        status = BlkStatus.OK;
        break;
      }
      default:
        status = BlkStatus.UNSUPP; // 5.2.6.1: unknown types get VIRTIO_BLK_S_UNSUPP
    }
    scatter(ram, c.writable, statusAt, Uint8Array.of(status));
    if (status === BlkStatus.OK) this.completed.ok++;
    else if (status === BlkStatus.IOERR) this.completed.ioerr++;
    else this.completed.unsupp++;
    return written + 1;
  }

  private inRange(sector: number, bytes: number): boolean {
    return sector + bytes / SECTOR <= this.store.sectors;
  }
}
