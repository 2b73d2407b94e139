// The Xen-style PV block device driven from TypeScript by a mock blkfront that lays out
// the shared ring in guest RAM and pokes the MMIO window, then the pvblk guest, the CLI's
// answers to bad images, and durability under SIGKILL. Expected values come from
// xen/include/public/io/ring.h and blkif.h (cited per test) and hand calculations.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import { Machine } from "../src/vmm/machine.js";
import { PvBlockDevice, PV_BLOCK_BASE } from "../src/dev/pvBlockDevice.js";
import { ringEntries } from "../src/dev/sharedRing.js";
import { makeTestDisk } from "./fixtures/guest-setup.js";
import { memoryStore } from "./fixtures/memoryStore.js";

// Register offsets and values as docs/devices.md "PV block" documents them.
const R = { MAGIC: 0x00, VERSION: 0x04, SECTORS_LOW: 0x08, SECTORS_HIGH: 0x0c, SECTOR_SIZE: 0x10, FEATURES: 0x14,
  MAX_RING_ORDER: 0x18, EVTCHN_IRQ: 0x1c, RING_GPA: 0x20, RING_ORDER: 0x24, RING_SIZE: 0x28, EVTCHN_PORT: 0x2c,
  FRONT_STATE: 0x30, BACK_STATE: 0x34, ERROR: 0x38, STATUS: 0x3c, NOTIFY: 0x40, EVTCHN_PENDING: 0x44, EVTCHN_MASK: 0x48 };
// xenbus.h enum xenbus_state
const XS = { Initialising: 1, InitWait: 2, Initialised: 3, Connected: 4, Closing: 5, Closed: 6 };
// blkif.h
const OP = { READ: 0, WRITE: 1, WRITE_BARRIER: 2, FLUSH: 3, DISCARD: 5, INDIRECT: 6 };
const RSP = { OKAY: 0, ERROR: -1, EOPNOTSUPP: -2 };
const RING = 0x10000;
const SERVICE = 1000;


interface Req { op: number; id?: [number, number]; sector?: [number, number]; nseg?: number; segs?: [number, number, number][] }

/**
 * A blkfront written from ring.h and blkif.h (x86_32 layouts: request 108 bytes with id at
 * 4, sector_number at 12, segments of 8 bytes at 20; response id at 0, operation at 8,
 * status at 10), over a device constructed with a clock the test moves.
 */
