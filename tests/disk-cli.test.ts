// The three disk paths (ATA PIO, Xen-style PV ring, virtio-blk) from the command line:
// a bad image gets one line and status 2, and a SIGKILL in the middle of a stream of
// writes loses nothing a completed FLUSH acknowledged. Each stream guest fills sector k
// with the dword k and prints "flushed K" once sectors 1..K are durable.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { makeTestDisk } from "./fixtures/guest-setup.js";
// @ts-ignore -- plain ESM JavaScript without type declarations
import { available as qemuAvailable, guestOutput, runQemu } from "../tools/peers/qemu.mjs";

const cli = (args: string[]) => spawnSync(process.execPath, ["dist/cli/main.js", "run", ...args], { encoding: "utf8" });

interface DiskPath { flag: string; guest: string; stream: string[] }
const PATHS: DiskPath[] = [
  { flag: "--disk", guest: "guests/ata.elf", stream: ["guests/atastream.elf"] },
  { flag: "--pv-blk", guest: "guests/pvblk.elf", stream: ["guests/pvblk.elf", "--append", "stream"] },
  { flag: "--virtio-blk", guest: "guests/vblk.elf", stream: ["guests/vblkstream.elf"] },
];

describe.each(PATHS)("$flag", ({ flag, guest, stream }) => {
  it("a missing, truncated, empty, directory or read-only image gets one line and status 2", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmxlab-badimage-"));
    const file = (name: string, bytes: number) => { const f = path.join(dir, name); fs.writeFileSync(f, Buffer.alloc(bytes)); return f; };
    const readOnly = file("ro.img", 1024);
    fs.chmodSync(readOnly, 0o444);
    const cases: [string, RegExp][] = [
      [path.join(dir, "none.img"), /no such file/],
      [file("t.img", 1000), /1000 bytes is not a whole number of 512-byte sectors/],
      [file("e.img", 0), /0 bytes is not a whole number/],
      [dir, /is a directory/],
    ];
    // root can write a 0444 file, so the read-only case is only meaningful for other users
    if (process.getuid?.() !== 0) cases.push([readOnly, /not writable/]);
    for (const [image, want] of cases) {
      const r = cli([guest, flag, image]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(want);
      expect(r.stdout).toBe("");
    }
    expect(cli([guest, flag]).stderr).toMatch(new RegExp(`${flag} needs a value`));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("every write acknowledged by a completed FLUSH is in the image after SIGKILL", async () => {
    const image = makeTestDisk();
    const child = spawn(process.execPath, ["dist/cli/main.js", "run", ...stream, flag, image]);
    let out = "", flushes = 0, acknowledged = 0;
    const closed = new Promise<NodeJS.Signals | null>((resolve) => child.on("close", (_code, signal) => resolve(signal)));
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("latin1");
      const flushed = [...out.matchAll(/flushed (\d+)\n/g)].map((m) => Number(m[1]));
      if (flushes === 0 && flushed.length >= 10) { flushes = flushed.length; acknowledged = Math.max(...flushed); child.kill("SIGKILL"); }
    });
    expect(await closed).toBe("SIGKILL"); // killed in the middle of the stream, not finished
    expect(flushes).toBeGreaterThanOrEqual(10);
    const bytes = fs.readFileSync(image);
    for (let k = 1; k <= acknowledged; k++) {
      for (let i = 0; i < 128; i++) expect([k, bytes.readUInt32LE(k * 512 + i * 4)]).toEqual([k, k]);
    }
  });
});

it("two disk options naming one image are refused", () => {
  const image = makeTestDisk();
  for (const [a, b] of [["--disk", "--virtio-blk"], ["--disk", "--pv-blk"], ["--pv-blk", "--virtio-blk"]]) {
    const r = cli(["guests/vblk.elf", a, image, b, image]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`vmxlab: ${a} and ${b} name the same image ${image}`);
  }
});

// `vmxlab run --disk IMAGE` with no guest boots the disk as a PC BIOS does: its sector 0 at
// 0000:7C00 with DL = 0x80, the BIOS number of the first hard disk it booted from.
describe("booting from the --disk image", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmxlab-diskboot-"));
  const sectorZero = (code: number[], signature = true) => {
    const b = Buffer.alloc(4 * 512);
    Buffer.from(code).copy(b);
    if (signature) { b[510] = 0x55; b[511] = 0xaa; }
    return b;
  };

  it("runs sector 0 with DL = 0x80: the guest exits with DL as its status", () => {
    // 88 D0 = mov al, dl; E6 F4 = out 0xf4, al (debug-exit, status = AL); F4 = hlt.
    const f = path.join(dir, "dl.img");
    fs.writeFileSync(f, sectorZero([0x88, 0xd0, 0xe6, 0xf4, 0xf4]));
    expect(cli(["--disk", f]).status).toBe(0x80);
  });

  it.skipIf(!qemuAvailable())("hands over DL as SeaBIOS does on QEMU booting the same disk (-boot c)", async () => {
    // 88 D0 mov al, dl; C0 E8 04 shr al, 4; E6 F4 out 0xf4, al; F4 hlt: the status is DL's
    // high nibble, which QEMU's exit code (value * 2 + 1) carries whole.
    const f = path.join(dir, "dlhi.img");
    fs.writeFileSync(f, sectorZero([0x88, 0xd0, 0xc0, 0xe8, 0x04, 0xe6, 0xf4, 0xf4]));
    const qemu = await runQemu(f, { hardDisk: true, timeoutMs: 60_000 });
    expect(qemu.exitStatus).toBe(8);
    expect(cli(["--disk", f]).status).toBe(qemu.exitStatus);
  });

  it("a disk whose sector 0 lacks 0x55 0xAA is one line and status 2; so is a bad --disk1 image", () => {
    const f = path.join(dir, "plain.img");
    fs.writeFileSync(f, sectorZero([0xf4], false));
    const r = cli(["--disk", f]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([`vmxlab: ${f} is not bootable: its first sector does not end in 0x55 0xAA`]);
    const t = path.join(dir, "t.img");
    fs.writeFileSync(t, Buffer.alloc(700));
    const s = cli(["guests/hello.elf", "--disk1", t]);
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/700 bytes is not a whole number of 512-byte sectors/);
  });
});

// The primary slave (--disk1) against QEMU's -drive index=1: guests/ata.elf with
// "drive=1" drives device 1 only; both must print the same and leave the same image.
describe.skipIf(!qemuAvailable())("--disk1 against QEMU's primary slave", () => {
  it("ata.elf drive=1 prints the same and writes the same sectors of the slave image", async () => {
    const mine = makeTestDisk(), theirs = makeTestDisk();
    const qemu = await runQemu("guests/ata.elf", { append: "drive=1", timeoutMs: 60_000, extraArgs: ["-drive", `file=${theirs},format=raw,if=ide,index=1,media=disk`] });
    expect(qemu.timedOut).toBe(false);
    expect(qemu.exitStatus).toBe(0);
    const r = cli(["guests/ata.elf", "--append", "drive=1", "--disk1", mine]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(guestOutput(qemu.serial).toString("latin1"));
    expect(r.stdout).toContain("ata: failed checks: 0");
    expect(fs.readFileSync(mine).equals(fs.readFileSync(theirs))).toBe(true);
    expect(fs.readFileSync(mine).equals(fs.readFileSync(makeTestDisk()))).toBe(false); // sectors 1-2 were written
  });
});

