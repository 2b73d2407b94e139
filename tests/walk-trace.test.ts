// Page walks as a teaching tool: every reference a walk makes (SDM 3A 4.3: the PDE at
// CR3 + 4 * lin[31:22], then the PTE at PDE.frame + 4 * lin[21:12]) reaches the observer,
// and `vmxlab trace --walks` prints them. Expected addresses are hand calculations.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { Machine } from "../src/vmm/machine.js";
import { Reg, Cr0, Cr4 } from "../src/state/layout.js";
import { FAULT } from "../src/core/fault.js";

const PD = 0x10000, PT = 0x11000;

interface Walk { lin: number; refs: number[]; phys: number; error: number }

function setup() {
  const m = new Machine({ ramBytes: 8 << 20 });
  const cpu = m.cpu, v = cpu.view;
  v.setUint32(PD + 0 * 4, PT | 0x3, true);            // 0-4 MiB through a page table
  v.setUint32(PD + 1 * 4, 0x00400000 | 0x83, true);   // 4-8 MiB: one 4 MiB page (PS)
  v.setUint32(PT + 0x300 * 4, 0x00205000 | 0x3, true); // 0x300000 -> 0x205000
  cpu.s[Reg.CR3] = PD;
  cpu.s[Reg.CR4] |= Cr4.PSE;
  cpu.s[Reg.CR0] |= Cr0.PG | Cr0.PE;
  cpu.syncMode();
  cpu.flushTlb(true);
  const walks: Walk[] = [];
  cpu.walkObserver = {
    pageWalk(lin, _access, _user, refs, n, phys, error) {
      walks.push({ lin: lin >>> 0, refs: Array.from(refs).slice(0, n * 3), phys: phys >>> 0, error });
    },
  };
  return { cpu, walks };
}

describe("page-walk observer", () => {
  it("reports the PDE and PTE a 4 KiB translation reads, then nothing on a TLB hit", () => {
    const { cpu, walks } = setup();
    cpu.rd32(0x300123);
    cpu.rd32(0x300456);
    expect(walks).toEqual([{
      lin: 0x300123,
      refs: [2, PD + 0 * 4, PT | 0x3, 1, PT + 0x300 * 4, 0x205003],
      phys: 0x205123, error: -1,
    }]);
  });

  it("reports one reference for a 4 MiB page", () => {
    const { cpu, walks } = setup();
    cpu.rd32(0x401234);
    expect(walks).toEqual([{ lin: 0x401234, refs: [2, PD + 4, 0x400083], phys: 0x401234, error: -1 }]);
  });

  it("reports the failing walk of a not-present page with the #PF error code", () => {
    const { cpu, walks } = setup();
    expect(() => cpu.wr32(0x301000, 1)).toThrow();
    try { cpu.wr32(0x301000, 1); } catch (e) { expect(e).toBe(FAULT); }
    // PTE 0x301 is zero: not present, a supervisor write -> error code 2 (SDM 3A 4.7).
    // Entries are reported as read; this first walk finds the PDE with A still clear.
    expect(walks[0]).toEqual({ lin: 0x301000, refs: [2, PD, PT | 0x3, 1, PT + 0x301 * 4, 0], phys: 0, error: 2 });
  });
});

describe("vmxlab trace --walks", () => {
  it("prints one JSON line per walk and a stop line that counts them", () => {
    const r = spawnSync(process.execPath, [path.resolve("dist/cli/main.js"), "trace", "guests/paging.elf", "--walks"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const stop = lines.pop();
    expect(stop.event).toBe("stop");
    expect(lines.length).toBe(stop.pageWalks);
    expect(lines.length).toBeGreaterThan(0);
    for (const w of lines) {
      expect(w.event).toBe("walk");
      // The first reference is always the PDE at CR3 + 4 * lin[31:22].
      expect(parseInt(w.references[0].address, 16)).toBe((parseInt(w.cr3, 16) & ~0xfff) + (parseInt(w.linear, 16) >>> 22) * 4);
    }
    expect(lines.some((w) => w.fault === "#PF")).toBe(true);
  });
});
