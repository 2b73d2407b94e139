// virtio over virtio-mmio (virtio 1.2): the transport's registers (4.2.2), feature
// negotiation (2.2, 3.1.1), split virtqueues (2.7) with notification suppression, the
// block device (5.2) and the console (5.3), driven by a test-side driver that writes
// descriptors and rings into guest RAM. Every expected value is the specification's
// answer or a hand calculation written beside it.
import { describe, expect, it } from "vitest";
import { Machine } from "../src/vmm/machine.js";
import { TestDriver, R, S, F, VERSION_1, INDIRECT_DESC, EVENT_IDX } from "./fixtures/virtioDriver.js";
import { memoryStore } from "./fixtures/memoryStore.js";

const FLUSH = 1n << 9n;
const DESC = 0x10000, AVAIL = 0x11000, USED = 0x12000;
const HDR = 0x20000, DATA = 0x21000, STATUS_BYTE = 0x30000, TABLE = 0x31000;


/** A machine with a virtio-blk (transport 7, IRQ 12) and a virtio-console (transport 6, IRQ 11). */
function setup(sectors = 64) {
  const disk = memoryStore(sectors);
  const m = new Machine({ ramBytes: 1 << 20, virtio: [{ type: "blk", store: disk.store }, { type: "console" }] });
  const lines = new Map<number, boolean>();
  const setIrq = m.setIrq.bind(m);
  m.setIrq = (line, level) => { lines.set(line, level); setIrq(line, level); };
  const blk = new TestDriver(m, 7);
  return { m, disk, blk, lines, v: m.cpu.view, ram: m.cpu.ram };
}

/** A driver that negotiated `features` and set up queue 0 (size 8 unless given) and DRIVER_OK. */
function ready(features = VERSION_1 | FLUSH, size = 8) {
  const t = setup();
  expect(t.blk.negotiate(features)).toBe(true);
  t.blk.setupQueue(0, { size, desc: DESC, avail: AVAIL, used: USED });
  t.blk.driverOk();
  return t;
}

/** A block request header (5.2.6): type, reserved, sector. */
function header(t: ReturnType<typeof setup>, type: number, sector: number, at = HDR) {
  t.v.setUint32(at, type, true); t.v.setUint32(at + 4, 0, true);
  t.v.setUint32(at + 8, sector, true); t.v.setUint32(at + 12, 0, true);
}

/** Header, one data buffer, status: descriptors 0, 1, 2 (the usual three-part layout). */
function request(t: ReturnType<typeof setup>, type: number, sector: number, bytes: number, write: boolean) {
  header(t, type, sector);
  t.ram[STATUS_BYTE] = 0xee;
  t.blk.desc(DESC, 0, HDR, 16, F.NEXT, 1);
  t.blk.desc(DESC, 1, DATA, bytes, F.NEXT | (write ? 0 : F.WRITE), 2);
  t.blk.desc(DESC, 2, STATUS_BYTE, 1, F.WRITE);
  t.blk.offer(0, 0);
  t.blk.notify(0);
}

const needsReset = (t: ReturnType<typeof setup>) => (t.blk.status & S.NEEDS_RESET) !== 0;

