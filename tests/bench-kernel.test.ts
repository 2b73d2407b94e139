// guests/bench-kernel.img (the "kernel" workload of npm run bench): its printed
// instruction count is the hand count in its source, and the instructions it retires
// between its two RDTSCs are that count minus 6, checked with the instructions-only
// cost profile, where the TSC counts retired instructions. tests/guests-vmxlab.test.ts
// runs the same guest on QEMU with -icount shift=0 (RDTSC = retired instructions) and
// requires identical output, so QEMU confirms the same numbers. No timing is asserted.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import { Machine } from "../dist/index.js";

describe("bench-kernel.img instruction count", () => {
  it("prints the hand count and retires exactly that many instructions in its timed region", () => {
    const m = new Machine({ ramBytes: 32 << 20, profile: "tests/fixtures/instructions-profile.json" });
    const out: number[] = [];
    m.onSerial = (b) => out.push(b);
    m.loadImage(new Uint8Array(fs.readFileSync("guests/bench-kernel.img")), { name: "bench-kernel.img" });
    const r = m.run({ maxInstructions: 100_000_000 });
    expect(r.reason).toBe("debug-exit");
    expect(r.exitCode).toBe(0);
    const text = Buffer.from(out).toString("latin1");
    // By hand (guests/bench-kernel.asm, top comment): per page 12 user + 6 SYS_ACCUM +
    // 18 #PF handler = 36; per round 2 + 36*64 + 5 + (6 + 9*64 + 4) SYS_UNMAP = 2,897;
    // N = 5 + 13 + 2 + 10,000 * 2,897 + 2 + 9 + 6 = 28,970,037.
    const n = 5 + 13 + 2 + 10_000 * (2 + 36 * 64 + 5 + 6 + 9 * 64 + 4) + 2 + 9 + 6;
    expect(n).toBe(28_970_037);
    expect(text).toContain(`instructions=${n}\n`);
    // The second RDTSC is the 6th instruction from the end of the region, the first
    // RDTSC the 1st: the difference counts the instructions from the first up to, not
    // including, the second.
    expect(text).toContain(`rdtsc-delta=${n - 6}\n`);
    // One demand fault per window page per round, each a user-mode read of a
    // not-present page.
    expect(text).toContain(`faults=${10_000 * 64}\n`);
    // The markers frame the region: 0x02 before anything else is printed, 0x03 next.
    expect(text.startsWith("\x02\x03instructions=")).toBe(true);
  });
});
