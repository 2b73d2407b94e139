// Every shipped guest must print on vmxlab exactly what it prints on QEMU
// (qemu-system-i386, the reference emulator for whole guests) and exit with the same
// debug-exit status. QEMU runs in the same test on the same binary.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
// The compiled build (npm test runs tsc first): const enums are inlined there, which
// makes long guests several times faster than the test transformer's output.
import { Machine } from "../dist/index.js";
// @ts-ignore -- plain ESM JavaScript without type declarations
import { listGuests } from "../tools/build-guests.mjs";
// @ts-ignore -- plain ESM JavaScript without type declarations
import { available as qemuAvailable, guestOutput, runQemu } from "../tools/peers/qemu.mjs";
import { DiskImage } from "../dist/vmm/diskImage.js";
import { DISK_GUESTS, SERIAL_INPUT, TIMED_OUTPUT, makeTestDisk, maskNumbers, qemuDiskArgs } from "./fixtures/guest-setup.js";

interface Guest { name: string; outName: string; outPath: string }
const guests: Guest[] = listGuests();
const haveQemu: boolean = qemuAvailable();
if (!haveQemu) console.warn("vmxlab-vs-QEMU guest test skipped: qemu-system-i386 is not installed (CI installs it)");

/** Short command lines keep the compute guest quick; the rest take none. */
const APPEND: Record<string, string> = { compute: "iterations=3" };

/**
 * Guests that print RDTSC differences. QEMU runs them with -icount shift=0, where RDTSC
 * counts instructions, and vmxlab with a profile that prices each instruction at one
 * cycle and nothing else: both then print instruction counts, which must agree.
 */
const TSC_GUESTS = new Set(["pfbench"]);
const INSTRUCTIONS_PROFILE = "tests/fixtures/instructions-profile.json";

function runOnVmxlab(g: Guest, append: string): { serial: string; exitCode: number | null; reason: string } {
  const disk = DISK_GUESTS.has(g.name) ? new DiskImage(makeTestDisk()) : undefined;
  const m = new Machine({ ramBytes: 32 << 20, profile: TSC_GUESTS.has(g.name) ? INSTRUCTIONS_PROFILE : undefined, disk });
  const bytes: number[] = [];
  m.onSerial = (b) => bytes.push(b);
  m.loadImage(new Uint8Array(fs.readFileSync(g.outPath)), { name: g.outName, append });
  const input = SERIAL_INPUT[g.name];
  if (input !== undefined) m.uart.receive(Buffer.from(input, "latin1"));
  const r = m.run({ maxInstructions: 2_000_000_000 });
  return { serial: Buffer.from(bytes).toString("latin1"), exitCode: r.reason === "debug-exit" ? (r.exitCode ?? null) : null, reason: r.reason };
}

describe.skipIf(!haveQemu)("guests print the same on vmxlab and QEMU", () => {
  it.each(guests.map((g) => [g.name, g] as const))("%s", async (name, g) => {
    const append = APPEND[name] ?? "";
    const extraArgs = TSC_GUESTS.has(name) ? ["-icount", "shift=0"] : DISK_GUESTS.has(name) ? qemuDiskArgs(makeTestDisk()) : [];
    const qemu = await runQemu(g.outPath, { append: append || undefined, timeoutMs: 120_000, extraArgs, input: SERIAL_INPUT[name] });
    expect(qemu.timedOut).toBe(false);
    const mine = runOnVmxlab(g, append);
    expect(mine.reason).toBe("debug-exit");
    const theirs = guestOutput(qemu.serial).toString("latin1");
    if (TIMED_OUTPUT.has(name)) expect(maskNumbers(mine.serial)).toBe(maskNumbers(theirs));
    else expect(mine.serial).toBe(theirs);
    expect(mine.exitCode).toBe(qemu.exitStatus);
  });
});

describe("guest images", () => {
  it("every guest has a committed binary next to its source", () => {
    expect(guests.length).toBeGreaterThanOrEqual(5);
    for (const g of guests) expect(fs.existsSync(path.resolve(g.outPath))).toBe(true);
  });
});