function rig(sectors = 64, ramBytes = 4 << 20) {
  const m = new Machine({ ramBytes });
  const mem = memoryStore(sectors);
  const levels: boolean[] = [];
  let clock = 0;
  let reschedules = 0;
  const dev = new PvBlockDevice(mem.store, m.guestRam, () => clock, (l) => levels.push(l), () => { reschedules++; }, { serviceCycles: SERVICE });
  const v = m.cpu.view;
  const reg = (off: number) => dev.read(off, 4) >>> 0;
  const poke = (off: number, value: number) => dev.write(off, 4, value);
  let reqProdPvt = 0, rspCons = 0, entries = 0;
  const front = {
    /** ring.h SHARED_RING_INIT + FRONT_RING_INIT, then hand the ring over and move to Initialised. */
    connect(gpa = RING, order = 0) {
      if (gpa + 64 <= ramBytes) { // a hostile frontend may name a ring it could not have laid out
        for (let i = 0; i < 64; i += 4) v.setUint32(gpa + i, 0, true);
        v.setUint32(gpa + 4, 1, true); // req_event
        v.setUint32(gpa + 12, 1, true); // rsp_event
      }
      reqProdPvt = 0; rspCons = 0;
      poke(R.RING_GPA, gpa); poke(R.RING_ORDER, order);
      poke(R.FRONT_STATE, XS.Initialised);
      entries = reg(R.RING_SIZE);
    },
    slot(index: number) { return RING + 64 + (index & (entries - 1)) * 108; },
    /** Writes a request into the next private slot (not yet published). */
    put(r: Req) {
      const at = front.slot(reqProdPvt);
      for (let i = 0; i < 108; i++) v.setUint8(at + i, 0);
      const segs = r.segs ?? [];
      v.setUint8(at, r.op); v.setUint8(at + 1, r.nseg ?? segs.length);
      v.setUint32(at + 4, r.id?.[0] ?? 0, true); v.setUint32(at + 8, r.id?.[1] ?? 0, true);
      v.setUint32(at + 12, r.sector?.[0] ?? 0, true); v.setUint32(at + 16, r.sector?.[1] ?? 0, true);
      segs.slice(0, 11).forEach(([frame, first, last], i) => {
        v.setUint32(at + 20 + i * 8, frame >>> 0, true); v.setUint8(at + 24 + i * 8, first); v.setUint8(at + 25 + i * 8, last);
      });
      reqProdPvt = (reqProdPvt + 1) >>> 0;
    },
    /** ring.h RING_PUSH_REQUESTS_AND_CHECK_NOTIFY; rings the doorbell when told to. Returns notify. */
    push() {
      const old = v.getUint32(RING, true), now = reqProdPvt;
      v.setUint32(RING, now, true);
      const event = v.getUint32(RING + 4, true);
      const notify = ((now - event) >>> 0) < ((now - old) >>> 0);
      if (notify) poke(R.NOTIFY, 1);
      return notify;
    },
    /** ring.h RING_FULL from the front's private indices. */
    full() { return entries - ((reqProdPvt - rspCons) >>> 0) === 0; },
    /** Takes the responses published since the last call. */
    responses() {
      const out: { id: [number, number]; op: number; status: number }[] = [];
      const prod = v.getUint32(RING + 8, true);
      while (rspCons !== prod) {
        const at = front.slot(rspCons);
        out.push({ id: [v.getUint32(at, true), v.getUint32(at + 4, true)], op: v.getUint8(at + 8), status: v.getInt16(at + 10, true) });
        rspCons = (rspCons + 1) >>> 0;
      }
      return out;
    },
    setRspEvent(value: number) { v.setUint32(RING + 12, value, true); },
    get rspCons() { return rspCons; },
  };
  const advance = (to: number) => { clock = to; dev.service(to); };
  return { m, dev, v, reg, poke, front, advance, levels, mem, reschedules: () => reschedules };
}

