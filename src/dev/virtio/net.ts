// virtio-net (virtio 1.2 5.1): one receiveq (0) and one transmitq (1), no control queue,
// no multiqueue, no checksum or segmentation offloads. Every packet is preceded by the
// 12-byte struct virtio_net_hdr (with VERSION_1 num_buffers is always present, 5.1.6).
// Frames the guest transmits go to the device's link (a switch port or a tunnel); frames
// from the link wait in a bounded queue until the driver posts receive buffers.

import { DeviceId, DriverError, Feature, VirtioDevice, VirtioHost, bit } from "./virtio.js";
import { gather, scatter } from "./splitVirtqueue.js";

/** Net feature bits (5.1.3). */
export const NetFeature = { MAC: 5, STATUS: 16 } as const;
export const enum NetQueue { RECEIVE = 0, TRANSMIT = 1 }
/** struct virtio_net_hdr with num_buffers (5.1.6): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers. */
export const NET_HDR_BYTES = 12;
/** config.status bit VIRTIO_NET_S_LINK_UP (5.1.4). */
export const NET_S_LINK_UP = 1;
export const NET_QUEUE_SIZE = 256;
/** An Ethernet header: destination, source, EtherType. A shorter frame is not a frame. */
export const ETHERNET_HEADER_BYTES = 14;
/** The largest frame vmxlab carries: the largest UDP payload over IPv4, the tunnel's unit. */
export const MAX_FRAME_BYTES = 65507;
/** Frames from the link kept while the driver has no receive buffer posted; more are dropped. */
export const RECEIVE_BACKLOG = 256;

/** Where a NIC's transmitted frames go (a switch port, a tunnel). */
export interface FrameSink { deliver(frame: Uint8Array): void }

/** What the device counts, for reports and tests. */
export interface NetCounters {
  /** Frames handed to the link. */
  txFrames: number;
  /** Transmit chains returned without sending: a device-writable part, no Ethernet header, or longer than MAX_FRAME_BYTES. */
  txDropped: number;
  /** Frames written into receive buffers. */
  rxFrames: number;
  /** Frames dropped because the receive buffer at the head of the queue was too small for header + frame. */
  rxTooBig: number;
  /** Frames dropped because RECEIVE_BACKLOG frames were already waiting for receive buffers. */
  rxOverrun: number;
}

export class VirtioNet implements VirtioDevice {
  readonly name = "virtio-net";
  readonly deviceId = DeviceId.NET;
  readonly queueCount = 2;
  readonly queueMaxSize = NET_QUEUE_SIZE;
  readonly features = bit(Feature.VERSION_1) | bit(Feature.INDIRECT_DESC) | bit(Feature.EVENT_IDX) |
    bit(NetFeature.MAC) | bit(NetFeature.STATUS);
  readonly counters: NetCounters = { txFrames: 0, txDropped: 0, rxFrames: 0, rxTooBig: 0, rxOverrun: 0 };
  /** The link transmitted frames go to (null: they go nowhere, like an unplugged cable). */
  link: FrameSink | null = null;
  private host!: VirtioHost;
  private readonly backlog: Uint8Array[] = [];
  // struct virtio_net_config (5.1.4): mac[6], le16 status; max_virtqueue_pairs and mtu
  // follow but need MQ / MTU, which are not offered.
  private readonly configBytes = new Uint8Array(8);

  constructor(readonly mac: Uint8Array) {
    if (mac.length !== 6) throw new RangeError("a MAC address has 6 bytes");
    this.configBytes.set(mac, 0);
    this.configBytes[6] = NET_S_LINK_UP; // the link is always up
  }

  config(): Uint8Array { return this.configBytes; }
  // 5.1.4: the configuration fields are read-only to a VERSION_1 driver (only legacy drivers
  // wrote mac, and the legacy interface is not modelled): stores are ignored.
  writeConfig(): void {}
  attach(host: VirtioHost): void { this.host = host; }
  /** Frames already queued stay for the next driver, as a cable keeps carrying them. */
  reset(): void {}

  /** Frames waiting for receive buffers. */
  get pendingFrames(): number { return this.backlog.length; }

