// A Xen-style paravirtual block device for a bare guest: the blkif shared ring and an
// event channel (xen/include/public/io/blkif.h, ring.h), set up through a small MMIO
// window instead of xenstore. The window publishes what blkback writes to xenstore
// ("sectors", "sector-size", "feature-flush-cache", "max-ring-page-order"), takes what
// blkfront writes there (the ring's address in place of "ring-ref", "ring-page-order",
// the frontend's XenbusState) and has a doorbell that is EVTCHNOP_send on the frontend's
// port. docs/devices.md "PV block" has the register map.
//
// Timing: the backend answers one request every `serviceCycles` cycles of the guest's
// clock, so a frontend that produces faster than that fills the ring and has to wait
// (backpressure). No host time is involved.

import type { BlockStore } from "./ataChannel.js";
import type { GuestRam } from "./dma.js";
import type { MmioDevice } from "./mmioBus.js";
import { EventChannels } from "./eventChannel.js";
import { BackRing, ringDistance, XEN_PAGE_SIZE } from "./sharedRing.js";
import { BLKIF_REQUEST_BYTES, BlkifRequest, PvBlockBackend, readRequest } from "./pvBlockBackend.js";

export const PV_BLOCK_BASE = 0xfe900000;
export const PV_BLOCK_WINDOW = 0x1000;
/** The ISA line the frontend's event-channel upcall is wired to on a bare machine. */
export const PV_BLOCK_IRQ = 11;
/** The frontend's event-channel port the backend signals (Xen never hands out port 0). */
export const PV_BLOCK_PORT = 1;
/** Default device latency: cycles from taking a request to answering it. */
export const PV_BLOCK_SERVICE_CYCLES = 20000;
/** "XPVB" in memory order. */
export const PV_BLOCK_MAGIC = 0x42565058;
/** xenbus "max-ring-page-order": rings of up to 8 pages (256 entries). */
export const PV_BLOCK_MAX_RING_ORDER = 3;

/** xen/include/public/io/xenbus.h enum xenbus_state. */
export const enum XenbusState { Unknown = 0, Initialising = 1, InitWait = 2, Initialised = 3, Connected = 4, Closing = 5, Closed = 6 }

export const enum PvBlockReg {
  MAGIC = 0x00, VERSION = 0x04, SECTORS_LOW = 0x08, SECTORS_HIGH = 0x0c, SECTOR_SIZE = 0x10,
  FEATURES = 0x14, MAX_RING_ORDER = 0x18, EVTCHN_IRQ = 0x1c, RING_GPA = 0x20, RING_ORDER = 0x24,
  RING_SIZE = 0x28, EVTCHN_PORT = 0x2c, FRONT_STATE = 0x30, BACK_STATE = 0x34, ERROR = 0x38,
  STATUS = 0x3c, NOTIFY = 0x40, EVTCHN_PENDING = 0x44, EVTCHN_MASK = 0x48,
}

/** FEATURES bit 0: "feature-flush-cache" (BLKIF_OP_FLUSH_DISKCACHE is honoured). */
export const PV_BLOCK_FEATURE_FLUSH = 1;
/** STATUS bits: every ring slot holds a request without a response; the backend gave up on the frontend. */
export const enum PvBlockStatus { BUSY = 1, ERROR = 2 }
/** ERROR register: why the backend went to Closing (xenbus_dev_fatal's cases). */
export const enum PvBlockError { NONE = 0, RING_ADDRESS = 1, RING_ORDER = 2, RING_INDEX = 3 }

export interface PvBlockOptions {
  /** Cycles per answered request (default PV_BLOCK_SERVICE_CYCLES). */
  serviceCycles?: number;
}

export class PvBlockDevice implements MmioDevice {
  readonly name = "PV block (blkif)";
  readonly backend: PvBlockBackend;
  /** The frontend's event channels: pending/mask bits and the upcall on PV_BLOCK_IRQ. */
  readonly events: EventChannels;
  readonly serviceCycles: number;
  private backState = XenbusState.InitWait;
  private frontState = XenbusState.Initialising;
  private error = PvBlockError.NONE;
  private ringGpa = 0;
  private ringOrder = 0;
  private ring: BackRing | null = null;
  /** Requests taken off the ring and not answered yet, oldest first (at most a ring's worth). */
  private readonly queue: BlkifRequest[] = [];
  /** The cycle at which the head of the queue is answered, or Infinity when idle. */
  private due = Infinity;
  /** Doorbell writes, and those that found no connected ring. */
  notifications = 0;
  notificationsIgnored = 0;

