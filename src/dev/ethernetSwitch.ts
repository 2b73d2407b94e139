// A learning Ethernet switch (IEEE 802.1D transparent bridging, reduced to what a switch
// between a few NICs needs): it learns each frame's source MAC on the port the frame came
// in on, sends a frame for a learned unicast address out of that port only, and floods
// broadcast, multicast (I/G bit set in the first octet) and unknown destinations to every
// other port. A frame addressed to a station on its own ingress port is filtered.
//
// Frames entering the switch wait in order until flush(): a caller that runs several
// machines in cycle quanta flushes at each boundary, so delivery never depends on host
// timing (src/vmm/quantumScheduler.ts).

import type { FrameSink } from "./virtio/net.js";

export interface SwitchCounters {
  /** Frames sent out of exactly one learned port. */
  forwarded: number;
  /** Frames sent out of every port but the ingress one (broadcast, multicast, unknown). */
  flooded: number;
  /** Frames whose destination was learned on their own ingress port: not sent anywhere. */
  filtered: number;
  /** Frames shorter than an Ethernet header (14 bytes): dropped. */
  runts: number;
}

const macKey = (frame: Uint8Array, at: number): string => {
  let k = "";
  for (let i = at; i < at + 6; i++) k += frame[i].toString(16).padStart(2, "0");
  return k;
};

export class EthernetSwitch {
  private readonly outputs: ((frame: Uint8Array) => void)[] = [];
  /** Source MAC (12 hex digits) -> the port it was last seen on. */
  private readonly table = new Map<string, number>();
  private queue: { port: number; frame: Uint8Array }[] = [];
  readonly counters: SwitchCounters = { forwarded: 0, flooded: 0, filtered: 0, runts: 0 };

  /**
   * Adds a port: `output` receives the frames the switch sends out of it. Returns the sink
   * the station on that port transmits into (frames wait for flush()).
   */
  addPort(output: (frame: Uint8Array) => void): FrameSink {
    const port = this.outputs.length;
    this.outputs.push(output);
    return { deliver: (frame) => { this.queue.push({ port, frame: frame.slice() }); } };
  }

  get ports(): number { return this.outputs.length; }

  /** Frames waiting for the next flush(). */
  get pending(): number { return this.queue.length; }

  /** The port MAC `mac` ("52:54:00:12:34:56") was learned on, or undefined. */
  portOf(mac: string): number | undefined { return this.table.get(mac.replace(/:/g, "").toLowerCase()); }

  /** Switches every waiting frame, in the order they entered; returns how many were sent out of some port. */
  flush(): number {
    const batch = this.queue;
    this.queue = [];
    let sent = 0;
    for (const { port, frame } of batch) if (this.forward(port, frame)) sent++;
    return sent;
  }

  private forward(ingress: number, frame: Uint8Array): boolean {
    if (frame.length < 14) { this.counters.runts++; return false; }
    const source = macKey(frame, 6);
    // A group address as source is invalid (802.3 3.2.3): never learn it.
    if ((frame[6] & 1) === 0) this.table.set(source, ingress);
    const group = (frame[0] & 1) !== 0;
    const known = group ? undefined : this.table.get(macKey(frame, 0));
    if (known === undefined) {
      let any = false;
      this.outputs.forEach((out, p) => { if (p !== ingress) { out(frame); any = true; } });
      this.counters.flooded++;
      return any;
    }
    if (known === ingress) { this.counters.filtered++; return false; }
    this.outputs[known](frame);
    this.counters.forwarded++;
    return true;
  }
}