describe("virtio-mmio transport registers (virtio 1.2 4.2.2)", () => {
  it("identifies itself, places devices as QEMU's microvm does, and leaves the other transports empty", () => {
    const { m } = setup();
    const at = (i: number) => new TestDriver(m, i);
    for (let i = 0; i < 8; i++) {
      expect(at(i).read(R.MAGIC)).toBe(0x74726976); // "virt"
      expect(at(i).read(R.VERSION)).toBe(2);
    }
    expect(at(7).read(R.DEVICE_ID)).toBe(2); // 5.2: block device
    expect(at(6).read(R.DEVICE_ID)).toBe(3); // 5.3: console
    for (let i = 0; i < 6; i++) expect(at(i).read(R.DEVICE_ID)).toBe(0); // 4.2.3.1.1: no device
  });

  it("offers VERSION_1, INDIRECT_DESC, EVENT_IDX, FLUSH, SEG_MAX, BLK_SIZE and says so in config", () => {
    const { blk } = setup(64);
    blk.write(R.DEVICE_FEATURES_SEL, 0);
    // bits 2 (SEG_MAX), 6 (BLK_SIZE), 9 (FLUSH), 28 (INDIRECT_DESC), 29 (EVENT_IDX):
    // 0x4 + 0x40 + 0x200 + 0x10000000 + 0x20000000 = 0x30000244
    expect(blk.read(R.DEVICE_FEATURES)).toBe(0x30000244);
    blk.write(R.DEVICE_FEATURES_SEL, 1);
    expect(blk.read(R.DEVICE_FEATURES)).toBe(1); // bit 32: VERSION_1
    blk.write(R.DEVICE_FEATURES_SEL, 2);
    expect(blk.read(R.DEVICE_FEATURES)).toBe(0);
    expect(blk.read(R.CONFIG + 0)).toBe(64); // capacity low (5.2.4), in 512-byte sectors
    expect(blk.read(R.CONFIG + 4)).toBe(0);
    expect(blk.read(R.CONFIG + 20)).toBe(512); // blk_size
    expect(blk.read(R.CONFIG + 20, 2)).toBe(512); // config space: narrower aligned reads are fine
    expect(blk.read(R.CONFIG + 21, 1)).toBe(2);
    blk.write(R.QUEUE_SEL, 0);
    expect(blk.read(R.QUEUE_NUM_MAX)).toBe(256);
    blk.write(R.QUEUE_SEL, 1);
    expect(blk.read(R.QUEUE_NUM_MAX)).toBe(0); // 4.2.2: no such queue
  });

  it("ignores control-register accesses that are not 32-bit and aligned (4.2.2.2), as QEMU does", () => {
    const { blk, m } = setup();
    expect(blk.read(R.MAGIC, 2)).toBe(0);
    expect(blk.read(R.MAGIC + 1, 4)).toBe(0);
    blk.write(R.STATUS, S.ACKNOWLEDGE, 1);
    expect(blk.status).toBe(0);
    expect(m.virtioTransports[7].badAccesses).toBe(3);
  });

  it("refuses FEATURES_OK for features not offered or without VERSION_1, accepts a subset (2.2.2, 6.1)", () => {
    const { blk } = setup();
    expect(blk.negotiate(VERSION_1 | 1n)).toBe(false); // bit 0 (SIZE_MAX) is not offered
    expect(blk.negotiate(FLUSH)).toBe(false); // legacy driver: no VERSION_1
    expect(blk.negotiate(VERSION_1 | FLUSH | EVENT_IDX)).toBe(true);
    expect(blk.status).toBe(S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
  });

  it("a status write of 0 resets the device: status, QueueReady and InterruptStatus all 0 (4.2.2.1)", () => {
    const t = ready();
    request(t, 4, 0, 0, true); // any completed request sets InterruptStatus bit 0
    expect(t.blk.read(R.INTERRUPT_STATUS)).toBe(1);
    t.blk.write(R.STATUS, 0);
    expect(t.blk.status).toBe(0);
    t.blk.write(R.QUEUE_SEL, 0);
    expect(t.blk.read(R.QUEUE_READY)).toBe(0);
    expect(t.blk.read(R.INTERRUPT_STATUS)).toBe(0);
    expect(t.lines.get(12)).toBe(false);
  });

  it("DRIVER_OK without FEATURES_OK is a driver error: DEVICE_NEEDS_RESET and a configuration interrupt", () => {
    const { blk, lines } = setup();
    blk.write(R.STATUS, S.ACKNOWLEDGE | S.DRIVER);
    blk.write(R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.DRIVER_OK);
    expect(blk.status & S.NEEDS_RESET).toBe(S.NEEDS_RESET);
    expect(blk.read(R.INTERRUPT_STATUS)).toBe(2); // 2.1.2: configuration change notification
    expect(lines.get(12)).toBe(true);
  });
});

describe("queue setup", () => {
  for (const [what, size] of [["not a power of 2", 3], ["larger than QueueNumMax", 512], ["zero", 0]] as const) {
    it(`a queue size ${what} (${size}) is refused: QueueReady stays 0 and the device needs a reset`, () => {
      const t = setup();
      expect(t.blk.negotiate(VERSION_1)).toBe(true);
      t.blk.setupQueue(0, { size, desc: DESC, avail: AVAIL, used: USED });
      expect(t.blk.read(R.QUEUE_READY)).toBe(0);
      expect(needsReset(t)).toBe(true);
      // before DRIVER_OK there is no configuration change notification (2.1.2)
      expect(t.blk.read(R.INTERRUPT_STATUS)).toBe(0);
      expect(t.m.virtioTransports[7].needsResetReason).toMatch(/queue size/);
    });
  }

  it("rings outside RAM or misaligned are refused (2.7: alignments 16, 2, 4)", () => {
    for (const q of [{ desc: DESC + 8, avail: AVAIL, used: USED }, { desc: DESC, avail: AVAIL, used: USED + 2 }, { desc: (1 << 20) - 64, avail: AVAIL, used: USED }, { desc: 2 ** 32, avail: AVAIL, used: USED }]) {
      const t = setup();
      t.blk.negotiate(VERSION_1);
      t.blk.setupQueue(0, { size: 8, ...q });
      expect(t.blk.read(R.QUEUE_READY)).toBe(0);
      expect(needsReset(t)).toBe(true);
    }
  });

  it("a notification before DRIVER_OK is ignored; after DRIVER_OK the same buffer is served", () => {
    const t = setup();
    t.blk.negotiate(VERSION_1 | FLUSH);
    t.blk.setupQueue(0, { size: 8, desc: DESC, avail: AVAIL, used: USED });
    request(t, 4, 0, 0, true); // FLUSH, offered and notified before DRIVER_OK
    expect(t.blk.usedIdx(0)).toBe(0);
    expect(t.disk.log).toEqual([]);
    expect(t.m.virtioTransports[7].ignoredNotifications).toBe(1);
    t.blk.driverOk();
    t.blk.notify(0);
    expect(t.blk.usedIdx(0)).toBe(1);
    expect(t.disk.log).toEqual(["flush"]);
  });
});

describe("virtio-blk requests (5.2.6)", () => {
  it("OUT stores every sector before the used entry appears; IN reads them back; status OK", () => {
    const t = ready();
    for (let i = 0; i < 1024; i++) t.ram[DATA + i] = (i * 7) & 0xff;
    const usedAtWrite: number[] = [];
    const write = t.disk.store.write.bind(t.disk.store);
    t.disk.store.write = (lba, bytes) => { usedAtWrite.push(t.blk.usedIdx(0)); write(lba, bytes); };
    request(t, 1, 5, 1024, true);
    expect(t.disk.log).toEqual(["write 5", "write 6"]);
    expect(usedAtWrite).toEqual([0, 0]); // stored while used idx was still 0
    expect(t.blk.usedIdx(0)).toBe(1);
    expect(t.blk.usedElem(0, 0)).toEqual({ id: 0, len: 1 }); // only the status byte written
    expect(t.ram[STATUS_BYTE]).toBe(0);
    expect(t.disk.data[5 * 512 + 3]).toBe(21);
    t.ram.fill(0, DATA, DATA + 1024);
    request(t, 0, 5, 1024, false);
    expect(t.blk.usedElem(0, 1)).toEqual({ id: 0, len: 1025 }); // 1024 data bytes + status
    expect(t.ram[STATUS_BYTE]).toBe(0);
    for (let i = 0; i < 1024; i++) expect(t.ram[DATA + i]).toBe((i * 7) & 0xff);
  });

  it("FLUSH completes only after the store's flush; without FLUSH negotiated each write is flushed (5.2.6.2)", () => {
    const t = ready(VERSION_1 | FLUSH);
    const usedAtFlush: number[] = [];
    t.disk.store.flush = () => { usedAtFlush.push(t.blk.usedIdx(0)); t.disk.log.push("flush"); };
    request(t, 1, 1, 512, true);
    expect(t.disk.log).toEqual(["write 1"]); // write-back: no flush yet
    request(t, 4, 0, 0, true);
    expect(t.disk.log).toEqual(["write 1", "flush"]);
    expect(usedAtFlush).toEqual([1]); // the FLUSH's used entry (idx 1 -> 2) came after
    const w = ready(VERSION_1);
    request(w, 1, 1, 512, true);
    expect(w.disk.log).toEqual(["write 1", "flush"]);
  });

  it("GET_ID writes the 20-byte id, NUL-padded", () => {
    const t = ready();
    t.ram.fill(0xff, DATA, DATA + 20);
    request(t, 8, 0, 20, false);
    expect(t.ram[STATUS_BYTE]).toBe(0);
    const id = Buffer.from(t.ram.subarray(DATA, DATA + 20));
    expect(id.toString("latin1")).toBe("vmxlab-virtio-blk\0\0\0");
    expect(t.blk.usedElem(0, 0).len).toBe(21);
  });

  it("sectors past the end and lengths that are not whole sectors get IOERR; unknown types UNSUPP", () => {
    const t = ready(); // 64 sectors: 0..63
    request(t, 0, 64, 512, false);
    expect(t.ram[STATUS_BYTE]).toBe(1);
    request(t, 1, 63, 1024, true); // sectors 63 and 64: the second does not exist
    expect(t.ram[STATUS_BYTE]).toBe(1);
    request(t, 1, 0, 100, true);
    expect(t.ram[STATUS_BYTE]).toBe(1);
    expect(t.disk.log).toEqual([]); // nothing was read or written
    for (const type of [2, 11, 13, 0xffffffff]) { // 11 DISCARD, 13 WRITE_ZEROES: not offered
      request(t, type, 0, 512, false);
      expect(t.ram[STATUS_BYTE]).toBe(2);
    }
    expect(needsReset(t)).toBe(false);
    expect(t.blk.usedIdx(0)).toBe(7);
  });

  it("takes any arrangement of descriptors (2.7.4.1), zero-length ones included", () => {
    const t = ready();
    header(t, 1, 2);
    for (let i = 0; i < 512; i++) t.ram[DATA + i] = 0x5a;
    // header split 0 + 10 + 6 bytes, data in the same descriptor as the header's tail, status alone
    t.blk.desc(DESC, 3, HDR, 0, F.NEXT, 4);
    t.blk.desc(DESC, 4, HDR, 10, F.NEXT, 5);
    t.ram.copyWithin(DATA - 6, HDR + 10, HDR + 16); // the header's last 6 bytes just before the data
    t.blk.desc(DESC, 5, DATA - 6, 6 + 512, F.NEXT, 6);
    t.blk.desc(DESC, 6, STATUS_BYTE, 0, F.NEXT | F.WRITE, 7);
    t.blk.desc(DESC, 7, STATUS_BYTE, 1, F.WRITE);
    t.blk.offer(0, 3);
    t.blk.notify(0);
    expect(needsReset(t)).toBe(false);
    expect(t.ram[STATUS_BYTE]).toBe(0);
    expect(t.disk.log).toEqual(["write 2"]);
    expect(t.disk.data[2 * 512 + 511]).toBe(0x5a);
  });

  it("a chain as long as the queue (8 descriptors on a queue of 8) is served", () => {
    const t = ready();
    header(t, 1, 0);
    // header in 4 pieces of 4 bytes, data in 3 pieces (128 + 128 + 256), status: 8 descriptors
    for (let i = 0; i < 4; i++) t.blk.desc(DESC, i, HDR + 4 * i, 4, F.NEXT, i + 1);
    t.blk.desc(DESC, 4, DATA, 128, F.NEXT, 5);
    t.blk.desc(DESC, 5, DATA + 128, 128, F.NEXT, 6);
    t.blk.desc(DESC, 6, DATA + 256, 256, F.NEXT, 7);
    t.blk.desc(DESC, 7, STATUS_BYTE, 1, F.WRITE);
    t.blk.offer(0, 0);
    t.blk.notify(0);
    expect(needsReset(t)).toBe(false);
    expect(t.ram[STATUS_BYTE]).toBe(0);
    expect(t.disk.log).toEqual(["write 0"]);
  });

  it("overlapping device-writable buffers are written in chain order: the later one wins", () => {
    // The spec puts no rule on overlap; vmxlab fills the writable buffers first to last.
    const t = ready();
    t.disk.data.fill(1, 0, 512); t.disk.data.fill(2, 512, 1024);
    header(t, 0, 0);
    t.blk.desc(DESC, 0, HDR, 16, F.NEXT, 1);
    t.blk.desc(DESC, 1, DATA, 512, F.NEXT | F.WRITE, 2);
    t.blk.desc(DESC, 2, DATA, 512, F.NEXT | F.WRITE, 3);
    t.blk.desc(DESC, 3, STATUS_BYTE, 1, F.WRITE);
    t.blk.offer(0, 0);
    t.blk.notify(0);
    expect(t.ram[STATUS_BYTE]).toBe(0);
    expect(t.ram[DATA]).toBe(2); // sector 1's bytes landed on top of sector 0's
  });

  it("indirect descriptors work when negotiated (2.7.5.3)", () => {
    const t = ready(VERSION_1 | FLUSH | INDIRECT_DESC);
    header(t, 8, 0);
    t.blk.desc(TABLE, 0, HDR, 16, F.NEXT, 1);
    t.blk.desc(TABLE, 1, DATA, 20, F.NEXT | F.WRITE, 2);
    t.blk.desc(TABLE, 2, STATUS_BYTE, 1, F.WRITE);
    t.blk.desc(DESC, 0, TABLE, 48, F.INDIRECT);
    t.blk.offer(0, 0);
    t.blk.notify(0);
    expect(needsReset(t)).toBe(false);
    expect(t.ram[STATUS_BYTE]).toBe(0);
    expect(Buffer.from(t.ram.subarray(DATA, DATA + 6)).toString()).toBe("vmxlab");
  });
});

describe("a hostile driver gets DEVICE_NEEDS_RESET and a configuration interrupt (2.1.2), never a hang", () => {
  type Case = [string, (t: ReturnType<typeof setup>) => void, bigint?];
  const cases: Case[] = [
    ["a descriptor loop (0 -> 1 -> 0)", (t) => { header(t, 0, 0); t.blk.desc(DESC, 0, HDR, 16, F.NEXT, 1); t.blk.desc(DESC, 1, DATA, 512, F.NEXT | F.WRITE, 0); t.blk.offer(0, 0); }],
    ["a descriptor linked to itself", (t) => { t.blk.desc(DESC, 0, HDR, 16, F.NEXT, 0); t.blk.offer(0, 0); }],
    ["a loop inside an indirect table", (t) => { t.blk.desc(TABLE, 0, HDR, 16, F.NEXT, 1); t.blk.desc(TABLE, 1, HDR, 16, F.NEXT, 0); t.blk.desc(DESC, 0, TABLE, 32, F.INDIRECT); t.blk.offer(0, 0); }, INDIRECT_DESC],
    ["an indirect table of 9 buffers on a queue of 8: a chain longer than the queue (2.7.5.3.1)", (t) => { for (let i = 0; i < 9; i++) t.blk.desc(TABLE, i, HDR, 16, i < 8 ? F.NEXT : 0, i + 1); t.blk.desc(DESC, 0, TABLE, 9 * 16, F.INDIRECT); t.blk.offer(0, 0); }, INDIRECT_DESC],
    ["an indirect descriptor without INDIRECT_DESC", (t) => { t.blk.desc(DESC, 0, TABLE, 48, F.INDIRECT); t.blk.offer(0, 0); }],
    ["INDIRECT together with NEXT", (t) => { t.blk.desc(DESC, 0, TABLE, 48, F.INDIRECT | F.NEXT, 1); t.blk.offer(0, 0); }, INDIRECT_DESC],
    ["an indirect table inside an indirect table", (t) => { t.blk.desc(TABLE, 0, TABLE, 16, F.INDIRECT); t.blk.desc(DESC, 0, TABLE, 16, F.INDIRECT); t.blk.offer(0, 0); }, INDIRECT_DESC],
    ["a buffer running past the end of RAM", (t) => { t.blk.desc(DESC, 0, (1 << 20) - 8, 16, 0); t.blk.offer(0, 0); }],
    ["a buffer above 4 GiB", (t) => { t.blk.desc(DESC, 0, 2 ** 32 + HDR, 16, 0); t.blk.offer(0, 0); }],
    ["a next index beyond the queue", (t) => { t.blk.desc(DESC, 0, HDR, 16, F.NEXT, 8); t.blk.offer(0, 0); }],
    ["a head index beyond the queue", (t) => { t.blk.offer(0, 9); }],
    ["avail idx moved by more than the queue size", (t) => { t.v.setUint16(AVAIL + 2, 9, true); }],
    ["a header that is device-writable", (t) => { t.blk.desc(DESC, 0, HDR, 16, F.NEXT | F.WRITE, 1); t.blk.desc(DESC, 1, STATUS_BYTE, 1, F.WRITE); t.blk.offer(0, 0); }],
    ["a header shorter than 16 bytes", (t) => { t.blk.desc(DESC, 0, HDR, 8, F.NEXT, 1); t.blk.desc(DESC, 1, STATUS_BYTE, 1, F.WRITE); t.blk.offer(0, 0); }],
    ["no device-writable status byte", (t) => { header(t, 4, 0); t.blk.desc(DESC, 0, HDR, 16, F.NEXT, 1); t.blk.desc(DESC, 1, STATUS_BYTE, 1, 0); t.blk.offer(0, 0); }],
    ["a zero-length status descriptor", (t) => { header(t, 4, 0); t.blk.desc(DESC, 0, HDR, 16, F.NEXT, 1); t.blk.desc(DESC, 1, STATUS_BYTE, 0, F.WRITE); t.blk.offer(0, 0); }],
    ["a device-readable buffer after a device-writable one", (t) => { header(t, 1, 0); t.blk.desc(DESC, 0, HDR, 16, F.NEXT, 1); t.blk.desc(DESC, 1, STATUS_BYTE, 1, F.NEXT | F.WRITE, 2); t.blk.desc(DESC, 2, DATA, 512, 0); t.blk.offer(0, 0); }],
  ];
  for (const [what, act, extra] of cases) {
    it(what, () => {
      const t = ready(VERSION_1 | FLUSH | (extra ?? 0n));
      act(t);
      t.blk.notify(0);
      expect(needsReset(t)).toBe(true);
      expect(t.blk.read(R.INTERRUPT_STATUS) & 2).toBe(2);
      expect(t.blk.read(R.CONFIG_GENERATION)).toBe(1); // QEMU's virtio_notify_config also moves it
      expect(t.lines.get(12)).toBe(true);
      expect(t.disk.log).toEqual([]);
      // The device stays stopped until reset; a reset and a clean setup work again.
      t.blk.notify(0);
      expect(t.blk.usedIdx(0)).toBe(0);
      t.blk.write(R.INTERRUPT_ACK, 2);
      expect(t.lines.get(12)).toBe(false);
      expect(t.blk.negotiate(VERSION_1 | FLUSH)).toBe(true);
      expect(needsReset(t)).toBe(false);
      t.blk.setupQueue(0, { size: 8, desc: DESC, avail: AVAIL, used: USED });
      t.blk.driverOk();
      request(t, 4, 0, 0, true);
      expect(t.blk.usedIdx(0)).toBe(1);
      expect(t.disk.log).toEqual(["flush"]);
    });
  }
});

describe("notification suppression (2.7.7, 2.7.10)", () => {
  it("without EVENT_IDX: VIRTQ_AVAIL_F_NO_INTERRUPT suppresses the interrupt; InterruptACK lowers the line", () => {
    const t = ready(VERSION_1 | FLUSH);
    t.blk.setAvailFlags(0, 1);
    request(t, 4, 0, 0, true);
    expect(t.blk.usedIdx(0)).toBe(1);
    expect(t.blk.read(R.INTERRUPT_STATUS)).toBe(0);
    expect(t.lines.get(12) ?? false).toBe(false);
    t.blk.setAvailFlags(0, 0);
    request(t, 4, 0, 0, true);
    expect(t.blk.read(R.INTERRUPT_STATUS)).toBe(1);
    expect(t.lines.get(12)).toBe(true);
    t.blk.write(R.INTERRUPT_ACK, 1);
    expect(t.blk.read(R.INTERRUPT_STATUS)).toBe(0);
    expect(t.lines.get(12)).toBe(false);
    expect(t.blk.usedFlags(0)).toBe(0); // the device never asks for NO_NOTIFY: it serves each notification at once
  });

  it("with EVENT_IDX: an interrupt only when the used idx passes used_event", () => {
    const t = ready(VERSION_1 | FLUSH | EVENT_IDX);
    t.blk.setAvailFlags(0, 1); // 2.7.7.2: with EVENT_IDX the device ignores this flag
    t.blk.setUsedEvent(0, 2);
    const irqAfter: number[] = [];
    for (let k = 0; k < 4; k++) {
      request(t, 4, 0, 0, true);
      irqAfter.push(t.blk.read(R.INTERRUPT_STATUS));
      t.blk.write(R.INTERRUPT_ACK, 1);
    }
    // Hand calculation, vring_need_event(event=2, new, old) = (u16)(new - 2 - 1) < (u16)(new - old):
    // 0->1: 0xfffe < 1 no; 1->2: 0xffff < 1 no; 2->3: 0 < 1 yes; 3->4: 1 < 1 no.
    expect(irqAfter).toEqual([0, 0, 1, 0]);
    // A batch of three (used idx 4 -> 7) with used_event 5: (7 - 5 - 1) = 1 < 3: one interrupt.
    t.blk.setUsedEvent(0, 5);
    for (let i = 0; i < 3; i++) t.blk.desc(DESC, 0, HDR, 16, F.NEXT, 2);
    header(t, 4, 0);
    t.blk.offer(0, 0, 0, 0);
    t.blk.notify(0);
    expect(t.blk.usedIdx(0)).toBe(7);
    expect(t.blk.read(R.INTERRUPT_STATUS)).toBe(1);
    // 2.7.10: avail_event tells the driver to notify once it adds the entry at avail idx 7.
    expect(t.blk.availEvent(0)).toBe(7);
  });
});

describe("virtio-console (5.3)", () => {
  function consoleReady() {
    const t = setup();
    const con = new TestDriver(t.m, 6);
    expect(con.negotiate(VERSION_1)).toBe(true);
    con.setupQueue(0, { size: 4, desc: 0x40000, avail: 0x41000, used: 0x42000 });
    con.setupQueue(1, { size: 4, desc: 0x43000, avail: 0x44000, used: 0x45000 });
    con.driverOk();
    return { ...t, con };
  }

  it("bytes on transmitq go where COM1 output goes", () => {
    const t = consoleReady();
    const out: number[] = [];
    t.m.onSerial = (b) => out.push(b);
    t.ram.set(Buffer.from("hi\n"), 0x50000);
    t.con.desc(0x43000, 0, 0x50000, 3, 0);
    t.con.offer(1, 0);
    t.con.notify(1);
    expect(Buffer.from(out).toString()).toBe("hi\n");
    expect(t.con.usedElem(1, 0)).toEqual({ id: 0, len: 0 });
    expect(t.con.read(R.INTERRUPT_STATUS)).toBe(1);
    expect(t.lines.get(11)).toBe(true); // transport 6: IRQ 5 + 6
  });

  it("queued input fills receive buffers in order, as many bytes as each holds", () => {
    const t = consoleReady();
    t.m.virtioConsole!.receive(Buffer.from("abcdef"));
    t.con.desc(0x40000, 0, 0x51000, 4, F.WRITE);
    t.con.desc(0x40000, 1, 0x52000, 4, F.WRITE);
    t.con.offer(0, 0, 1);
    t.con.notify(0);
    expect(t.con.usedElem(0, 0)).toEqual({ id: 0, len: 4 });
    expect(t.con.usedElem(0, 1)).toEqual({ id: 1, len: 2 });
    expect(Buffer.from(t.ram.subarray(0x51000, 0x51004)).toString()).toBe("abcd");
    expect(Buffer.from(t.ram.subarray(0x52000, 0x52002)).toString()).toBe("ef");
    // A buffer posted with no input waiting stays available until input comes.
    t.con.desc(0x40000, 2, 0x53000, 4, F.WRITE);
    t.con.offer(0, 2);
    t.con.notify(0);
    expect(t.con.usedIdx(0)).toBe(2);
    t.m.virtioConsole!.receive(Buffer.from("g"));
    expect(t.con.usedIdx(0)).toBe(3);
    expect(t.ram[0x53000]).toBe(0x67);
  });
});
