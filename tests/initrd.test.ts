// Multiboot modules (multiboot 0.6.96 3.3, QEMU's -initrd): guests/modules.elf lists what
// the loader passed; QEMU and vmxlab given the same -initrd / --initrd string must print
// the same. Bad input is one line and status 2.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
// @ts-ignore -- plain ESM JavaScript without type declarations
import { available as qemuAvailable, guestOutput, runQemu } from "../tools/peers/qemu.mjs";

const cli = (args: string[]) => spawnSync(process.execPath, ["dist/cli/main.js", "run", ...args], { encoding: "utf8" });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmxlab-initrd-"));
const text = path.join(dir, "one.txt"), bin = path.join(dir, "two.bin");
fs.writeFileSync(text, "hello module one\n");
fs.writeFileSync(bin, Uint8Array.from([1, 2, 3]));
const INITRD = `${text} arg1 arg2,${bin}`;

describe("--initrd", () => {
  it("passes each module page-aligned with its command line; by hand: 17 and 3 bytes", () => {
    const r = cli(["guests/modules.elf", "--initrd", INITRD]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`modules: 2\nmodule 0: 17 bytes, page-aligned, '${text} arg1 arg2', first bytes 68 65 6C 6C 6F 20 6D 6F\n` +
      `module 1: 3 bytes, page-aligned, '${bin}', first bytes 01 02 03\n`);
  });

  it.skipIf(!qemuAvailable())("prints what QEMU prints with the same -initrd", async () => {
    const qemu = await runQemu("guests/modules.elf", { timeoutMs: 60_000, extraArgs: ["-initrd", INITRD] });
    expect(qemu.exitStatus).toBe(0);
    expect(cli(["guests/modules.elf", "--initrd", INITRD]).stdout).toBe(guestOutput(qemu.serial).toString("latin1"));
  });

  it("a missing module file, or modules for a boot sector, is one line and status 2", () => {
    const missing = cli(["guests/modules.elf", "--initrd", path.join(dir, "none.bin")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe(`vmxlab: cannot open ${path.join(dir, "none.bin")}: no such file`);
    const sector = cli(["guests/pmboot.img", "--initrd", bin]);
    expect(sector.status).toBe(2);
    expect(sector.stderr.trim()).toBe("vmxlab: modules (--initrd) need a multiboot kernel");
  });
});
