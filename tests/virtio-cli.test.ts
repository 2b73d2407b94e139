// virtio devices from the command line: bad image files get one line and status 2, and
// every write a guest saw acknowledged by a completed virtio-blk FLUSH survives SIGKILL.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { makeTestDisk } from "./fixtures/guest-setup.js";

const cli = (args: string[]) => spawnSync(process.execPath, ["dist/cli/main.js", "run", ...args], { encoding: "utf8" });

describe("virtio from the command line", () => {
  it("a missing, truncated, directory or read-only image for --virtio-blk gets one line and status 2", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmxlab-badvblk-"));
    const truncated = path.join(dir, "t.img");
    fs.writeFileSync(truncated, Buffer.alloc(1000));
    const empty = path.join(dir, "e.img");
    fs.writeFileSync(empty, Buffer.alloc(0));
    const readOnly = path.join(dir, "ro.img");
    fs.writeFileSync(readOnly, Buffer.alloc(1024));
    fs.chmodSync(readOnly, 0o444);
    const cases: [string, RegExp][] = [
      [path.join(dir, "none.img"), /no such file/],
      [truncated, /1000 bytes is not a whole number of 512-byte sectors/],
      [empty, /0 bytes is not a whole number/],
      [dir, /is a directory/],
    ];
    // root can write a 0444 file, so the read-only case is only meaningful for other users
    if (process.getuid?.() !== 0) cases.push([readOnly, /not writable/]);
    for (const [file, want] of cases) {
      const r = cli(["guests/vblk.elf", "--virtio-blk", file]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(want);
      expect(r.stdout).toBe("");
    }
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
    const same = cli(["guests/vblk.elf", "--disk", ata, "--virtio-blk", ata]);
    expect(same.status).toBe(2);
    expect(same.stderr.trim()).toBe(`vmxlab: --disk and --virtio-blk name the same image ${ata}`);
  });

  it("every write acknowledged by a completed virtio-blk FLUSH is in the image after SIGKILL", async () => {
    const file = makeTestDisk();
    const child = spawn(process.execPath, ["dist/cli/main.js", "run", "guests/vblkstream.elf", "--virtio-blk", file]);
    let out = "", acknowledged = 0;
    const flushedSoFar = () => Math.max(0, ...[...out.matchAll(/flushed (\d+)\n/g)].map((m) => Number(m[1])));
    const closed = new Promise<NodeJS.Signals | null>((resolve) => child.on("close", (_code, sig) => resolve(sig)));
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("latin1");
      if (acknowledged === 0 && flushedSoFar() >= 10) { acknowledged = flushedSoFar(); child.kill("SIGKILL"); }
    });
    const signal = await closed;
    expect(signal).toBe("SIGKILL"); // killed mid-stream (256 writes), not finished
    expect(acknowledged).toBeGreaterThanOrEqual(10);
    const image = fs.readFileSync(file);
    for (let k = 1; k <= acknowledged; k++) {
      for (let i = 0; i < 128; i++) expect([k, image.readUInt32LE(k * 512 + i * 4)]).toEqual([k, k]);
    }
  });
});
