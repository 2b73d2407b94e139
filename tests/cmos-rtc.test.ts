// The RTC on virtual time (MC146818A datasheet: time registers 0-9 in BCD unless register
// B's DM bit, 24- or 12-hour, UIP in register A for the 244 us before each update; IBM
// PC/AT CMOS map for the memory bytes). Expected values by hand: 2000-01-01 was a
// Saturday (weekday 7, Sunday = 1); 3725.5 s after midnight is 01:02:05.
import { describe, expect, it } from "vitest";
import { CmosRtc } from "../src/dev/cmosRtc.js";
import { DeviceUnsupported } from "../src/dev/portBus.js";
import { Machine } from "../src/vmm/machine.js";

function rtc(ramBytes = 32 << 20, start?: number) {
  const t = { now: 0 };
  const r = new CmosRtc(() => t.now, ramBytes, start);
  const get = (i: number) => { r.write(0x70, 1, i); return r.read(0x71); };
  const set = (i: number, v: number) => { r.write(0x70, 1, i); r.write(0x71, 1, v); };
  return { r, t, get, set };
}
const time = (get: (i: number) => number) => [0x32, 0x09, 0x08, 0x07, 0x06, 0x04, 0x02, 0x00].map(get);

describe("CMOS RTC", () => {
  it("starts at 2000-01-01 00:00:00 in BCD, 24-hour, and runs on virtual seconds", () => {
    const { t, get } = rtc();
    // century, year, month, day, weekday, hours, minutes, seconds
    expect(time(get)).toEqual([0x20, 0x00, 0x01, 0x01, 0x07, 0x00, 0x00, 0x00]);
    t.now = 3725.5;
    expect(time(get)).toEqual([0x20, 0x00, 0x01, 0x01, 0x07, 0x01, 0x02, 0x05]);
    t.now = 86400 * 31 + 59; // 2000-02-01 00:00:59, a Tuesday
    expect(time(get)).toEqual([0x20, 0x00, 0x02, 0x01, 0x03, 0x00, 0x00, 0x59]);
  });

  it("gives binary values with register B's DM bit and 12-hour values with bit 1 clear", () => {
    const { t, get, set } = rtc();
    t.now = 13 * 3600 + 45 * 60; // 13:45
    set(0x0b, 0x06); // binary, 24-hour
    expect([get(0x04), get(0x02)]).toEqual([13, 45]);
    set(0x0b, 0x00); // BCD, 12-hour: 1 PM is 0x01 with bit 7
    expect(get(0x04)).toBe(0x81);
  });

  it("sets UIP only in the last 244 us before a second ends", () => {
    const { t, get } = rtc();
    t.now = 10.5;
    expect(get(0x0a) & 0x80).toBe(0);
    t.now = 10.9999; // 100 us before 11 s
    expect(get(0x0a) & 0x80).toBe(0x80);
    expect(get(0x0a) & 0x7f).toBe(0x26);
  });

  it("keeps running from a time the guest sets", () => {
    const { t, get, set } = rtc();
    t.now = 100;
    set(0x04, 0x23); set(0x02, 0x59); set(0x00, 0x30); // 23:59:30 (BCD)
    expect(time(get).slice(5)).toEqual([0x23, 0x59, 0x30]);
    t.now = 131; // 31 s later: 00:00:01 the next day
    expect(time(get)).toEqual([0x20, 0x00, 0x01, 0x02, 0x01, 0x00, 0x00, 0x01]);
  });

  it("holds the memory sizes of the PC/AT map (and QEMU's above 16 MiB)", () => {
    const word = (get: (i: number) => number, i: number) => get(i) | (get(i + 1) << 8);
    const a = rtc(32 << 20).get, b = rtc(4 << 20).get;
    expect([word(a, 0x15), word(a, 0x17), word(a, 0x30), word(a, 0x34)]).toEqual([640, 31744, 31744, 256]);
    expect([word(b, 0x15), word(b, 0x17), word(b, 0x34)]).toEqual([640, 3072, 0]);
  });

  it("refuses the RTC's interrupts, which are not modelled, with DeviceUnsupported", () => {
    const { set } = rtc();
    expect(() => set(0x0b, 0x42)).toThrow(DeviceUnsupported); // PIE
    expect(() => set(0x0b, 0x12)).toThrow(DeviceUnsupported); // UIE
  });

  it("reads the same on a machine whatever the host's clock: virtual time only", () => {
    const read = () => {
      const m = new Machine({ ramBytes: 4 << 20, engine: "ts", rtcStart: Date.UTC(2026, 11, 8, 12, 0, 0) / 1000 });
      // mov al,4; out 0x70,al; in al,0x71; mov bl,al; mov al,7; out 0x70,al; in al,0x71; hlt
      m.loadImage(Uint8Array.from([0xb0, 4, 0xe6, 0x70, 0xe4, 0x71, 0x88, 0xc3, 0xb0, 7, 0xe6, 0x70, 0xe4, 0x71, 0xf4]), { format: "flat" });
      m.run({ maxInstructions: 100 });
      return [m.cpu.s[3] & 0xff, m.cpu.s[0] & 0xff]; // BL = hours, AL = day of month
    };
    expect(read()).toEqual([0x12, 0x08]);
    expect(read()).toEqual(read());
  });
});

describe("vmxlab run --rtc-start", () => {
  it("sets the clock the guest reads (hours, BCD, as the exit status); a bad date is status 2", async () => {
    const { spawnSync } = await import("node:child_process");
    const fs = await import("node:fs"), os = await import("node:os"), path = await import("node:path");
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "vmxlab-rtc-")), "hours.bin");
    // mov al,4; out 0x70,al; in al,0x71; out 0xf4,al; hlt
    fs.writeFileSync(f, Uint8Array.from([0xb0, 4, 0xe6, 0x70, 0xe4, 0x71, 0xe6, 0xf4, 0xf4]));
    const run = (...a: string[]) => spawnSync(process.execPath, ["dist/cli/main.js", "run", f, "--format", "flat", ...a], { encoding: "utf8" });
    expect(run("--rtc-start", "2026-12-08T12:34:56").status).toBe(0x12);
    expect(run().status).toBe(0x00);
    const bad = run("--rtc-start", "tomorrow");
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('vmxlab: --rtc-start needs a date and time such as 2026-12-08T12:00:00, not "tomorrow"');
  });
});
