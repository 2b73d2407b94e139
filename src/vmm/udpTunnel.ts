// A point-to-point Ethernet link over UDP on the loopback interface: each frame is one
// datagram whose payload is the raw frame, nothing before or after it. That is the
// encapsulation of QEMU's `-netdev dgram` and `-netdev socket,udp=...` (net/dgram.c,
// net/socket.c send the frame as the datagram), so vmxlab talks to another vmxlab or to a
// QEMU process. Host timing reaches the guest here: a frame arrives when the host delivers
// the datagram (docs/devices.md, "Timing").

import dgram from "node:dgram";
import type { FrameSink } from "../dev/virtio/net.js";
import { MAX_FRAME_BYTES } from "../dev/virtio/net.js";

export const LOOPBACK = "127.0.0.1";

/** A port could not be bound, or a port number is not one. */
export class TunnelError extends Error {}

export class UdpTunnel implements FrameSink {
  /** Receives every frame that arrives (set it before frames can arrive). */
  onFrame: ((frame: Uint8Array) => void) | null = null;
  readonly counters = { sent: 0, received: 0, sendErrors: 0 };
  private inFlight = 0;
  private drained: (() => void) | null = null;

  private constructor(private readonly socket: dgram.Socket, readonly localPort: number, readonly remotePort: number) {
    socket.on("message", (msg) => {
      this.counters.received++;
      if (this.onFrame) this.onFrame(new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
    });
    // A peer not yet listening makes the kernel answer ICMP port unreachable, which comes
    // back as an error on the next send: the frame is lost, as on a cable to nothing.
    socket.on("error", () => { this.counters.sendErrors++; });
  }

  /** Binds 127.0.0.1:localPort; frames go to 127.0.0.1:remotePort. */
  static open(localPort: number, remotePort: number): Promise<UdpTunnel> {
    for (const [what, p] of [["local", localPort], ["remote", remotePort]] as const) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new TunnelError(`the ${what} UDP port must be between 1 and 65535, not ${p}`);
    }
    const socket = dgram.createSocket({ type: "udp4" });
    return new Promise((resolve, reject) => {
      const failed = (e: NodeJS.ErrnoException) => {
        socket.close();
        reject(new TunnelError(e.code === "EADDRINUSE" ? `UDP port ${localPort} on ${LOOPBACK} is in use` : `cannot bind UDP port ${localPort} on ${LOOPBACK}: ${e.code ?? e.message}`));
      };
      socket.once("error", failed);
      socket.bind(localPort, LOOPBACK, () => {
        socket.off("error", failed);
        resolve(new UdpTunnel(socket, localPort, remotePort));
      });
    });
  }

  deliver(frame: Uint8Array): void {
    if (frame.length > MAX_FRAME_BYTES) return;
    this.counters.sent++;
    this.inFlight++;
    this.socket.send(frame, this.remotePort, LOOPBACK, (e) => {
      if (e) this.counters.sendErrors++;
      if (--this.inFlight === 0 && this.drained) this.drained();
    });
  }

  /** Resolves once every frame given to deliver() has left the socket. */
  drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => { this.drained = () => { this.drained = null; resolve(); }; });
  }

  /** Stops receiving; the socket keeps no reference to the event loop afterwards. */
  close(): void {
    try { this.socket.close(); } catch { /* already closed */ }
  }
}
