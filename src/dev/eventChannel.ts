// Event channels as a frontend domain sees them: per-port pending and mask bits (Xen's
// 2-level ABI keeps them as the evtchn_pending[] and evtchn_mask[] bitmaps of the
// shared_info page, xen/include/public/xen.h) and one upcall to the vCPU. Here there are
// 32 ports in one word each, and the upcall is a level: asserted while some port is
// pending and not masked. Xen's evtchn_upcall_pending / pending_sel latch is folded into
// that level: sending to a pending port changes nothing, unmasking a pending port
// raises the upcall again (as EVTCHNOP_unmask does), clearing the last unmasked pending
// bit drops it. A bare guest gets the upcall on an ISA interrupt line; a paravirtual
// guest will get it as Xen's callback instead.

export const EVTCHN_PORTS = 32;

export class EventChannels {
  private pendingBits = 0;
  private maskBits = 0;
  private level = false;
  /** Sends that found the port not yet pending (a new event), for reports. */
  delivered = 0;

  /** `upcall(level)` drives the line the vCPU is interrupted on. */
  constructor(private readonly upcall: (level: boolean) => void) {}

  get pending(): number { return this.pendingBits >>> 0; }
  get mask(): number { return this.maskBits >>> 0; }

  /** EVTCHNOP_send from the remote end arriving at local `port` (xen/include/public/event_channel.h). */
  send(port: number): void {
    const bit = 1 << (port & (EVTCHN_PORTS - 1));
    if ((this.pendingBits & bit) === 0) this.delivered++;
    this.pendingBits |= bit;
    this.update();
  }

  /** The guest clears the pending bits it has handled (1 = clear). */
  clear(bits: number): void {
    this.pendingBits &= ~bits;
    this.update();
  }

  /** The guest writes the whole mask word; a port that is pending and now unmasked raises the upcall. */
  setMask(bits: number): void {
    this.maskBits = bits | 0;
    this.update();
  }

  /** Back to no pending and every port unmasked (a new connection). */
  reset(): void {
    this.pendingBits = 0;
    this.maskBits = 0;
    this.update();
  }

  private update(): void {
    const level = (this.pendingBits & ~this.maskBits) !== 0;
    if (level !== this.level) { this.level = level; this.upcall(level); }
  }
}
