// The back half of a Xen shared request/response ring (xen/include/public/io/ring.h), kept
// in guest RAM and reached only through GuestRam. The shared page starts with the four
// indices req_prod, req_event, rsp_prod, rsp_event (32-bit, free-running, compared
// modulo 2^32), then 48 bytes of padding, then the entries. The backend's private
// rsp_prod_pvt and req_cons never leave this object, so a frontend cannot corrupt them.

import type { GuestRam } from "./dma.js";

/** ring.h struct __name##_sring: offsets in the shared page. */
export const enum SringOffset { REQ_PROD = 0, REQ_EVENT = 4, RSP_PROD = 8, RSP_EVENT = 12, RING = 64 }

export const XEN_PAGE_SIZE = 4096;

/**
 * Entries in a ring of `bytes` bytes whose entries are `entryBytes` long: as many as fit
 * after the 64-byte header, rounded down to a power of two (ring.h __CONST_RING_SIZE /
 * __RD32), so an index is reduced with a mask.
 */
export function ringEntries(bytes: number, entryBytes: number): number {
  const fit = Math.floor((bytes - SringOffset.RING) / entryBytes);
  if (fit < 1) return 0;
  return 2 ** Math.floor(Math.log2(fit));
}

/** (a - b) as ring.h's unsigned RING_IDX arithmetic computes it. */
export const ringDistance = (a: number, b: number): number => (a - b) >>> 0;

export class BackRing {
  /** ring.h struct __name##_back_ring: responses produced (private) and requests consumed. */
  private rspProdPvt = 0;
  private reqCons = 0;
  /** What this backend last wrote to the shared rsp_prod. */
  private rspProdPublished = 0;
  readonly entries: number;

  /** `base`: guest-physical address of the shared page(s); the caller checked they lie in RAM. */
  constructor(private readonly ram: GuestRam, readonly base: number, readonly bytes: number, private readonly entryBytes: number) {
    this.entries = ringEntries(bytes, entryBytes);
  }

  /** The frontend's req_prod as it stands in the shared page now. */
  requestProducer(): number { return this.ram.read32(this.base + SringOffset.REQ_PROD); }

  /** Requests taken off the ring so far (req_cons). */
  get consumed(): number { return this.reqCons; }
  /** Responses produced so far (rsp_prod_pvt). */
  get produced(): number { return this.rspProdPvt; }

  /**
   * ring.h RING_REQUEST_PROD_OVERFLOW: more requests than slots can be outstanding, so
   * the frontend overwrote requests it had not had answers for (an ill-behaved frontend).
   */
  requestProducerOverflows(prod: number): boolean {
    return ringDistance(prod, this.rspProdPvt) > this.entries;
  }

  /**
   * A req_prod behind requests this backend already took: the frontend moved it back.
   * ring.h has no macro for it (XEN_RING_NR_UNCONSUMED_REQUESTS would then count stale
   * slots as new), so it is treated like an overflow.
   */
  requestProducerWentBack(prod: number): boolean {
    return ringDistance(prod, this.rspProdPvt) < ringDistance(this.reqCons, this.rspProdPvt);
  }

  /**
   * ring.h XEN_RING_NR_UNCONSUMED_REQUESTS: requests published but not consumed, never
   * more than the slots that have no response yet (RING_REQUEST_CONS_OVERFLOW).
   */
  unconsumedRequests(prod: number): number {
    const req = ringDistance(prod, this.reqCons);
    const room = this.entries - ringDistance(this.reqCons, this.rspProdPvt);
    return Math.min(req, room);
  }

  /** Guest-physical address of the entry for ring index `index` (RING_GET_REQUEST/RESPONSE). */
  entryAddress(index: number): number {
    return this.base + SringOffset.RING + (index & (this.entries - 1)) * this.entryBytes;
  }

  /** Takes the next request: its slot's address, and req_cons moves on (RING_COPY_REQUEST follows). */
  consumeRequest(): number {
    const at = this.entryAddress(this.reqCons);
    this.reqCons = (this.reqCons + 1) >>> 0;
    return at;
  }

  /** The slot of the next response; produceResponse() then claims it. */
  nextResponseAddress(): number { return this.entryAddress(this.rspProdPvt); }

  produceResponse(): void { this.rspProdPvt = (this.rspProdPvt + 1) >>> 0; }

  /**
   * ring.h RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publishes rsp_prod, then says whether the
   * frontend asked to be told, i.e. whether rsp_event lies in (old, new]. The old value is
   * the one this backend last published (the shared copy is the frontend's to scribble on).
   */
  pushResponsesAndCheckNotify(): boolean {
    const old = this.rspProdPublished, now = this.rspProdPvt;
    this.ram.write32(this.base + SringOffset.RSP_PROD, now);
    this.rspProdPublished = now;
    const event = this.ram.read32(this.base + SringOffset.RSP_EVENT);
    return ringDistance(now, event) < ringDistance(now, old);
  }

  /**
   * ring.h RING_FINAL_CHECK_FOR_REQUESTS: before the backend goes idle it sets req_event
   * to req_cons + 1 (the frontend's next request then notifies) and looks once more, so a
   * request published in between is not left waiting. Returns the requests waiting.
   */
  finalCheckForRequests(): number {
    let waiting = this.unconsumedRequests(this.requestProducer());
    if (waiting > 0) return waiting;
    this.ram.write32(this.base + SringOffset.REQ_EVENT, (this.reqCons + 1) >>> 0);
    waiting = this.unconsumedRequests(this.requestProducer());
    return waiting;
  }
}