describe("PV block: discovery and connection", () => {
  it("publishes what blkback would put in xenstore, and waits in InitWait", () => {
    const { reg } = rig(5000);
    expect(reg(R.MAGIC)).toBe(0x42565058); // "XPVB" little-endian
    expect(Buffer.from([0x58, 0x50, 0x56, 0x42]).readUInt32LE(0)).toBe(0x42565058);
    expect(reg(R.VERSION)).toBe(1);
    expect(reg(R.SECTORS_LOW)).toBe(5000);
    expect(reg(R.SECTORS_HIGH)).toBe(0);
    expect(reg(R.SECTOR_SIZE)).toBe(512);
    expect(reg(R.FEATURES)).toBe(1); // feature-flush-cache only
    expect(reg(R.MAX_RING_ORDER)).toBe(3);
    expect(reg(R.EVTCHN_IRQ)).toBe(11);
    expect(reg(R.EVTCHN_PORT)).toBe(1);
    expect(reg(R.BACK_STATE)).toBe(XS.InitWait);
    expect(reg(R.RING_SIZE)).toBe(0);
  });

  it("sizes the ring like ring.h __RING_SIZE: (bytes - 64) / 108 rounded down to a power of two", () => {
    // order 0: 4032/108 = 37.3 -> 32; order 1: 8128/108 = 75.3 -> 64; order 2: 16320/108 = 151.1 -> 128;
    // order 3: 32704/108 = 302.8 -> 256
    expect([0, 1, 2, 3].map((o) => ringEntries(4096 << o, 108))).toEqual([32, 64, 128, 256]);
    for (const [order, want] of [[0, 32], [1, 64], [3, 256]]) {
      const { front, reg } = rig();
      front.connect(RING, order);
      expect(reg(R.BACK_STATE)).toBe(XS.Connected);
      expect(reg(R.RING_SIZE)).toBe(want);
    }
  });

  it("refuses a ring outside RAM, unaligned, or of too high an order (Closing, ERROR says why), and starts over on Initialising", () => {
    const ram = 4 << 20;
    const cases: [number, number, number][] = [
      [ram - 0x1000, 1, 1], // two pages, the second beyond RAM
      [0xfe900000, 0, 1], // the device's own window
      [RING + 0x10, 0, 1], // not page aligned
      [RING, 4, 2], // order 4 > max-ring-page-order 3
    ];
    for (const [gpa, order, error] of cases) {
      const { front, reg, poke } = rig(64, ram);
      front.connect(gpa, order);
      expect([gpa, reg(R.BACK_STATE), reg(R.ERROR), reg(R.STATUS)]).toEqual([gpa, XS.Closing, error, 2]);
      poke(R.NOTIFY, 1); // ignored: nothing is connected
      poke(R.FRONT_STATE, XS.Initialising);
      expect([reg(R.BACK_STATE), reg(R.ERROR), reg(R.STATUS)]).toEqual([XS.InitWait, 0, 0]);
      front.connect(RING, 0);
      expect(reg(R.BACK_STATE)).toBe(XS.Connected);
    }
  });

  it("register writes of other widths are ignored; byte reads see the register's bytes", () => {
    const { dev, reg } = rig();
    dev.write(R.RING_GPA, 2, 0x1234);
    dev.write(R.RING_GPA + 1, 1, 0x56);
    expect(reg(R.RING_GPA)).toBe(0);
    expect(dev.read(R.MAGIC, 1)).toBe(0x58);
    expect(dev.read(R.MAGIC + 3, 1)).toBe(0x42);
    expect(dev.read(R.MAGIC + 2, 2)).toBe(0x4256);
  });

  it("is reached at 0xFE900000 on a machine given a pvBlock store, with the upcall on IRQ 11", () => {
    const mem = memoryStore(8);
    const m = new Machine({ ramBytes: 4 << 20, pvBlock: mem.store });
    expect(m.mmio.read(PV_BLOCK_BASE, 4) >>> 0).toBe(0x42565058);
    const lines: string[] = [];
    m.setIrq = (line, level) => { lines.push(`${line}=${level}`); };
    m.pvBlock!.events.send(1);
    m.pvBlock!.events.clear(2);
    expect(lines).toEqual(["11=true", "11=false"]);
  });
});

