// virtio-net (virtio 1.2 5.1) driven by the test-side driver: config space, transmit and
// receive with the 12-byte virtio_net_hdr, the bounded receive backlog, and the answers
// to a hostile driver; the learning switch; Machine.run's cycle quanta. Expected values
// come from the specification's clauses (named beside each) or hand calculations.
import { describe, expect, it } from "vitest";
import { Machine } from "../src/vmm/machine.js";
import { VirtioNet, RECEIVE_BACKLOG, defaultMac } from "../src/dev/virtio/net.js";
import { EthernetSwitch } from "../src/dev/ethernetSwitch.js";
import { TestDriver, R, S, F, VERSION_1, INDIRECT_DESC, EVENT_IDX } from "./fixtures/virtioDriver.js";

const MAC_F = 1n << 5n, STATUS_F = 1n << 16n;
const RXD = 0x10000, RXA = 0x11000, RXU = 0x12000;
const TXD = 0x13000, TXA = 0x14000, TXU = 0x15000;
const BUF = 0x20000, TXBUF = 0x40000;

/** A machine whose only virtio device is a NIC (transport 7, IRQ 12), its sent frames collected. */
function setup(mac = defaultMac(0)) {
  const nic = new VirtioNet(mac);
  const m = new Machine({ ramBytes: 1 << 20, virtio: [{ type: "device", device: nic }] });
  const sent: Uint8Array[] = [];
  nic.link = { deliver: (f) => sent.push(f) };
  const d = new TestDriver(m, 7);
  return { m, nic, d, sent, v: m.cpu.view, ram: m.cpu.ram };
}

function ready(features = VERSION_1 | MAC_F) {
  const t = setup();
  expect(t.d.negotiate(features)).toBe(true);
  t.d.setupQueue(0, { size: 8, desc: RXD, avail: RXA, used: RXU });
  t.d.setupQueue(1, { size: 8, desc: TXD, avail: TXA, used: TXU });
  t.d.driverOk();
  return t;
}

/** An Ethernet frame of `length` bytes: broadcast destination, source 02:00:00:00:00:01, EtherType 0x88B5, bytes i & 0xFF after. */
function frame(length: number, dst = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], src = [2, 0, 0, 0, 0, 1]): Uint8Array {
  const f = new Uint8Array(length);
  f.set(dst, 0); f.set(src, 6); f[12] = 0x88; f[13] = 0xb5;
  for (let i = 14; i < length; i++) f[i] = i & 0xff;
  return f;
}

/** Posts receive buffer `i` of `bytes` bytes at BUF + 0x1000 * i (descriptor i, device-writable). */
function postRx(t: ReturnType<typeof setup>, i: number, bytes: number, notify = true) {
  t.d.desc(RXD, i, BUF + 0x1000 * i, bytes, F.WRITE);
  t.d.offer(0, i);
  if (notify) t.d.notify(0);
}

/** Transmits `data` (header + frame) from one descriptor. */
function transmit(t: ReturnType<typeof setup>, data: Uint8Array, flags = 0) {
  t.ram.set(data, TXBUF);
  t.d.desc(TXD, 0, TXBUF, data.length, flags);
  t.d.offer(1, 0);
  t.d.notify(1);
}

const withHeader = (f: Uint8Array) => { const b = new Uint8Array(12 + f.length); b.set(f, 12); return b; };
const needsReset = (t: ReturnType<typeof setup>) => (t.d.status & S.NEEDS_RESET) !== 0;

describe("virtio-net configuration and features (virtio 1.2 5.1.3, 5.1.4)", () => {
  it("is device 1 and offers VERSION_1, MAC, STATUS, EVENT_IDX and INDIRECT_DESC, nothing else", () => {
    const { d } = setup();
    expect(d.read(R.DEVICE_ID)).toBe(1); // 5.1.1: network card
    d.write(R.DEVICE_FEATURES_SEL, 0);
    // bits 5 (MAC), 16 (STATUS), 28 (INDIRECT_DESC), 29 (EVENT_IDX) = 0x30010020
    expect(d.read(R.DEVICE_FEATURES)).toBe(0x30010020);
    d.write(R.DEVICE_FEATURES_SEL, 1);
    expect(d.read(R.DEVICE_FEATURES)).toBe(1); // bit 32: VERSION_1
  });

  it("config holds mac[6] then status with VIRTIO_NET_S_LINK_UP; the MAC is 52:54:00:12:34:56 for NIC 0", () => {
    const { d } = setup();
    const bytes = Array.from({ length: 6 }, (_, i) => d.read(R.CONFIG + i, 1));
    expect(bytes).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    expect(d.read(R.CONFIG + 6, 2)).toBe(1); // status: LINK_UP (5.1.4)
    expect(Array.from(defaultMac(1))).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x57]);
    d.write(R.CONFIG, 0xaa, 1); // the driver cannot change it
    expect(d.read(R.CONFIG, 1)).toBe(0x52);
  });

  it("a driver that asks for an offload the device does not offer (CSUM, bit 0) is refused FEATURES_OK (2.2.2)", () => {
    const { d } = setup();
    expect(d.negotiate(VERSION_1 | 1n)).toBe(false);
    expect(d.negotiate(VERSION_1 | MAC_F | STATUS_F | EVENT_IDX | INDIRECT_DESC)).toBe(true);
  });
});

