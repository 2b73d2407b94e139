// The ATA PIO disk: register protocol (ATA/ATAPI-6), what it stores and when it says so.
// The CLI's answers to bad images, and SIGKILL durability, are in tests/disk-cli.test.ts.
import { describe, expect, it } from "vitest";
import { AtaChannel } from "../src/dev/ataChannel.js";
import { memoryStore } from "./fixtures/memoryStore.js";


function disk(sectors = 100) {
  const m = memoryStore(sectors);
  const irqs: boolean[] = [];
  const d = new AtaChannel(m.store, null, (level) => irqs.push(level));
  const lba = (n: number, count: number) => {
    d.write(0x1f2, 1, count); d.write(0x1f3, 1, n & 0xff); d.write(0x1f4, 1, (n >> 8) & 0xff);
    d.write(0x1f5, 1, (n >> 16) & 0xff); d.write(0x1f6, 1, 0xe0 | ((n >> 24) & 0xf));
  };
  return { d, lba, irqs, ...m };
}

describe("ATA PIO disk", () => {
  it("IDENTIFY reports a fixed LBA disk of the store's size (ATA-6 words 0, 49, 60-61, 83)", () => {
    const { d } = disk(5000);
    d.write(0x1f6, 1, 0xe0);
    d.write(0x1f7, 1, 0xec);
    expect(d.read(0x1f7, 1) & 0x89).toBe(0x08); // DRQ, not BSY, not ERR
    const w: number[] = [];
    for (let i = 0; i < 256; i++) w.push(d.read(0x1f0, 2));
    expect(w[0] & 0x8000).toBe(0);
    expect(w[49] & (1 << 9)).toBe(1 << 9);
    expect(w[60] | (w[61] << 16)).toBe(5000);
    expect(w[83] & (1 << 12)).toBe(1 << 12);
    expect(d.read(0x1f7, 1) & 0x08).toBe(0); // all words read: DRQ clear
  });

  it("stores each sector before it reports it done, and FLUSH CACHE waits for the store's flush", () => {
    const { d, lba, data, log } = disk();
    lba(7, 2);
    d.write(0x1f7, 1, 0x30);
    for (let sector = 0; sector < 2; sector++) {
      expect(d.read(0x1f7, 1) & 0x08).toBe(0x08);
      for (let i = 0; i < 128; i++) d.write(0x1f0, 4, 0x11110000 + sector * 256 + i); // 32-bit PIO
      expect(log.at(-1)).toBe(`write ${7 + sector}`); // stored at the last word, before Status changes
    }
    expect(d.read(0x1f7, 1) & 0x89).toBe(0);
    expect(Buffer.from(data.subarray(7 * 512, 7 * 512 + 4)).readUInt32LE(0)).toBe(0x11110000);
    expect(Buffer.from(data.subarray(8 * 512 + 508, 8 * 512 + 512)).readUInt32LE(0)).toBe(0x11110000 + 256 + 127);
    d.write(0x1f7, 1, 0xe7);
    expect(log.at(-1)).toBe("flush");
    expect(d.read(0x1f7, 1) & 0x81).toBe(0);
  });

  it("answers a sector past the end with ERR and IDNF, CHS addressing and unknown commands with ABRT", () => {
    const { d, lba, log } = disk(100);
    lba(99, 2); // sectors 99 and 100: the second does not exist
    d.write(0x1f7, 1, 0x20);
    expect(d.read(0x1f7, 1) & 0x01).toBe(1);
    expect(d.read(0x1f1, 1)).toBe(0x10);
    expect(log).toEqual([]); // nothing was read
    d.write(0x1f6, 1, 0xa0); // LBA bit clear: CHS
    d.write(0x1f7, 1, 0x20);
    expect(d.read(0x1f1, 1)).toBe(0x04);
    d.write(0x1f7, 1, 0xff);
    expect(d.read(0x1f1, 1)).toBe(0x04);
  });

  it("raises IRQ 14 per DRQ block unless nIEN is set; reading Status lowers it", () => {
    const { d, lba, irqs } = disk();
    lba(0, 1);
    d.write(0x1f7, 1, 0x20);
    expect(irqs.at(-1)).toBe(true);
    d.read(0x1f7, 1);
    expect(irqs.at(-1)).toBe(false);
    d.write(0x3f6, 1, 0x02);
    const before = irqs.length;
    for (let i = 0; i < 256; i++) d.read(0x1f0, 2);
    lba(0, 1);
    d.write(0x1f7, 1, 0x20);
    expect(irqs.slice(before).includes(true)).toBe(false);
  });
});