  /**
   * `cycles()` is the guest's clock; `upcall(level)` drives the event-channel line;
   * `reschedule()` tells the run loop the next deadline moved.
   */
  constructor(private readonly store: BlockStore, private readonly ram: GuestRam, private readonly cycles: () => number,
    upcall: (level: boolean) => void, private readonly reschedule: () => void, options: PvBlockOptions = {}) {
    this.backend = new PvBlockBackend(store, ram);
    this.events = new EventChannels(upcall);
    this.serviceCycles = Math.max(1, Math.floor(options.serviceCycles ?? PV_BLOCK_SERVICE_CYCLES));
  }

  /** Power-on: waiting for a frontend (InitWait), no ring, nothing pending or masked. */
  reset(): void {
    this.disconnect();
    this.backState = XenbusState.InitWait;
    this.frontState = XenbusState.Initialising;
    this.error = PvBlockError.NONE;
    this.ringGpa = 0;
    this.ringOrder = 0;
    this.events.reset();
  }

  get state(): XenbusState { return this.backState; }
  /** True while a ring is mapped (Connected, or Closing with requests still to answer). */
  get connected(): boolean { return this.ring !== null; }
  get ringEntries(): number { return this.ring?.entries ?? 0; }
  /** Requests taken off the ring and waiting for their turn. */
  get queued(): number { return this.queue.length; }

  read(offset: number, size: number): number {
    const word = this.register(offset & ~3) >>> 0;
    const shift = (offset & 3) * 8;
    return size === 4 && shift === 0 ? word | 0 : (word >>> shift) & (size === 1 ? 0xff : 0xffff);
  }

  write(offset: number, size: number, value: number): void {
    if (size !== 4 || (offset & 3) !== 0) return; // registers are 32-bit; narrower writes are ignored
    const v = value >>> 0;
    switch (offset) {
      case PvBlockReg.RING_GPA: if (this.ring === null) this.ringGpa = v; return;
      case PvBlockReg.RING_ORDER: if (this.ring === null) this.ringOrder = v; return;
      case PvBlockReg.FRONT_STATE: this.frontendState(v); return;
      case PvBlockReg.NOTIFY: this.frontendNotify(); return;
      case PvBlockReg.EVTCHN_PENDING: this.events.clear(v); return;
      case PvBlockReg.EVTCHN_MASK: this.events.setMask(v); return;
      default: return; // read-only registers
    }
  }

  private register(offset: number): number {
    switch (offset) {
      case PvBlockReg.MAGIC: return PV_BLOCK_MAGIC;
      case PvBlockReg.VERSION: return 1;
      case PvBlockReg.SECTORS_LOW: return this.store.sectors >>> 0;
      case PvBlockReg.SECTORS_HIGH: return Math.floor(this.store.sectors / 0x100000000);
      case PvBlockReg.SECTOR_SIZE: return 512;
      case PvBlockReg.FEATURES: return PV_BLOCK_FEATURE_FLUSH;
      case PvBlockReg.MAX_RING_ORDER: return PV_BLOCK_MAX_RING_ORDER;
      case PvBlockReg.EVTCHN_IRQ: return PV_BLOCK_IRQ;
      case PvBlockReg.RING_GPA: return this.ringGpa;
      case PvBlockReg.RING_ORDER: return this.ringOrder;
      case PvBlockReg.RING_SIZE: return this.ringEntries;
      case PvBlockReg.EVTCHN_PORT: return PV_BLOCK_PORT;
      case PvBlockReg.FRONT_STATE: return this.frontState;
      case PvBlockReg.BACK_STATE: return this.backState;
      case PvBlockReg.ERROR: return this.error;
      case PvBlockReg.STATUS: return this.status();
      case PvBlockReg.EVTCHN_PENDING: return this.events.pending;
      case PvBlockReg.EVTCHN_MASK: return this.events.mask;
      default: return 0;
    }
  }

  /**
   * BUSY is RING_FULL as the backend sees it: req_prod is a whole ring ahead of the
   * responses produced, so a frontend has no free slot until the next response.
   */
  private status(): number {
    let s = 0;
    if (this.ring !== null && ringDistance(this.ring.requestProducer(), this.ring.produced) >= this.ring.entries) s |= PvBlockStatus.BUSY;
    if (this.backState === XenbusState.Closing && this.error !== PvBlockError.NONE) s |= PvBlockStatus.ERROR;
    return s;
  }

