// The run report's counters: deterministic across runs, and consistent with facts known
// independently of the code that counts them.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { Machine } from "../dist/index.js";
import { collectReport } from "../dist/vmm/report.js";

function reportOf(image: string) {
  const m = new Machine({ ramBytes: 32 << 20 });
  m.loadImage(new Uint8Array(fs.readFileSync(image)), { name: path.basename(image) });
  const r = m.run({ maxInstructions: 10_000_000 });
  expect(r.reason).toBe("debug-exit");
  return collectReport(m);
}

describe("run report", () => {
  it("is identical on two runs of the same guest (invariant 5: deterministic)", () => {
    expect(reportOf("guests/paging.elf")).toEqual(reportOf("guests/paging.elf"));
  });

  it("counts the page faults the paging guest provokes, and walks = TLB fills + faulting walks", () => {
    const r = reportOf("guests/paging.elf");
    // guests/paging.asm checks six #PF cases: not-present read and write, a WP=1 supervisor
    // write, a user read of a supervisor page, a user write to a read-only page and a user
    // read of a not-present page. Each one is raised by a page walk.
    expect(r.eventsByVector["14"]).toBe(6);
    expect(r.pageWalks.walks).toBe(r.tlb.instruction.misses + r.tlb.data.misses + 6);
    // A 4 KiB walk reads two entries, a 4 MiB one reads one: between walks and 2 x walks.
    expect(r.pageWalks.references).toBeGreaterThanOrEqual(r.pageWalks.walks);
    expect(r.pageWalks.references).toBeLessThanOrEqual(2 * r.pageWalks.walks);
    expect(r.schema).toBe("vmxlab.report/3");
    // Every delivery (the six #PF and the guest's other events) and the walks are priced.
    const line = (e: string) => r.cycles.byEvent.find((x: { event: string }) => x.event === e);
    expect(line("exception")?.count).toBe(Object.values(r.eventsByVector).reduce((a, b) => a + b, 0));
    expect(line("tlb.miss")?.count).toBe(r.pageWalks.walks);
    expect(line("walk.reference")?.count).toBe(r.pageWalks.references);
    expect(r.cycles.byEvent.reduce((t: number, x: { cycles: number }) => t + x.cycles, 0)).toBe(r.cycles.total);
  });

  it("counts the exceptions guest's thirteen exceptions by vector", () => {
    const r = reportOf("guests/exceptions.elf");
    // The guest provokes #DE #DB #BP #OF #BR #UD #NM #TS #NP #SS #GP #PF once each, and #DF
    // by making #GP undeliverable, which delivers #GP's attempt too (SDM 3A 6.15).
    for (const v of [0, 1, 3, 4, 5, 6, 7, 8, 10, 11, 12, 14]) expect(r.eventsByVector[String(v)], `vector ${v}`).toBeGreaterThanOrEqual(1);
  });

  it("is printed by run --report and included in --json", () => {
    const cli = path.resolve("dist/cli/main.js");
    const text = spawnSync(process.execPath, [cli, "run", "guests/paging.elf", "--report"], { encoding: "utf8" });
    expect(text.stderr).toMatch(/data TLB\s+64 entries, 4-way: [\d,]+ hits, [\d,]+ misses/);
    expect(text.stderr).toMatch(/#PF: 6/);
    const json = JSON.parse(spawnSync(process.execPath, [cli, "run", "guests/paging.elf", "--json"], { encoding: "utf8" }).stdout);
    expect(json.report.eventsByVector["14"]).toBe(6);
  });
});

describe("instruction counters agree with instructions retired", () => {
  // The loop counts a retirement per class at the top of each instruction and takes it
  // back on every path that does not retire (faults in fetch, decode, execution; complex
  // instructions; REP yielding mid-way); `retired` is counted separately. Guests with
  // every kind of fault, task switches, v86 and single-stepping exercise those paths.
  it.each(["exceptions", "paging", "demand", "tasks", "tasks16", "v86", "debug", "gates", "ring3", "pfbench"])("%s", (name) => {
    const r = reportOf(`guests/${name}.elf`);
    const byClass = Object.values(r.instructionsByClass).reduce((a, b) => a + b, 0);
    expect(byClass).toBe(r.instructions);
    // Every claimed port access is some device's, and each one is a priced io.access event.
    const byDevice = Object.values(r.ports.byDevice).reduce((a, b) => a + b, 0);
    expect(byDevice).toBe(r.ports.accesses - r.ports.unclaimed);
    expect(r.cycles.byEvent.find((e) => e.event === "io.access")?.count).toBe(r.ports.accesses);
    expect(r.cycles.byEvent.find((e) => e.event === "mmio.access")?.count).toBe(r.mmio.accesses);
  });
});