describe("PV block: requests and responses", () => {
  it("writes and reads multi-segment requests, echoing the 64-bit id and the operation (blkif.h)", () => {
    const { front, advance, v, mem } = rig();
    front.connect();
    // Sector 5 of the disk: frame 0x20 sectors 6-7, frame 0x21 sectors 0-2 (five sectors).
    for (let i = 0; i < 5 * 128; i++) {
      const addr = i < 256 ? 0x20000 + 6 * 512 + i * 4 : 0x21000 + (i - 256) * 4;
      v.setUint32(addr, 0xabc00000 + i, true);
    }
    front.put({ op: OP.WRITE, id: [0x55667788, 0x11223344], sector: [5, 0], segs: [[0x20, 6, 7], [0x21, 0, 2]] });
    expect(front.push()).toBe(true);
    advance(SERVICE);
    expect(front.responses()).toEqual([{ id: [0x55667788, 0x11223344], op: OP.WRITE, status: RSP.OKAY }]);
    expect(mem.log).toEqual(["write 5", "write 6", "write 7", "write 8", "write 9"]);
    for (let i = 0; i < 5 * 128; i++) expect(Buffer.from(mem.data.buffer).readUInt32LE(5 * 512 + i * 4)).toBe(0xabc00000 + i);

    // Read them back into frame 0x30 sectors 3-7.
    front.setRspEvent(2);
    front.put({ op: OP.READ, id: [7, 0], sector: [5, 0], segs: [[0x30, 3, 7]] });
    expect(front.push()).toBe(true); // the backend went idle and set req_event = 2
    advance(2 * SERVICE);
    expect(front.responses()).toEqual([{ id: [7, 0], op: OP.READ, status: RSP.OKAY }]);
    for (let i = 0; i < 5 * 128; i++) expect(v.getUint32(0x30000 + 3 * 512 + i * 4, true)).toBe(0xabc00000 + i);
  });

  it("a write is in the store, and a FLUSH's fsync has returned, before the response is published", () => {
    const { front, advance, v, mem } = rig();
    front.connect();
    const rspProdAt: string[] = [];
    mem.hooks.onWrite = () => rspProdAt.push(`write with rsp_prod ${v.getUint32(RING + 8, true)}`);
    mem.hooks.onFlush = () => rspProdAt.push(`flush with rsp_prod ${v.getUint32(RING + 8, true)}`);
    front.put({ op: OP.WRITE, sector: [1, 0], segs: [[0x20, 0, 0]] });
    front.put({ op: OP.FLUSH });
    front.push();
    advance(SERVICE);
    advance(2 * SERVICE);
    expect(rspProdAt).toEqual(["write with rsp_prod 0", "flush with rsp_prod 1"]);
    expect(front.responses().map((r) => r.status)).toEqual([RSP.OKAY, RSP.OKAY]);
  });

  it("a FLUSH_DISKCACHE with a segment writes it and then flushes", () => {
    const { front, advance, mem } = rig();
    front.connect();
    front.put({ op: OP.FLUSH, sector: [3, 0], segs: [[0x20, 0, 1]] });
    front.push();
    advance(SERVICE);
    expect(mem.log).toEqual(["write 3", "write 4", "flush"]);
    expect(front.responses()[0].status).toBe(RSP.OKAY);
  });

  it("answers malformed requests with BLKIF_RSP_ERROR and unsupported operations with EOPNOTSUPP, touching nothing", () => {
    const ram = 4 << 20, frames = ram / 4096;
    const bad: [string, Req, number][] = [
      ["READ without segments", { op: OP.READ, sector: [0, 0], segs: [] }, RSP.ERROR],
      ["WRITE without segments", { op: OP.WRITE, sector: [0, 0], segs: [] }, RSP.ERROR],
      ["12 segments (BLKIF_MAX_SEGMENTS_PER_REQUEST is 11)", { op: OP.READ, nseg: 12, segs: Array.from({ length: 11 }, () => [0x20, 0, 0] as [number, number, number]) }, RSP.ERROR],
      ["first_sect > last_sect", { op: OP.READ, segs: [[0x20, 3, 2]] }, RSP.ERROR],
      ["last_sect 8 (a frame holds sectors 0-7)", { op: OP.WRITE, segs: [[0x20, 0, 8]] }, RSP.ERROR],
      ["a frame just past RAM", { op: OP.READ, segs: [[frames, 0, 0]] }, RSP.ERROR],
      ["frame 0xFFFFFFFF", { op: OP.WRITE, segs: [[0xffffffff, 0, 7]] }, RSP.ERROR],
      ["a good segment then a bad one", { op: OP.WRITE, segs: [[0x20, 0, 7], [frames + 5, 0, 0]] }, RSP.ERROR],
      ["sectors 63-64 of a 64-sector disk", { op: OP.WRITE, sector: [63, 0], segs: [[0x20, 0, 1]] }, RSP.ERROR],
      ["sector_number 2^32", { op: OP.READ, sector: [0, 1], segs: [[0x20, 0, 0]] }, RSP.ERROR],
      ["WRITE_BARRIER (feature-barrier not advertised)", { op: OP.WRITE_BARRIER, segs: [[0x20, 0, 0]] }, RSP.EOPNOTSUPP],
      ["DISCARD", { op: OP.DISCARD, sector: [0, 0] }, RSP.EOPNOTSUPP],
      ["INDIRECT", { op: OP.INDIRECT }, RSP.EOPNOTSUPP],
      ["operation 0xFF", { op: 0xff }, RSP.EOPNOTSUPP],
    ];
    for (const [what, req, status] of bad) {
      const { front, advance, v, mem } = rig(64, ram);
      front.connect();
      v.setUint32(0x20000, 0x600df00d, true);
      front.put({ ...req, id: [42, 0] });
      front.push();
      advance(SERVICE);
      expect([what, front.responses()]).toEqual([what, [{ id: [42, 0], op: req.op, status }]]);
      expect([what, mem.log]).toEqual([what, []]);
      expect(v.getUint32(0x20000, true)).toBe(0x600df00d);
    }
    // The last sector exists: sector 63 alone is fine.
    const { front, advance } = rig(64, ram);
    front.connect();
    front.put({ op: OP.READ, sector: [63, 0], segs: [[0x20, 0, 0]] });
    front.push();
    advance(SERVICE);
    expect(front.responses()[0].status).toBe(RSP.OKAY);
  });
});

