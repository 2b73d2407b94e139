// The CLI as a user meets it: the shipped guest runs and the exit status follows its
// debug-exit value; every mistake is one line on stderr with status 2, never a trace.
import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const CLI = path.resolve("dist/cli/main.js");

function vmxlab(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("vmxlab run", () => {
  it("runs hello and exits with the guest's debug-exit value, 0", () => {
    const r = vmxlab("run", "guests/hello.elf");
    expect(r.stdout).toContain("Hello from vmxlab");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/stopped: debug-exit 0; \d+ instructions/);
  });

  it("exits with the value a guest writes to isa-debug-exit", () => {
    // Flat 32-bit code: mov al, 5 ; out 0xf4, al ; hlt
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmxlab-cli-"));
    const file = path.join(dir, "exit5.bin");
    fs.writeFileSync(file, Uint8Array.from([0xb0, 0x05, 0xe6, 0xf4, 0xf4]));
    const r = vmxlab("run", file, "--format", "flat");
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(5);
    expect(r.stderr).toMatch(/stopped: debug-exit 5; 2 instructions/);
  });

  it("passes --append to the multiboot command line", () => {
    const r = vmxlab("run", "guests/compute.elf", "--append", "iterations=1");
    expect(r.stdout).toContain("compute: iterations=1");
    expect(r.status).toBe(0);
  });

  it("stops at --max-instructions with status 124 and the count", () => {
    const r = vmxlab("run", "guests/compute.elf", "--max-instructions", "1000");
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/stopped: limit; 1000 instructions/);
  });

  it("prints one JSON object with --json", () => {
    const r = vmxlab("run", "guests/hello.elf", "--json");
    const j = JSON.parse(r.stdout);
    expect(j.schema).toBe("vmxlab.run/1");
    expect(j.reason).toBe("debug-exit");
    expect(j.exitCode).toBe(0);
    expect(j.serial).toContain("Hello from vmxlab");
    expect(j.instructions).toBeGreaterThan(0);
  });

  it("reports a triple fault as a shutdown with status 125", () => {
    // Real mode: cli; lidt [7C10h] (limit 0); int3. The vector lies beyond the IDT limit,
    // so delivery raises #GP, which cannot be delivered either: #DF, then shutdown
    // (SDM 3A 20.1.4 and 6.15, interrupt 8).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmxlab-cli-"));
    const img = new Uint8Array(512);
    img.set([0xfa, 0x0f, 0x01, 0x1e, 0x10, 0x7c, 0xcc, 0xf4], 0); // 16-bit: lidt [0x7c10]
    img.set([0x00, 0x00, 0x00, 0x00, 0x00, 0x00], 0x10);
    img[510] = 0x55; img[511] = 0xaa;
    const file = path.join(dir, "tf.img");
    fs.writeFileSync(file, img);
    const r = vmxlab("run", file);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/shutdown/);
  });
});

describe("vmxlab errors", () => {
  const cases: [string, string[], RegExp][] = [
    ["a missing image", ["run", "no/such.elf"], /cannot open no\/such\.elf: no such file/],
    ["a directory", ["run", "guests"], /is a directory/],
    ["an unknown flag", ["run", "guests/hello.elf", "--fast"], /unknown option --fast/],
    ["a bad number", ["run", "guests/hello.elf", "--max-instructions", "lots"], /--max-instructions needs a non-negative integer/],
    ["an unknown command", ["fly"], /unknown command "fly"/],
    ["a malformed image", ["run", "package.json"], /unrecognised image/],
    ["bad hex", ["disasm", "--hex", "zz"], /--hex needs pairs of hex digits/],
    ["a missing value", ["run", "guests/hello.elf", "--append"], /--append needs a value/],
  ];
  it.each(cases)("%s gives one line and status 2", (_what, args, message) => {
    const r = vmxlab(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });
});

describe("vmxlab disasm", () => {
  it("disassembles hex bytes", () => {
    const r = vmxlab("disasm", "--hex", "01 d8 c3");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/01 d8\s+add eax, ebx/);
    expect(r.stdout).toMatch(/c3\s+ret/);
  });
  it("disassembles a boot sector as 16-bit code", () => {
    const r = vmxlab("disasm", "guests/pmboot.img", "--count", "3");
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(3);
    expect(r.stdout).toMatch(/^00007c00 /);
  });
});

describe("output closed early", () => {
  it("disasm into a reader that has gone ends quietly with status 0", async () => {
    // The reader closes its end before vmxlab writes, so every write meets EPIPE.
    const child = spawn(process.execPath, ["dist/cli/main.js", "disasm", "guests/compute.elf"], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    expect(stderr).toBe("");
    expect(status).toBe(0);
  });
});
