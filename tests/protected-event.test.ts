// core/protectedEvent.ts delivers the common protected-mode events and IRETs in portable
// code, and declines the rest to the general path in cpu/. It must change nothing but
// speed. The oracle is the general path itself (cpu/interrupts.ts deliverOnce, cpu/system.ts
// iret), which tests/guests-vmxlab.test.ts checks against QEMU on the same guests: every
// guest that takes events runs both ways, on both engines, and the whole flat state
// (registers, segment caches, counters, TLB models, decode cache, RAM) is compared byte for
// byte at every checkpoint, with the serial output and the cycles; and the first steps of
// each run are compared after every instruction (vmm/lockstep.ts), which sees a flag or
// register that differs only inside a handler.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { Machine } from "../dist/index.js";
import { DiskImage } from "../dist/vmm/diskImage.js";
import { APPEND, DISK_GUESTS, INSTRUCTIONS_PROFILE, TSC_GUESTS, makeTestDisk } from "./fixtures/guest-setup.js";
import { expectTwinWays } from "./fixtures/twin-runs.js";

const GUESTS = path.resolve(__dirname, "../guests");
const ENGINES = ["ts", "wasm"] as const;

/**
 * Guests whose events cover the paths: system calls and page faults from ring 3 with the
 * TSS stack switch (bench-kernel, ring3, demand, pfbench), same-ring exceptions with and
 * without error codes (exceptions), gates of every kind, conforming code and task gates
 * (gates, tasks), timer and APIC interrupts into a kernel (timer, apic, multitask), NMIs,
 * debug traps, virtual-8086 mode, and protected-mode boot images.
 */
const CASES: readonly (readonly [string, number])[] = [
  ["bench-kernel.img", 2_000_000], ["ring3.elf", 0], ["ring3-boot.img", 0], ["demand.elf", 0], ["pfbench.elf", 3_000_000],
  ["exceptions.elf", 0], ["exceptions-boot.img", 0], ["gates.elf", 0], ["tasks.elf", 0], ["tasks16.elf", 0],
  ["timer.elf", 0], ["apic.elf", 0], ["multitask.elf", 3_000_000], ["nmi.elf", 0], ["debug.elf", 0], ["v86.elf", 0],
  ["paging.elf", 0], ["pmboot.img", 0],
];
/** Steps between two comparisons of the whole state. */
const CHECKPOINT = 200_000;
/** Steps compared one by one at the start of each run. */
const STEPPED = 30_000;

function machine(engine: "ts" | "wasm", guest: string, fast: boolean) {
  const name = guest.replace(/\.(elf|img)$/, "");
  const m = new Machine({
    engine, ramBytes: 32 << 20, profile: TSC_GUESTS.has(name) ? INSTRUCTIONS_PROFILE : undefined,
    disk: DISK_GUESTS.has(name) ? new DiskImage(makeTestDisk()) : undefined,
  });
  m.cpu.fastEvents = fast;
  const serial: number[] = [];
  m.onSerial = (b: number) => serial.push(b);
  m.loadImage(new Uint8Array(fs.readFileSync(path.join(GUESTS, guest))), { name: guest, append: APPEND[name] ?? "" });
  // How often the general path read a descriptor: the fast path reads none of its own.
  let generalReads = 0;
  const cpu = m.cpu as unknown as { readDescriptor: (...a: unknown[]) => void };
  const read = cpu.readDescriptor.bind(cpu);
  cpu.readDescriptor = (...a: unknown[]) => { generalReads++; read(...a); };
  return { m, serial, reads: () => generalReads };
}

describe.each(ENGINES)("protected-mode events in portable code, engine %s", (engine) => {
  it.each(CASES.map(([g, n]) => [g, n] as const))("%s: the same state at every checkpoint as the general path", (guest, steps) => {
    const [fast] = expectTwinWays((portable) => machine(engine, guest, portable), steps, CHECKPOINT, STEPPED, ["portable events", "general path"]);
    expect(fast.serial.length).toBeGreaterThan(0);
  });

  it("takes the portable path where it applies: bench-kernel's system calls and page faults read no descriptor in cpu/", () => {
    const fast = machine(engine, "bench-kernel.img", true), general = machine(engine, "bench-kernel.img", false);
    fast.m.run({ maxInstructions: 1_000_000 });
    general.m.run({ maxInstructions: 1_000_000 });
    // Per page of the user loop: an INT 0x80 and a #PF in (two descriptors each: CS, SS),
    // two IRETDs out (CS, SS): 8 reads on the general path, by hand; the boot's own loads
    // (the far jump, segment register loads) are the same few on both.
    expect(general.reads()).toBeGreaterThan(100_000);
    expect(fast.reads()).toBeLessThan(100);
  });
});
