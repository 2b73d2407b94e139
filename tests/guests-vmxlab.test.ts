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
import { APPEND, CONSOLE_INPUT, DISK_GUESTS, INSTRUCTIONS_PROFILE, TSC_GUESTS, NO_QEMU_PEER, QEMU_EXTRA_ARGS, SERIAL_INPUT, TIMED_OUTPUT, VIRTIO_BLK_ID, type VirtioUse, makeTestDisk, maskNumbers, qemuDiskArgs, virtioDevices } from "./fixtures/guest-setup.js";

interface Guest { name: string; outName: string; outPath: string }
const guests: Guest[] = listGuests();
const haveQemu: boolean = qemuAvailable();
if (!haveQemu) console.warn("vmxlab-vs-QEMU guest test skipped: qemu-system-i386 is not installed (CI installs it)");

function runOnVmxlab(g: Guest, append: string, virtio: VirtioUse[] = []): { serial: string; exitCode: number | null; reason: string } {
  const disk = DISK_GUESTS.has(g.name) ? new DiskImage(makeTestDisk()) : undefined;
  const specs = virtio.map((d) => (d.type === "blk" ? { type: "blk" as const, store: new DiskImage(d.file), id: VIRTIO_BLK_ID } : { type: "console" as const }));
  const m = new Machine({ ramBytes: 32 << 20, profile: TSC_GUESTS.has(g.name) ? INSTRUCTIONS_PROFILE : undefined, disk, virtio: specs });
  const bytes: number[] = [];
  m.onSerial = (b) => bytes.push(b);
  m.loadImage(new Uint8Array(fs.readFileSync(g.outPath)), { name: g.outName, append });
  const input = SERIAL_INPUT[g.name];
  if (input !== undefined) m.uart.receive(Buffer.from(input, "latin1"));
  const consoleInput = CONSOLE_INPUT[g.name];
  if (consoleInput !== undefined) m.virtioConsole!.receive(Buffer.from(consoleInput, "latin1"));
  const r = m.run({ maxInstructions: 2_000_000_000 });
  return { serial: Buffer.from(bytes).toString("latin1"), exitCode: r.reason === "debug-exit" ? (r.exitCode ?? null) : null, reason: r.reason };
}

describe.skipIf(!haveQemu)("guests print the same on vmxlab and QEMU", () => {
  for (const [name, why] of Object.entries(NO_QEMU_PEER)) it.skip(`${name} (no QEMU peer: ${why})`, () => {});
  it.each(guests.filter((g) => NO_QEMU_PEER[g.name] === undefined).map((g) => [g.name, g] as const))("%s", async (name, g) => {
    const append = APPEND[name] ?? "";
    const extraArgs = [...(TSC_GUESTS.has(name) ? ["-icount", "shift=0"] : DISK_GUESTS.has(name) ? qemuDiskArgs(makeTestDisk()) : []), ...(QEMU_EXTRA_ARGS[name] ?? [])];
    const qemuVirtio = virtioDevices(name), mineVirtio = virtioDevices(name);
    const qemu = await runQemu(g.outPath, { append: append || undefined, timeoutMs: 120_000, extraArgs, input: SERIAL_INPUT[name] ?? CONSOLE_INPUT[name], virtio: qemuVirtio });
    expect(qemu.timedOut).toBe(false);
    const mine = runOnVmxlab(g, append, mineVirtio);
    // Disks written through virtio-blk must end up byte for byte the same on both.
    (qemuVirtio ?? []).forEach((d, i) => {
      const other = mineVirtio![i];
      if (d.type === "blk" && other.type === "blk") expect(fs.readFileSync(d.file).equals(fs.readFileSync(other.file))).toBe(true);
    });
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
