// The block backend of a Xen split driver (blkback's job): it takes one blkif request
// (xen/include/public/io/blkif.h) copied off the shared ring, checks it, moves the data
// between guest frames and the BlockStore, and writes the blkif response. Layouts are the
// i386 ABI (Xen's "x86_32-abi" protocol: 64-bit fields 4-aligned, as QEMU's xen_blkif.h
// packs them), the one a 32-bit frontend lays out. Grant tables are not modelled: a
// segment's gref is taken as a guest-physical frame number.

import type { BlockStore } from "./ataChannel.js";
import type { GuestRam } from "./dma.js";
import { XEN_PAGE_SIZE } from "./sharedRing.js";

/** blkif.h REQUEST CODES. */
export const enum BlkifOp { READ = 0, WRITE = 1, WRITE_BARRIER = 2, FLUSH_DISKCACHE = 3, RESERVED_1 = 4, DISCARD = 5, INDIRECT = 6 }
/** blkif.h STATUS RETURN CODES. */
export const enum BlkifStatus { OKAY = 0, ERROR = -1, EOPNOTSUPP = -2 }

/** blkif.h BLKIF_MAX_SEGMENTS_PER_REQUEST. */
export const BLKIF_MAX_SEGMENTS = 11;
/** struct blkif_request (x86_32): operation, nr_segments, handle, id @4, sector_number @12, seg[11] @20. */
export const BLKIF_REQUEST_BYTES = 108;
/** struct blkif_response (x86_32): id @0, operation @8, status @10. */
export const BLKIF_RESPONSE_BYTES = 12;
const SEGMENT_OFFSET = 20, SEGMENT_BYTES = 8;
/** blkif.h: first_sect, last_sect and sector_number are in 512-byte units; a frame holds 8. */
const SECTOR = 512;
const SECTORS_PER_FRAME = XEN_PAGE_SIZE / SECTOR;

export interface BlkifSegment { frame: number; firstSect: number; lastSect: number }

/** A request as copied off the ring (ring.h RING_COPY_REQUEST: the frontend cannot change it afterwards). */
export interface BlkifRequest {
  operation: number;
  nrSegments: number;
  /** The 64-bit id, echoed in the response, as two 32-bit halves. */
  idLow: number;
  idHigh: number;
  sectorLow: number;
  sectorHigh: number;
  segments: BlkifSegment[];
}

/** Copies the request in the ring slot at `addr` (the caller checked the ring lies in RAM). */
export function readRequest(ram: GuestRam, addr: number): BlkifRequest {
  const b = ram.read(addr, BLKIF_REQUEST_BYTES);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const segments: BlkifSegment[] = [];
  for (let i = 0; i < BLKIF_MAX_SEGMENTS; i++) {
    const at = SEGMENT_OFFSET + i * SEGMENT_BYTES;
    segments.push({ frame: v.getUint32(at, true), firstSect: b[at + 4], lastSect: b[at + 5] });
  }
  return {
    operation: b[0], nrSegments: b[1],
    idLow: v.getUint32(4, true), idHigh: v.getUint32(8, true),
    sectorLow: v.getUint32(12, true), sectorHigh: v.getUint32(16, true),
    segments,
  };
}

export class PvBlockBackend {
  /** Requests answered, by outcome, for reports and tests. */
  readonly counts = { read: 0, write: 0, flush: 0, error: 0, unsupported: 0, sectorsRead: 0, sectorsWritten: 0 };
  private readonly sector = new Uint8Array(SECTOR);

  constructor(private readonly store: BlockStore, private readonly ram: GuestRam) {}

  /** Carries out `req` and returns its blkif status; nothing is touched unless the whole request is valid. */
  execute(req: BlkifRequest): number {
    switch (req.operation) {
      case BlkifOp.READ: case BlkifOp.WRITE: {
        // blkback refuses a data request without segments or with more than fit a request.
        if (req.nrSegments === 0) return this.fail();
        return this.transfer(req, req.operation === BlkifOp.WRITE);
      }
      case BlkifOp.FLUSH_DISKCACHE: {
        // blkif.h: commit the backing device's volatile cache to stable storage. A flush
        // that carries data (blkfront sends PREFLUSH|FUA writes so) writes it first; the
        // fsync then covers it and every write answered before.
        if (req.nrSegments > 0) {
          const status = this.transfer(req, true);
          if (status !== BlkifStatus.OKAY) return status;
        }
        this.store.flush();
        this.counts.flush++;
        return BlkifStatus.OKAY;
      }
      default:
        // WRITE_BARRIER, DISCARD and INDIRECT are optional features this backend does not
        // advertise; blkif.h says such requests fail with EOPNOTSUPP, as unknown ones do in blkback.
        this.counts.unsupported++;
        return BlkifStatus.EOPNOTSUPP;
    }
  }

  /** Writes the response for `req` at `addr` (blkif.h struct blkif_response, x86_32). */
  writeResponse(addr: number, req: BlkifRequest, status: number): void {
    const b = new Uint8Array(BLKIF_RESPONSE_BYTES);
    const v = new DataView(b.buffer);
    v.setUint32(0, req.idLow, true);
    v.setUint32(4, req.idHigh, true);
    b[8] = req.operation;
    v.setInt16(10, status, true);
    this.ram.write(addr, b);
  }

  private fail(): number {
    this.counts.error++;
    return BlkifStatus.ERROR;
  }

  /** READ or WRITE of the request's segments, checked in full before the first byte moves. */
  private transfer(req: BlkifRequest, write: boolean): number {
    if (req.nrSegments > BLKIF_MAX_SEGMENTS) return this.fail();
    const framesInRam = Math.floor(this.ram.bytes / XEN_PAGE_SIZE);
    let total = 0;
    for (let i = 0; i < req.nrSegments; i++) {
      const s = req.segments[i];
      // blkif.h: first_sect and last_sect are inclusive sector numbers inside one frame.
      if (s.firstSect > s.lastSect || s.lastSect >= SECTORS_PER_FRAME) return this.fail();
      if (s.frame >= framesInRam) return this.fail();
      total += s.lastSect - s.firstSect + 1;
    }
    const start = req.sectorLow + req.sectorHigh * 0x100000000;
    if (start + total > this.store.sectors) return this.fail();
    let lba = start;
    for (let i = 0; i < req.nrSegments; i++) {
      const s = req.segments[i];
      for (let sect = s.firstSect; sect <= s.lastSect; sect++, lba++) {
        const addr = s.frame * XEN_PAGE_SIZE + sect * SECTOR;
        if (write) {
          this.store.write(lba, this.ram.read(addr, SECTOR)); // stored before the response is written
        } else {
          this.store.read(lba, this.sector);
          this.ram.write(addr, this.sector);
        }
      }
    }
    if (write) { this.counts.write++; this.counts.sectorsWritten += total; }
    else { this.counts.read++; this.counts.sectorsRead += total; }
    return BlkifStatus.OKAY;
  }
}