describe("PV block: notification hold-off and backpressure (ring.h)", () => {
  it("one answer per service period; events only when rsp_event is crossed; BUSY while all 32 slots are taken", () => {
    const { front, advance, reg, dev, levels, v } = rig();
    front.connect();
    const notifies: boolean[] = [];
    for (let i = 0; i < 32; i++) { front.put({ op: OP.WRITE, id: [i, 0], sector: [i, 0], segs: [[0x20, 0, 0]] }); notifies.push(front.push()); }
    // req_event starts at 1 (SHARED_RING_INIT): only the first push crosses it.
    expect(notifies).toEqual([true, ...Array(31).fill(false)]);
    expect(front.full()).toBe(true);
    expect(reg(R.STATUS) & 1).toBe(1); // BUSY: req_prod - rsp_prod = 32 = RING_SIZE
    expect(dev.nextDeadline()).toBe(SERVICE); // the doorbell came at cycle 0
    advance(SERVICE - 1);
    expect(v.getUint32(RING + 8, true)).toBe(0);
    advance(SERVICE);
    // rsp_prod 0 -> 1 crosses rsp_event 1: the port goes pending and the upcall line rises.
    expect(v.getUint32(RING + 8, true)).toBe(1);
    expect(reg(R.EVTCHN_PENDING)).toBe(2); // port 1
    expect(levels).toEqual([true]);
    expect(reg(R.STATUS) & 1).toBe(0);
    // The next 31 answers, one per 1000 cycles, cross no rsp_event (still 1): no event.
    advance(31 * SERVICE);
    expect(v.getUint32(RING + 8, true)).toBe(31);
    advance(32 * SERVICE);
    expect(v.getUint32(RING + 8, true)).toBe(32);
    expect(dev.events.delivered).toBe(1);
    // Idle: RING_FINAL_CHECK_FOR_REQUESTS left req_event = req_cons + 1 = 33.
    expect(v.getUint32(RING + 4, true)).toBe(33);
    expect(dev.nextDeadline()).toBe(Infinity);
    // The guest acknowledges: the line drops.
    dev.write(R.EVTCHN_PENDING, 4, 2);
    expect(levels).toEqual([true, false]);
    expect(front.responses()).toHaveLength(32);
    // The next request crosses req_event 33 and rings the doorbell.
    front.put({ op: OP.FLUSH, id: [99, 0] });
    expect(front.push()).toBe(true);
  });

  it("a masked port stays pending without an upcall; unmasking raises it (EVTCHNOP_unmask)", () => {
    const { front, advance, reg, poke, levels } = rig();
    front.connect();
    poke(R.EVTCHN_MASK, 2);
    front.put({ op: OP.FLUSH });
    front.push();
    advance(SERVICE);
    expect(reg(R.EVTCHN_PENDING)).toBe(2);
    expect(levels).toEqual([]);
    poke(R.EVTCHN_MASK, 0);
    expect(levels).toEqual([true]);
  });

  it("a frontend that overruns the ring gets Closing/ERROR 3; requests taken before are still answered and stored; nothing spins", () => {
    const { front, advance, reg, v, mem, dev } = rig();
    front.connect();
    front.put({ op: OP.WRITE, id: [1, 0], sector: [1, 0], segs: [[0x20, 0, 0]] });
    front.put({ op: OP.WRITE, id: [2, 0], sector: [2, 0], segs: [[0x20, 1, 1]] });
    front.push(); // the backend takes both
    // ring.h RING_REQUEST_PROD_OVERFLOW: req_prod - rsp_prod_pvt = 2 + 40 - 0 > 32.
    v.setUint32(RING, 42, true);
    dev.write(R.NOTIFY, 4, 1);
    expect([reg(R.BACK_STATE), reg(R.ERROR), reg(R.STATUS) & 2]).toEqual([XS.Closing, 3, 2]);
    advance(2 * SERVICE);
    expect(mem.log).toEqual(["write 1", "write 2"]);
    expect(v.getUint32(RING + 8, true)).toBe(2);
    expect(dev.nextDeadline()).toBe(Infinity);
    dev.write(R.NOTIFY, 4, 1); // further doorbells are ignored
    advance(1e9);
    expect(mem.log).toEqual(["write 1", "write 2"]);
    expect(dev.notificationsIgnored).toBe(1);
    // A req_prod of 0xFFFFFFFF is as far beyond: the same answer.
    const r2 = rig();
    r2.front.connect();
    r2.v.setUint32(RING, 0xffffffff, true);
    r2.dev.write(R.NOTIFY, 4, 1);
    expect(r2.reg(R.ERROR)).toBe(3);
  });

  it("a req_prod moved back behind requests already taken is an error too, not a reason to re-read stale slots", () => {
    const { front, advance, reg, v, mem, dev } = rig();
    front.connect();
    for (let i = 0; i < 4; i++) front.put({ op: OP.WRITE, id: [i, 0], sector: [i, 0], segs: [[0x20, 0, 0]] });
    front.push(); // req_cons = 4, nothing answered: rsp_prod_pvt = 0
    advance(SERVICE); // one answered: rsp_prod_pvt = 1
    // req_prod = 2 lies between rsp_prod_pvt (1) and req_cons (4): it went back.
    v.setUint32(RING, 2, true);
    dev.write(R.NOTIFY, 4, 1);
    expect([reg(R.BACK_STATE), reg(R.ERROR)]).toEqual([XS.Closing, 3]);
    advance(10 * SERVICE);
    expect(mem.log).toEqual(["write 0", "write 1", "write 2", "write 3"]); // taken before: answered
    expect(v.getUint32(RING + 8, true)).toBe(4);
  });

  it("disconnecting drops unanswered requests (none was acknowledged) and a new connection starts from index 0", () => {
    const { front, advance, reg, poke, mem, dev } = rig();
    front.connect();
    front.put({ op: OP.WRITE, sector: [1, 0], segs: [[0x20, 0, 0]] });
    front.push();
    poke(R.FRONT_STATE, XS.Closed);
    expect(reg(R.BACK_STATE)).toBe(XS.Closed);
    advance(10 * SERVICE);
    expect(mem.log).toEqual([]);
    front.connect();
    expect(reg(R.BACK_STATE)).toBe(XS.Connected);
    front.put({ op: OP.WRITE, sector: [1, 0], segs: [[0x20, 0, 0]] });
    expect(front.push()).toBe(true);
    expect(dev.nextDeadline()).toBe(10 * SERVICE + SERVICE);
  });
});