describe("virtio-net transmit (5.1.6.2)", () => {
  it("sends the bytes after the 12-byte header as one frame, returns the chain with used len 0 and interrupts", () => {
    const t = ready();
    const f = frame(60);
    transmit(t, withHeader(f));
    expect(t.sent).toHaveLength(1);
    expect(Array.from(t.sent[0])).toEqual(Array.from(f));
    expect(t.d.usedIdx(1)).toBe(1);
    expect(t.d.usedElem(1, 0)).toEqual({ id: 0, len: 0 }); // nothing written (2.7.8)
    expect(t.d.read(R.INTERRUPT_STATUS)).toBe(1);
    expect(t.nic.counters.txFrames).toBe(1);
  });

  it("gathers a frame split over header, frame head and frame tail descriptors", () => {
    const t = ready();
    const f = frame(100);
    t.ram.set(f.subarray(0, 30), TXBUF + 0x100);
    t.ram.set(f.subarray(30), TXBUF + 0x200);
    t.d.desc(TXD, 0, TXBUF, 12, F.NEXT, 1);
    t.d.desc(TXD, 1, TXBUF + 0x100, 30, F.NEXT, 2);
    t.d.desc(TXD, 2, TXBUF + 0x200, 70, 0);
    t.d.offer(1, 0);
    t.d.notify(1);
    expect(Array.from(t.sent[0])).toEqual(Array.from(f));
  });

  it("a header shorter than 12 bytes is a broken chain: DEVICE_NEEDS_RESET, nothing sent", () => {
    const t = ready();
    transmit(t, new Uint8Array(10));
    expect(t.sent).toHaveLength(0);
    expect(needsReset(t)).toBe(true);
    expect(t.m.virtioTransports[7].needsResetReason).toMatch(/shorter than the 12-byte virtio_net_hdr/);
  });

  it("a chain with a device-writable part, or no Ethernet header after the virtio header, is dropped and counted", () => {
    const t = ready();
    t.ram.set(withHeader(frame(60)), TXBUF);
    t.d.desc(TXD, 0, TXBUF, 72, F.NEXT, 1);
    t.d.desc(TXD, 1, TXBUF + 0x800, 16, F.WRITE);
    t.d.offer(1, 0);
    t.d.notify(1);
    transmit(t, withHeader(frame(60)).subarray(0, 12 + 13)); // 13 bytes: no EtherType
    expect(t.sent).toHaveLength(0);
    expect(t.nic.counters.txDropped).toBe(2);
    expect(t.d.usedIdx(1)).toBe(2); // both chains returned
    expect(needsReset(t)).toBe(false);
    transmit(t, withHeader(frame(60)));
    expect(t.sent).toHaveLength(1); // the device goes on
  });

  it("with INDIRECT_DESC, a frame in an indirect table is sent", () => {
    const t = ready(VERSION_1 | MAC_F | INDIRECT_DESC);
    const f = frame(64);
    t.ram.set(withHeader(f), TXBUF);
    const table = 0x30000;
    t.d.desc(table, 0, TXBUF, 12, F.NEXT, 1);
    t.d.desc(table, 1, TXBUF + 12, 64, 0);
    t.d.desc(TXD, 0, table, 32, F.INDIRECT);
    t.d.offer(1, 0);
    t.d.notify(1);
    expect(Array.from(t.sent[0])).toEqual(Array.from(f));
  });
});