  /** A frame from the link: queued (bounded) and written into a receive buffer if one is posted. */
  receive(frame: Uint8Array): void {
    if (this.backlog.length >= RECEIVE_BACKLOG) { this.counters.rxOverrun++; return; }
    this.backlog.push(frame.slice());
    try {
      this.fillReceive();
    } catch (e) {
      if (e instanceof DriverError) this.host.needsReset(e.message);
      else throw e;
    }
  }

  notify(index: number): void {
    if (index === NetQueue.RECEIVE) { this.fillReceive(); return; }
    if (index === NetQueue.TRANSMIT) this.transmit();
  }

  private transmit(): void {
    const q = this.host.queue(NetQueue.TRANSMIT);
    if (!q) return;
    for (let c = q.pop(); c !== null; c = q.pop()) {
      // 5.1.6.2: header and packet are device-readable. A chain too short to hold the header
      // is a broken chain (QEMU answers "virtio-net header incorrect" with NEEDS_RESET too).
      if (c.readableBytes < NET_HDR_BYTES) throw new DriverError(`transmit chain of ${c.readableBytes} readable bytes is shorter than the ${NET_HDR_BYTES}-byte virtio_net_hdr (5.1.6.2)`);
      const length = c.readableBytes - NET_HDR_BYTES;
      // 5.1.6.2: a transmit chain has no device-writable part; one that has, or whose frame
      // is no Ethernet frame, is returned unsent (dropped and counted, as a NIC drops a runt).
      if (c.writable.length > 0 || length < ETHERNET_HEADER_BYTES || length > MAX_FRAME_BYTES) {
        this.counters.txDropped++;
      } else {
        // No offloads are offered, so flags and gso_type carry nothing the device must act on
        // (5.1.6.2.1: the driver sets them to 0); the frame goes out as it is.
        const frame = gather(this.host.ram, c.readable, NET_HDR_BYTES, length);
        this.counters.txFrames++;
        this.link?.deliver(frame);
      }
      q.push(c.head, 0); // 2.7.8: used len counts bytes written, and none were
    }
    q.publishAvailEvent();
    this.host.usedBuffers(NetQueue.TRANSMIT);
  }

  /** Writes queued frames into posted receive buffers, one frame per chain (no MRG_RXBUF). */
  private fillReceive(): void {
    const q = this.host?.queue(NetQueue.RECEIVE);
    if (!q) return;
    let pushed = false;
    while (this.backlog.length > 0 && q.hasAvailable()) {
      const c = q.pop()!;
      // 5.1.6.3: receive buffers are device-writable; a readable part is a broken chain.
      if (c.readable.length > 0) throw new DriverError("receive chain with a device-readable buffer (5.1.6.3)");
      const frame = this.backlog[0];
      if (c.writableBytes < NET_HDR_BYTES + frame.length) {
        // The spec only asks the driver for buffers of 1526 bytes (5.1.6.3.1) and says nothing
        // of a frame that does not fit: like a NIC, vmxlab drops the frame and counts it, and
        // leaves the buffer posted for the next frame.
        this.backlog.shift();
        this.counters.rxTooBig++;
        q.lastAvail = (q.lastAvail - 1) & 0xffff;
        continue;
      }
      const bytes = new Uint8Array(NET_HDR_BYTES + frame.length);
      // flags 0 (no DATA_VALID: no checksum offload), gso_type NONE; 5.1.6.4.1: without
      // MRG_RXBUF the device sets num_buffers to 1.
      bytes[10] = 1;
      bytes.set(frame, NET_HDR_BYTES);
      scatter(this.host.ram, c.writable, 0, bytes);
      q.push(c.head, bytes.length);
      this.backlog.shift();
      this.counters.rxFrames++;
      pushed = true;
    }
    if (!q.hasAvailable()) q.publishAvailEvent();
    if (pushed) this.host.usedBuffers(NetQueue.RECEIVE);
  }
}

/** vmxlab's MAC for NIC `index`: 52:54:00:12:34:5N as QEMU numbers its default MACs (locally administered). */
export function defaultMac(index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index > 0xff - 0x56) throw new RangeError(`no default MAC for NIC ${index}`);
  return Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56 + index);
}

export const formatMac = (mac: Uint8Array): string => Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join(":");