describe("PV block in the machine's run loop", () => {
  it("HLT sleeps to each answer even when it brings no event, then the run ends instead of idling forever", () => {
    const mem = memoryStore(8);
    const m = new Machine({ ramBytes: 4 << 20, pvBlock: mem.store });
    // mov dword [0xFE900040], 1 (NOTIFY) ; sti ; hlt
    const code = [0xc7, 0x05, 0x40, 0x00, 0x90, 0xfe, 0x01, 0x00, 0x00, 0x00, 0xfb, 0xf4];
    m.loadImage(Uint8Array.from(code), { format: "flat", loadAddress: 0x100000 });
    const v = m.cpu.view, w = (off: number, value: number) => m.mmio.write(PV_BLOCK_BASE + off, 4, value);
    v.setUint32(RING + 4, 1, true); v.setUint32(RING + 12, 1, true);
    for (let i = 0; i < 3; i++) { // three FLUSHes in slots 0-2, published at once
      v.setUint8(RING + 64 + i * 108, OP.FLUSH);
      v.setUint32(RING + 64 + i * 108 + 4, 10 + i, true);
    }
    v.setUint32(RING, 3, true);
    w(R.RING_GPA, RING); w(R.RING_ORDER, 0); w(R.FRONT_STATE, XS.Initialised);
    w(R.EVTCHN_MASK, 2); // the event stays pending and masked: no interrupt will come
    const r = m.run({ maxInstructions: 1000 });
    expect(r.reason).toBe("halt");
    expect(r.message).toMatch(/no interrupt due/);
    expect(mem.log).toEqual(["flush", "flush", "flush"]);
    expect(v.getUint32(RING + 8, true)).toBe(3);
    // The third answer is 3 x 20000 cycles after the doorbell, which came after two
    // instructions at most: the clock went at least that far, all of it idle but a few.
    expect(m.cpu.accounting.cycles()).toBeGreaterThanOrEqual(60000);
    expect(m.cpu.accounting.cycles()).toBeLessThan(60000 + 10000);
  });
});