describe("virtio-net receive (5.1.6.3, 5.1.6.4)", () => {
  it("writes header + frame into a posted buffer: num_buffers 1, the rest of the header 0, used len 12 + frame", () => {
    const t = ready();
    postRx(t, 0, 1526);
    t.ram.fill(0xee, BUF, BUF + 12);
    const f = frame(78);
    t.nic.receive(f);
    expect(t.d.usedIdx(0)).toBe(1);
    expect(t.d.usedElem(0, 0)).toEqual({ id: 0, len: 90 });
    // 5.1.6.4.1: without MRG_RXBUF num_buffers (bytes 10-11) is 1; flags, gso_type NONE, lengths 0
    expect(Array.from(t.ram.subarray(BUF, BUF + 12))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    expect(Array.from(t.ram.subarray(BUF + 12, BUF + 90))).toEqual(Array.from(f));
    expect(t.d.read(R.INTERRUPT_STATUS)).toBe(1);
    expect(t.nic.counters.rxFrames).toBe(1);
  });

  it("frames arriving before any buffer wait, in order, and fill buffers as the driver posts them", () => {
    const t = ready();
    t.nic.receive(frame(60));
    t.nic.receive(frame(61));
    expect(t.nic.pendingFrames).toBe(2);
    expect(t.d.usedIdx(0)).toBe(0);
    postRx(t, 0, 1526, false);
    postRx(t, 1, 1526, true);
    expect(t.d.usedIdx(0)).toBe(2);
    expect(t.d.usedElem(0, 0)).toEqual({ id: 0, len: 72 });
    expect(t.d.usedElem(0, 1)).toEqual({ id: 1, len: 73 });
    expect(t.nic.pendingFrames).toBe(0);
  });

  it(`keeps at most ${RECEIVE_BACKLOG} frames waiting; more are dropped and counted`, () => {
    const t = ready();
    for (let i = 0; i < RECEIVE_BACKLOG + 5; i++) t.nic.receive(frame(60));
    expect(t.nic.pendingFrames).toBe(RECEIVE_BACKLOG);
    expect(t.nic.counters.rxOverrun).toBe(5);
  });

  it("a frame larger than the buffer is dropped and counted; the buffer stays posted for the next frame", () => {
    const t = ready();
    postRx(t, 0, 100);
    t.nic.receive(frame(89)); // 12 + 89 = 101 > 100
    expect(t.nic.counters.rxTooBig).toBe(1);
    expect(t.d.usedIdx(0)).toBe(0);
    t.nic.receive(frame(88)); // 100: fits exactly
    expect(t.d.usedIdx(0)).toBe(1);
    expect(t.d.usedElem(0, 0)).toEqual({ id: 0, len: 100 });
    expect(needsReset(t)).toBe(false);
  });

  it("header and frame in separate writable descriptors are filled in order", () => {
    const t = ready();
    t.d.desc(RXD, 0, BUF, 12, F.WRITE | F.NEXT, 1);
    t.d.desc(RXD, 1, BUF + 0x1000, 1514, F.WRITE);
    t.d.offer(0, 0);
    t.d.notify(0);
    const f = frame(70);
    t.nic.receive(f);
    expect(t.ram[BUF + 10]).toBe(1);
    expect(Array.from(t.ram.subarray(BUF + 0x1000, BUF + 0x1000 + 70))).toEqual(Array.from(f));
  });

  it("a device-readable receive buffer is a broken chain: DEVICE_NEEDS_RESET and no write to it", () => {
    const t = ready();
    t.d.desc(RXD, 0, BUF, 1526, 0);
    t.d.offer(0, 0);
    t.d.notify(0);
    t.ram.fill(0xee, BUF, BUF + 16);
    t.nic.receive(frame(60));
    expect(needsReset(t)).toBe(true);
    expect(t.m.virtioTransports[7].needsResetReason).toMatch(/device-readable/);
    expect(t.ram[BUF]).toBe(0xee);
    expect(t.d.read(R.INTERRUPT_STATUS) & 2).toBe(2); // configuration change (2.1.2)
  });

  it("frames that arrive before DRIVER_OK wait and are delivered once the device is live", () => {
    const t = setup();
    t.nic.receive(frame(60));
    expect(t.d.negotiate(VERSION_1 | MAC_F)).toBe(true);
    t.d.setupQueue(0, { size: 8, desc: RXD, avail: RXA, used: RXU });
    t.d.setupQueue(1, { size: 8, desc: TXD, avail: TXA, used: TXU });
    postRx(t, 0, 1526); // ignored: before DRIVER_OK (3.1.1)
    expect(t.d.usedIdx(0)).toBe(0);
    t.d.driverOk();
    t.d.notify(0);
    expect(t.d.usedIdx(0)).toBe(1);
  });

  it("with EVENT_IDX, no interrupt until the used idx passes used_event (2.7.7.2)", () => {
    const t = ready(VERSION_1 | MAC_F | EVENT_IDX);
    t.d.setUsedEvent(0, 1); // interrupt once used entry 1 is written
    postRx(t, 0, 1526, false);
    postRx(t, 1, 1526, true);
    t.nic.receive(frame(60));
    expect(t.d.read(R.INTERRUPT_STATUS)).toBe(0);
    t.nic.receive(frame(60));
    expect(t.d.read(R.INTERRUPT_STATUS)).toBe(1);
  });
});

describe("learning Ethernet switch (IEEE 802.1D learning and flooding)", () => {
  const A = [2, 0, 0, 0, 0, 0xa], B = [2, 0, 0, 0, 0, 0xb], C = [2, 0, 0, 0, 0, 0xc];
  function threePorts() {
    const sw = new EthernetSwitch();
    const got: string[][] = [[], [], []];
    const sinks = [0, 1, 2].map((p) => sw.addPort((f) => got[p].push(`${f[11].toString(16)}>${f[5].toString(16)}`)));
    return { sw, got, sinks };
  }

  it("floods unknown unicast and broadcast to every other port, learns sources, then forwards to one port", () => {
    const { sw, got, sinks } = threePorts();
    sinks[0].deliver(frame(60, B, A)); // B unknown: flooded to 1 and 2; A learned on 0
    expect(sw.pending).toBe(1);
    expect(got).toEqual([[], [], []]); // nothing moves before flush()
    expect(sw.flush()).toBe(1);
    expect(got).toEqual([[], ["a>b"], ["a>b"]]);
    sinks[1].deliver(frame(60, A, B)); // A known on 0: forwarded there only; B learned on 1
    sinks[2].deliver(frame(60, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], C)); // broadcast: 0 and 1
    sinks[0].deliver(frame(60, B, A)); // B known on 1 now
    sw.flush();
    expect(got).toEqual([["b>a", "c>ff"], ["a>b", "c>ff", "a>b"], ["a>b"]]);
    expect(sw.counters).toEqual({ forwarded: 2, flooded: 2, filtered: 0, runts: 0 });
    expect(sw.portOf("02:00:00:00:00:0c")).toBe(2);
  });

  it("multicast destinations are flooded, a frame for a station on its own port is filtered, a station that moves is relearned", () => {
    const { sw, got, sinks } = threePorts();
    sinks[0].deliver(frame(60, B, A));
    sinks[0].deliver(frame(60, [0x01, 0, 0x5e, 0, 0, 1], B)); // B sends from port 0: learned there
    sinks[0].deliver(frame(60, B, A)); // B is on A's port: filtered
    sw.flush();
    expect(got[1]).toEqual(["a>b", "b>1"]);
    expect(sw.counters.filtered).toBe(1);
    sinks[2].deliver(frame(60, C, B)); // B moved to port 2
    sinks[0].deliver(frame(60, B, A));
    sw.flush();
    expect(sw.portOf("02:00:00:00:00:0b")).toBe(2);
    expect(got[2].at(-1)).toBe("a>b");
  });

  it("a frame shorter than an Ethernet header is dropped as a runt; a group source address is never learned", () => {
    const { sw, got, sinks } = threePorts();
    sinks[0].deliver(new Uint8Array(10));
    sinks[0].deliver(frame(60, B, [0x03, 0, 0, 0, 0, 1]));
    sw.flush();
    expect(sw.counters.runts).toBe(1);
    expect(sw.portOf("03:00:00:00:00:01")).toBeUndefined();
    expect(got[1]).toHaveLength(1);
  });
});

