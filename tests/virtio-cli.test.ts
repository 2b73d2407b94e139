// virtio devices from the command line (bad images and SIGKILL durability for every disk
// path are in tests/disk-cli.test.ts).
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { makeTestDisk } from "./fixtures/guest-setup.js";

const cli = (args: string[]) => spawnSync(process.execPath, ["dist/cli/main.js", "run", ...args], { encoding: "utf8" });

describe("virtio from the command line", () => {
  it("a missing --console-input file gets one line and status 2", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmxlab-vcons-"));
    const r = cli(["guests/vconsole.elf", "--console-input", path.join(dir, "none.txt")]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^vmxlab: --console-input .*none\.txt: no such file$/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("--disk and --virtio-blk together: the ATA disk and the virtio disk are separate images", () => {
    const ata = makeTestDisk(), vblk = makeTestDisk();
    const r = cli(["guests/vblk.elf", "--disk", ata, "--virtio-blk", vblk]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/vblk: failed checks: 0\n$/);
    // vblk.asm writes sector 1 with dword i = 0xC3000000 + i; the ATA image is untouched.
    expect(fs.readFileSync(vblk).readUInt32LE(512 + 4)).toBe(0xc3000001);
    expect(fs.readFileSync(ata).readUInt32LE(512 + 4)).toBe(0);
  });
});
