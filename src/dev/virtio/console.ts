// virtio-console (virtio 1.2 5.3), port 0 only (no MULTIPORT): queue 0 is receiveq
// (bytes for the guest), queue 1 transmitq (bytes from the guest). Input is queued by
// the host before or during the run and handed to the guest as it posts receive
// buffers, so nothing is lost and runs are deterministic.

import { DeviceId, DriverError, Feature, VirtioDevice, VirtioHost, bit } from "./virtio.js";
import { gather, scatter } from "./splitVirtqueue.js";

export const enum ConsoleQueue { RECEIVE = 0, TRANSMIT = 1 }
export const CONSOLE_QUEUE_SIZE = 128;

export class VirtioConsole implements VirtioDevice {
  readonly name = "virtio-console";
  readonly deviceId = DeviceId.CONSOLE;
  readonly queueCount = 2;
  readonly queueMaxSize = CONSOLE_QUEUE_SIZE;
  readonly features = bit(Feature.VERSION_1) | bit(Feature.INDIRECT_DESC) | bit(Feature.EVENT_IDX);
  private host!: VirtioHost;
  private input: number[] = [];
  // struct virtio_console_config (5.3.4): cols, rows, max_nr_ports, emerg_wr. None of the
  // features that make them valid is offered, so they read as 0.
  private readonly configBytes = new Uint8Array(12);

  /** `output` receives every byte the guest transmits. */
  constructor(private readonly output: (bytes: Uint8Array) => void) {}

  config(): Uint8Array { return this.configBytes; }
  writeConfig(): void { /* emerg_wr needs VIRTIO_CONSOLE_F_EMERG_WRITE, not offered */ }
  attach(host: VirtioHost): void { this.host = host; }
  reset(): void { /* queued input stays for the next driver */ }

  /** Bytes for the guest; delivered now if it has receive buffers posted. */
  receive(bytes: Uint8Array): void {
    for (const b of bytes) this.input.push(b);
    try {
      this.fillReceive();
    } catch (e) {
      if (e instanceof DriverError) this.host.needsReset(e.message);
      else throw e;
    }
  }

  /** Bytes still waiting for receive buffers. */
  get pendingInput(): number { return this.input.length; }

  notify(index: number): void {
    if (index === ConsoleQueue.RECEIVE) { this.fillReceive(); return; }
    if (index !== ConsoleQueue.TRANSMIT) return;
    const q = this.host.queue(index);
    if (!q) return;
    for (let c = q.pop(); c !== null; c = q.pop()) {
      // 5.3.6.1: transmit buffers are device-readable; whatever writable part follows is left alone.
      if (c.readableBytes > 0) this.output(gather(this.host.ram, c.readable, 0, c.readableBytes));
      q.push(c.head, 0);
    }
    q.publishAvailEvent();
    this.host.usedBuffers(index);
  }

  /** Fills posted receive buffers with queued input, one chain per buffer, as far as it goes. */
  private fillReceive(): void {
    const q = this.host?.queue(ConsoleQueue.RECEIVE);
    if (!q) return;
    let pushed = false;
    while (this.input.length > 0 && q.hasAvailable()) {
      const c = q.pop()!;
      const n = Math.min(c.writableBytes, this.input.length);
      scatter(this.host.ram, c.writable, 0, Uint8Array.from(this.input.splice(0, n)));
      q.push(c.head, n);
      pushed = true;
    }
    if (!q.hasAvailable()) q.publishAvailEvent();
    if (pushed) this.host.usedBuffers(ConsoleQueue.RECEIVE);
  }
}