  /** The frontend's XenbusState: Initialised connects, Closing/Closed disconnect, Initialising starts over. */
  private frontendState(v: number): void {
    this.frontState = v;
    switch (v) {
      case XenbusState.Initialising:
        this.disconnect();
        this.error = PvBlockError.NONE;
        this.events.reset();
        this.backState = XenbusState.InitWait;
        return;
      case XenbusState.Initialised:
        if (this.backState === XenbusState.InitWait || this.backState === XenbusState.Closed) this.connect();
        return;
      case XenbusState.Closing: case XenbusState.Closed:
        this.disconnect();
        this.backState = XenbusState.Closed;
        return;
      default: return; // other values do not move the backend
    }
  }

  /** Maps the ring the frontend named, or refuses it (xenbus_dev_fatal: the backend goes to Closing). */
  private connect(): void {
    if (this.ringOrder > PV_BLOCK_MAX_RING_ORDER) { this.fatal(PvBlockError.RING_ORDER); return; }
    const bytes = XEN_PAGE_SIZE << this.ringOrder;
    if ((this.ringGpa & (XEN_PAGE_SIZE - 1)) !== 0 || !this.ram.contains(this.ringGpa, bytes)) { this.fatal(PvBlockError.RING_ADDRESS); return; }
    // ring.h BACK_RING_INIT: req_cons = rsp_prod_pvt = 0; the frontend initialised the shared indices.
    this.ring = new BackRing(this.ram, this.ringGpa, bytes, BLKIF_REQUEST_BYTES);
    this.error = PvBlockError.NONE;
    this.backState = XenbusState.Connected;
  }

  /** Unanswered requests are dropped with the ring: none of them was acknowledged. */
  private disconnect(): void {
    this.ring = null;
    this.queue.length = 0;
    this.due = Infinity;
  }

  private fatal(error: PvBlockError): void {
    this.error = error;
    this.backState = XenbusState.Closing;
  }

  /**
   * EVTCHNOP_send on the frontend's end of the channel: the one way a frontend tells the
   * backend to look at the ring (the doorbell register now, a hypercall in PV mode).
   */
  frontendNotify(): void {
    this.notifications++;
    if (this.backState !== XenbusState.Connected) { this.notificationsIgnored++; return; }
    this.takeRequests();
    if (this.queue.length > 0 && this.due === Infinity) {
      this.due = this.cycles() + this.serviceCycles;
      this.reschedule();
    }
  }

  /**
   * Copies the published requests off the ring. A req_prod more than a ring ahead of the
   * responses (ring.h RING_REQUEST_PROD_OVERFLOW) means the frontend overwrote requests
   * it has no answer for: blkback stops reading that ring, and so does this backend, as it
   * does for a req_prod moved back. Requests already taken stay queued and are answered.
   */
  private takeRequests(): void {
    const ring = this.ring;
    if (ring === null || this.backState !== XenbusState.Connected) return;
    const prod = ring.requestProducer();
    if (ring.requestProducerOverflows(prod) || ring.requestProducerWentBack(prod)) { this.fatal(PvBlockError.RING_INDEX); return; }
    for (let n = ring.unconsumedRequests(prod); n > 0; n--) this.queue.push(readRequest(this.ram, ring.consumeRequest()));
  }

  /** The cycle of the next answer, or Infinity (Machine.serviceTimers wakes HLT for it). */
  nextDeadline(): number { return this.due; }

  /** Answers every request due by cycle `now`, one per serviceCycles. */
  service(now: number): void {
    while (this.due <= now) {
      const ring = this.ring, req = this.queue.shift();
      if (ring === null || req === undefined) { this.due = Infinity; return; }
      const status = this.backend.execute(req); // a write is in the store before its response exists
      this.backend.writeResponse(ring.nextResponseAddress(), req, status);
      ring.produceResponse();
      if (ring.pushResponsesAndCheckNotify()) this.events.send(PV_BLOCK_PORT);
      this.takeRequests();
      if (this.queue.length === 0 && this.backState === XenbusState.Connected && ring.finalCheckForRequests() > 0) this.takeRequests();
      this.due = this.queue.length > 0 ? this.due + this.serviceCycles : Infinity;
    }
  }
}