describe("PV block: the pvblk guest", () => {
  it("fills the ring, waits, reads back, flushes, and gets the protocol's error answers", async () => {
    const { Machine: BuiltMachine } = await import("../dist/index.js");
    const { DiskImage } = await import("../dist/vmm/diskImage.js");
    const file = makeTestDisk();
    const m = new BuiltMachine({ pvBlock: new DiskImage(file) });
    const bytes: number[] = [];
    m.onSerial = (b: number) => bytes.push(b);
    m.loadImage(new Uint8Array(fs.readFileSync("guests/pvblk.elf")), { name: "pvblk.elf" });
    const r = m.run({ maxInstructions: 50_000_000 });
    // 100 one-sector writes into a 32-entry ring, answered one per 20000 cycles while the
    // frontend queues a request in a few hundred: requests 33..100 each find the ring full
    // once (68), and every response is waited for on its own with rsp_event = rsp_cons + 1,
    // so each of the 100 brings one upcall. Statuses from blkif.h: EOPNOTSUPP -2, ERROR -1.
    expect(Buffer.from(bytes).toString("latin1")).toBe([
      "pvblk: start", "connected: ok", "ring entries: ok", "flush advertised: ok", "pvblk: 2048 sectors",
      "writes answered OKAY: ok", "pvblk: 100 writes, ring found full 68 times, 100 upcalls",
      "ring was full at least once: ok", "reads answered OKAY: ok", "read back of sectors 1-100: ok",
      "FLUSH_DISKCACHE answered OKAY: ok", "pvblk: operation 0x7F status -2", "unknown operation gets EOPNOTSUPP: ok",
      "WRITE_BARRIER gets EOPNOTSUPP: ok", "pvblk: read past the end status -1", "read past the end gets ERROR: ok",
      "pvblk: failed checks: 0", ""].join("\n"));
    expect([r.reason, r.exitCode]).toEqual(["debug-exit", 0]);
    const image = fs.readFileSync(file);
    expect(image.toString("latin1", 0, 16)).toBe("vmxlab disk test");
    for (let i = 1; i <= 100; i++) {
      for (let j = 0; j < 128; j++) expect([i, j, image.readUInt32LE(i * 512 + j * 4)]).toEqual([i, j, ((i << 16) | j) >>> 0]);
    }
    expect(image.readUInt32LE(101 * 512)).toBe(0);
  });
});