// Two devices on one channel (ATA/ATAPI-6: both latch Command Block register writes; the DEV
// bit of the Device register, 0x10, selects which one answers; only the selected device drives
// INTRQ). Expected values by hand: each store's own sectors, sizes and serial numbers.
describe("ATA channel with a master and a slave", () => {
  function channel(slaveOnly = false) {
    const a = memoryStore(100), b = memoryStore(300);
    a.data.fill(0xaa); b.data.fill(0xbb);
    const irqs: boolean[] = [];
    const d = new AtaChannel(slaveOnly ? null : a.store, b.store, (level) => irqs.push(level));
    const select = (dev: 0 | 1, lbaBits = 0) => d.write(0x1f6, 1, 0xe0 | (dev << 4) | lbaBits);
    const read1 = (dev: 0 | 1, n: number) => {
      d.write(0x1f2, 1, 1); d.write(0x1f3, 1, n); d.write(0x1f4, 1, 0); d.write(0x1f5, 1, 0); select(dev);
      d.write(0x1f7, 1, 0x20);
      const words: number[] = [];
      for (let i = 0; i < 256; i++) words.push(d.read(0x1f0, 2));
      return words;
    };
    const identify = (dev: 0 | 1) => {
      select(dev); d.write(0x1f7, 1, 0xec);
      const w: number[] = [];
      for (let i = 0; i < 256; i++) w.push(d.read(0x1f0, 2));
      return w;
    };
    return { d, a, b, irqs, select, read1, identify };
  }

  it("the DEV bit chooses whose sectors, size and serial number answer", () => {
    const { a, b, read1, identify } = channel();
    expect(read1(1, 5)[0]).toBe(0xbbbb);
    expect(read1(0, 5)[0]).toBe(0xaaaa);
    expect(a.log).toEqual(["read 5"]);
    expect(b.log).toEqual(["read 5"]);
    const w0 = identify(0), w1 = identify(1);
    expect(w0[60] | (w0[61] << 16)).toBe(100);
    expect(w1[60] | (w1[61] << 16)).toBe(300);
    // Serial number, words 10-19, two characters a word, high byte first: "...01" and "...02".
    expect(w0[14]).toBe(("0".charCodeAt(0) << 8) | "1".charCodeAt(0));
    expect(w1[14]).toBe(("0".charCodeAt(0) << 8) | "2".charCodeAt(0));
  });

  it("a write to the slave lands in the slave's image only", () => {
    const { d, a, b, select } = channel();
    d.write(0x1f2, 1, 1); d.write(0x1f3, 1, 9); d.write(0x1f4, 1, 0); d.write(0x1f5, 1, 0); select(1);
    d.write(0x1f7, 1, 0x30);
    for (let i = 0; i < 256; i++) d.write(0x1f0, 2, 0x1234);
    expect(b.log).toEqual(["write 9"]);
    expect(a.log).toEqual([]);
    expect(b.data[9 * 512]).toBe(0x34);
    expect(a.data[9 * 512]).toBe(0xaa);
  });

  it("with no master, selecting device 0 reads 0 everywhere and its commands do nothing", () => {
    const { d, b, select } = channel(true);
    select(0);
    expect(d.read(0x1f7, 1)).toBe(0);
    d.write(0x1f2, 1, 1); d.write(0x1f3, 1, 0); d.write(0x1f7, 1, 0x20);
    expect(d.read(0x1f0, 2)).toBe(0);
    expect(b.log).toEqual([]);
    select(1);
    expect(d.read(0x1f7, 1) & 0x40).toBe(0x40); // the slave is there: DRDY
  });

  it("counts each register access for the device selected at the time (the report's per-disk figures)", () => {
    const { d, select } = channel();
    select(1); // 1 access, made with device 0 selected: the select itself
    d.read(0x1f7, 1); d.read(0x1f7, 1); // 2 with device 1 selected
    select(0); // 1 more for device 1
    d.read(0x1f7, 1); // 1 for device 0
    expect(d.byDrive.accesses(0)).toBe(2);
    expect(d.byDrive.accesses(1)).toBe(3);
    expect(d.accesses).toBe(5);
  });

  it("IRQ 14 follows the selected device's INTRQ", () => {
    const { d, irqs, select } = channel();
    select(1);
    d.write(0x1f2, 1, 1); d.write(0x1f3, 1, 0); d.write(0x1f7, 1, 0x20); // the slave has a sector ready
    expect(irqs.at(-1)).toBe(true);
    select(0); // the master asserts nothing: the line falls
    expect(irqs.at(-1)).toBe(false);
    select(1); // the slave still asserts INTRQ (its Status was not read)
    expect(irqs.at(-1)).toBe(true);
    d.read(0x3f6, 1); // Alternate Status does not clear it
    expect(irqs.at(-1)).toBe(true);
    d.read(0x1f7, 1);
    expect(irqs.at(-1)).toBe(false);
  });
});