describe("Machine.run with untilCycle (cycle quanta)", () => {
  /** A flat guest: `sti; hlt; jmp $-1` at 1 MiB, nothing that could wake it. */
  function halting() {
    const m = new Machine({ ramBytes: 2 << 20 });
    m.loadImage(Uint8Array.of(0xfb, 0xf4, 0xeb, 0xfd), { format: "flat" });
    return m;
  }

  it("a halted CPU with nothing due idles to the boundary and reports that only an outside event can wake it", () => {
    const m = halting();
    const r = m.run({ untilCycle: 50_000 });
    expect(r).toMatchObject({ reason: "quantum", halted: true, waiting: true, instructions: 2 });
    expect(m.cpu.accounting.cycles()).toBe(50_000);
    expect(halting().run().reason).toBe("halt"); // without untilCycle the run ends there, as before
  });

  it("a busy guest stops at the first instruction boundary at or past the cycle", () => {
    const m = new Machine({ ramBytes: 2 << 20 });
    m.loadImage(Uint8Array.of(0xeb, 0xfe), { format: "flat" }); // jmp $
    const r = m.run({ untilCycle: 10_000 });
    expect(r.reason).toBe("quantum");
    expect(r.halted).toBe(false);
    const c = m.cpu.accounting.cycles();
    expect(c).toBeGreaterThanOrEqual(10_000);
    expect(c - 10_000).toBeLessThan(m.cpu.accounting.stepBound + 1);
  });
});
