// netping/netpong over the three links: two machines on the virtual switch in one process
// (deterministic), a UDP tunnel between two vmxlab processes, and a UDP tunnel between
// vmxlab and QEMU's microvm (-netdev dgram), in both directions. QEMU running both guests
// over its own tunnel is the oracle for what each guest prints; the frame counts are hand
// calculations beside the assertions. Also: interactive COM1 input through a pipe fed
// slowly and through a pseudo-terminal, and the one-line errors for bad --net values.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import dgram from "node:dgram";
import { spawn, spawnSync, ChildProcess } from "node:child_process";
// The compiled build: const enums inlined (guests run several times faster).
import { Machine } from "../dist/index.js";
import { VirtioNet, defaultMac } from "../dist/dev/virtio/net.js";
import { EthernetSwitch } from "../dist/dev/ethernetSwitch.js";
import { runInQuanta } from "../dist/vmm/quantumScheduler.js";
// @ts-ignore -- plain ESM JavaScript without type declarations
import { available as qemuAvailable, guestOutput, runQemu } from "../tools/peers/qemu.mjs";

const haveQemu: boolean = qemuAvailable();
const CLI = "dist/cli/main.js";
const MAC_A = "52:54:00:12:34:56", MAC_B = "52:54:00:12:34:57";

/** What the guests print with each other on the link (their sources; QEMU confirms it below). */
const PING_OUT = ["netping: start", "netping: virtio-net at transport 7, IRQ 12", `netping: mac ${MAC_A}`, `netping: peer ${MAC_B}`,
  ...Array.from({ length: 8 }, (_, i) => `netping: reply ${i}, 78 bytes: ok`), "netping: replies 8 of 8", "every frame echoed intact: ok", "netping: failed checks: 0", ""].join("\n");
const PONG_OUT = ["netpong: start", "netpong: virtio-net at transport 7, IRQ 12", `netpong: mac ${MAC_B}`, `netpong: first frame from ${MAC_A}`,
  "netpong: echoed 8 frames", "netpong: failed checks: 0", ""].join("\n");

function pair(quantum?: number, images = ["guests/netping.elf", "guests/netpong.elf"]) {
  const sw = new EthernetSwitch();
  const sides = images.map((img, i) => {
    const nic = new VirtioNet(defaultMac(i));
    const m = new Machine({ ramBytes: 32 << 20, virtio: [{ type: "device", device: nic }] });
    nic.link = sw.addPort((f: Uint8Array) => nic.receive(f));
    const out: number[] = [];
    m.onSerial = (b: number) => out.push(b);
    m.loadImage(new Uint8Array(fs.readFileSync(img)), { name: img.split("/").pop() });
    return { m, nic, out };
  });
  const r = runInQuanta(sides.map((s) => s.m), sw, { quantum, maxInstructions: 50_000_000 });
  return {
    ...r, sw,
    serial: sides.map((s) => Buffer.from(s.out).toString("latin1")),
    cycles: sides.map((s) => s.m.cpu.accounting.cycles()),
    counters: sides.map((s) => ({ ...s.nic.counters })),
  };
}

/** A UDP port on 127.0.0.1 that nothing had bound a moment ago. */
async function freePort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", () => resolve()));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Spawns the CLI; resolves with its output when it exits; `started` resolves once stdout contains `marker`. */
function spawnCli(args: string[], marker = "") {
  const child: ChildProcess = spawn(process.execPath, [CLI, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  let seen: () => void = () => {};
  const started = new Promise<void>((resolve) => { seen = resolve; });
  child.stdout!.on("data", (c: Buffer) => { stdout += c.toString("latin1"); if (stdout.includes(marker)) seen(); });
  child.stderr!.on("data", (c: Buffer) => { stderr += c.toString("latin1"); });
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr })));
  return { child, started, done, stdoutNow: () => stdout };
}

describe("two machines on the virtual switch in one process", () => {
  it("netping and netpong exchange 8 frames each way; the switch floods 1 and forwards 15", () => {
    const r = pair();
    expect(r.serial).toEqual([PING_OUT, PONG_OUT]);
    expect(r.results.map((x) => [x.reason, x.exitCode])).toEqual([["debug-exit", 0], ["debug-exit", 0]]);
    // 8 PINGs and 8 PONGs, each delivered once; nothing dropped.
    for (const c of r.counters) expect(c).toEqual({ txFrames: 8, txDropped: 0, rxFrames: 8, rxTooBig: 0, rxOverrun: 0 });
    // PING 0 goes to the broadcast address (flooded); its reply and the 7 later PINGs and
    // their replies go to learned addresses: 1 + 7 + 8 = 15 forwarded.
    expect(r.sw.counters).toEqual({ forwarded: 15, flooded: 1, filtered: 0, runts: 0 });
  });

  it("is deterministic: two runs give the same outputs, instruction and cycle counts", () => {
    const a = pair(), b = pair();
    expect(b.serial).toEqual(a.serial);
    expect(b.cycles).toEqual(a.cycles);
    expect(b.results).toEqual(a.results);
    expect(b.rounds).toBe(a.rounds);
  });

  it("a frame reaches the other machine at the next quantum boundary: a round trip costs at least two quanta", () => {
    // Stop-and-wait: PING k leaves A in some quantum n, reaches B at the start of n+1, B's
    // PONG leaves in n+1 and reaches A at the start of n+2. Eight round trips take at least
    // 16 quanta of A's time, whatever Q is.
    for (const q of [20_000, 1_000_000]) {
      const r = pair(q);
      expect(r.serial).toEqual([PING_OUT, PONG_OUT]);
      expect(r.cycles[0]).toBeGreaterThanOrEqual(16 * q);
    }
  });

  it("two pings and no pong: both wait for a frame no machine will send, and the run ends at their HLT", () => {
    const r = pair(undefined, ["guests/netping.elf", "guests/netping.elf"]);
    expect(r.results.map((x) => x.reason)).toEqual(["halt", "halt"]);
    // Each sent its broadcast PING 0 (flooded to the other), which is no PONG: ignored.
    expect(r.counters.map((c) => [c.txFrames, c.rxFrames])).toEqual([[1, 1], [1, 1]]);
  });
});

describe("vmxlab run-pair", () => {
  it("prefixes each guest's lines with [A] / [B]; --json twice gives the same cycles", () => {
    const r = spawnSync(process.execPath, [CLI, "run-pair", "guests/netping.elf", "guests/netpong.elf"], { encoding: "latin1" });
    expect(r.status).toBe(0);
    const lines = r.stdout.split("\n").filter(Boolean);
    expect(lines.filter((l) => l.startsWith("[A] ")).map((l) => l.slice(4)).join("\n") + "\n").toBe(PING_OUT);
    expect(lines.filter((l) => l.startsWith("[B] ")).map((l) => l.slice(4)).join("\n") + "\n").toBe(PONG_OUT);
    expect(lines.every((l) => /^\[[AB]\] /.test(l))).toBe(true);
    const json = () => JSON.parse(spawnSync(process.execPath, [CLI, "run-pair", "guests/netping.elf", "guests/netpong.elf", "--json"], { encoding: "latin1" }).stdout);
    const a = json(), b = json();
    expect(a.machines.map((m: { serial: string }) => m.serial)).toEqual([PING_OUT, PONG_OUT]);
    expect(a.machines.map((m: { cycles: number }) => m.cycles)).toEqual(b.machines.map((m: { cycles: number }) => m.cycles));
    expect(a.machines.map((m: { mac: string }) => m.mac)).toEqual([MAC_A, MAC_B]);
  });

  it("bad invocations get one line and status 2", () => {
    for (const [args, want] of [
      [["guests/netping.elf"], /run-pair needs two images/],
      [["guests/netping.elf", "guests/netpong.elf", "--net", "udp:1:2"], /--net is not available with run-pair/],
      [["guests/netping.elf", "guests/netpong.elf", "--quantum", "0"], /--quantum needs at least 1 cycle/],
    ] as const) {
      const r = spawnSync(process.execPath, [CLI, "run-pair", ...args], { encoding: "utf8" });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(want);
    }
  });
});

describe("UDP tunnel (--net udp:LOCAL:REMOTE)", () => {
  it("two vmxlab processes on loopback ports: netping gets its 8 replies from netpong", async () => {
    const p1 = await freePort(), p2 = await freePort();
    // The socket is bound before the guest runs, so once it prints its MAC it can hear PING 0.
    const pong = spawnCli(["run", "guests/netpong.elf", "--net", `udp:${p1}:${p2}`, "--mac", MAC_B, "--timeout", "60"], "netpong: mac");
    await pong.started;
    const ping = spawnCli(["run", "guests/netping.elf", "--net", `udp:${p2}:${p1}`, "--timeout", "60", "--json"]);
    const [a, b] = await Promise.all([ping.done, pong.done]);
    const ja = JSON.parse(a.stdout);
    expect([a.status, b.status]).toEqual([0, 0]);
    expect(ja.serial).toBe(PING_OUT);
    expect(b.stdout).toBe(PONG_OUT);
    // one datagram per frame: 8 PINGs out, 8 PONGs in
    expect([ja.net.datagramsSent, ja.net.datagramsReceived, ja.net.txFrames, ja.net.rxFrames]).toEqual([8, 8, 8, 8]);
  }, 90_000);

  it("a guest waiting for a frame that never comes waits until --timeout (status 124), it does not end at its HLT", async () => {
    const p1 = await freePort(), p2 = await freePort();
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [CLI, "run", "guests/netpong.elf", "--net", `udp:${p1}:${p2}`, "--mac", MAC_B, "--timeout", "1.5"], { encoding: "utf8" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(r.status).toBe(124);
    expect(r.stdout).toBe(PONG_OUT.split("\n").slice(0, 3).join("\n") + "\n");
    expect(r.stderr).toMatch(/stopped: timeout/);
  });

  it("bad and busy ports get one line and status 2", async () => {
    const busy = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => busy.bind(0, "127.0.0.1", () => resolve()));
    const port = busy.address().port;
    try {
      for (const [args, want] of [
        [["--net", "udp:0:5000"], /UDP port 0 is not between 1 and 65535/],
        [["--net", "udp:70000:5000"], /UDP port 70000 is not between 1 and 65535/],
        [["--net", "tcp:1:2"], /--net needs udp:LOCALPORT:REMOTEPORT/],
        [["--net", "udp:5000:5000"], /the local and remote ports are the same/],
        [["--net", `udp:${port}:5000`], new RegExp(`UDP port ${port} on 127.0.0.1 is in use`)],
        [["--mac", MAC_A], /--mac needs --net/],
        [["--net", "udp:5001:5002", "--mac", "01:00:00:00:00:01"], /multicast/],
        [["--timeout", "3"], /--timeout applies with --net or --interactive only/],
      ] as const) {
        const r = spawnSync(process.execPath, [CLI, "run", "guests/netping.elf", ...args], { encoding: "utf8" });
        expect([args, r.status]).toEqual([args, 2]);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toMatch(want);
      }
    } finally {
      busy.close();
    }
  });
});

describe.skipIf(!haveQemu)("interop with QEMU microvm over -netdev dgram", () => {
  const qemuNet = (local: number, remote: number, mac: string) => [{ type: "net", local, remote, mac }];
  /** netpong on QEMU; `ready` resolves once it has printed its MAC (QEMU bound its socket before the guest started). */
  function qemuPong(p1: number, p2: number) {
    let out = "", seen: () => void = () => {};
    const ready = new Promise<void>((resolve) => { seen = resolve; });
    const done = runQemu("guests/netpong.elf", { timeoutMs: 60_000, virtio: qemuNet(p1, p2, MAC_B), onByte: (b: number) => { out += String.fromCharCode(b); if (out.includes("netpong: mac")) seen(); } });
    return { ready, done };
  }

  it("QEMU runs netping and netpong with each other: the outputs the vmxlab tests expect (the oracle)", async () => {
    const p1 = await freePort(), p2 = await freePort();
    const pong = qemuPong(p1, p2);
    await pong.ready;
    const ping = await runQemu("guests/netping.elf", { timeoutMs: 60_000, virtio: qemuNet(p2, p1, MAC_A) });
    const pongDone = await pong.done;
    expect(guestOutput(ping.serial).toString("latin1")).toBe(PING_OUT);
    expect(guestOutput(pongDone.serial).toString("latin1")).toBe(PONG_OUT);
    expect([ping.exitStatus, pongDone.exitStatus]).toEqual([0, 0]);
  }, 90_000);

  it("netping on vmxlab, netpong on QEMU", async () => {
    const p1 = await freePort(), p2 = await freePort();
    const pong = qemuPong(p1, p2);
    await pong.ready;
    const ping = spawnCli(["run", "guests/netping.elf", "--net", `udp:${p2}:${p1}`, "--timeout", "60"]);
    const [a, b] = await Promise.all([ping.done, pong.done]);
    expect(a.stdout).toBe(PING_OUT);
    expect(a.status).toBe(0);
    expect(guestOutput(b.serial).toString("latin1")).toBe(PONG_OUT);
    expect(b.exitStatus).toBe(0);
  }, 90_000);

  it("netping on QEMU, netpong on vmxlab", async () => {
    const p1 = await freePort(), p2 = await freePort();
    const pong = spawnCli(["run", "guests/netpong.elf", "--net", `udp:${p1}:${p2}`, "--mac", MAC_B, "--timeout", "60"], "netpong: mac");
    await pong.started;
    const ping = await runQemu("guests/netping.elf", { timeoutMs: 60_000, virtio: qemuNet(p2, p1, MAC_A) });
    const b = await pong.done;
    expect(guestOutput(ping.serial).toString("latin1")).toBe(PING_OUT);
    expect(ping.exitStatus).toBe(0);
    expect(b.stdout).toBe(PONG_OUT);
    expect(b.status).toBe(0);
  }, 90_000);
});

describe("interactive COM1 input (--interactive, --serial-input - on a terminal)", () => {
  // multitask.elf echoes each COM1 line in capitals until "quit" (guests/multitask.asm).
  it("bytes written to a pipe after the guest started reach it as they arrive", async () => {
    const run = spawnCli(["run", "guests/multitask.elf", "--interactive", "--timeout", "60"], "multitask: start\n");
    await run.started;
    await new Promise((r) => setTimeout(r, 300));
    expect(run.stdoutNow()).toBe("multitask: start\n"); // waiting: no input yet, no end
    run.child.stdin!.write("hello\n");
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (run.stdoutNow().includes("echo: HELLO\n")) { clearInterval(t); resolve(); } }, 20); });
    run.child.stdin!.write("vmxlab\nquit\n");
    const r = await run.done;
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("multitask: start\necho: HELLO\necho: VMXLAB\necho: QUIT\nmultitask: lines 3\nsecond thread ran: ok\ntimer preempted thread 1: ok\nmultitask: failed checks: 0\n");
  }, 90_000);

  const haveScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;
  it.skipIf(!haveScript)("on a pseudo-terminal (script): raw mode, the guest echoes a typed line, Ctrl-A x quits", async () => {
    const child = spawn("script", ["-qfec", `${process.execPath} ${CLI} run guests/multitask.elf --serial-input - --timeout 60`, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => { out += c.toString("latin1"); });
    const until = (s: string) => new Promise<void>((resolve) => { const t = setInterval(() => { if (out.includes(s)) { clearInterval(t); resolve(); } }, 20); });
    await until("multitask: start");
    child.stdin.write("hello\n");
    await until("echo: HELLO");
    child.stdin.write("\x01x"); // Ctrl-A x
    const status = await new Promise<number | null>((resolve) => child.on("close", (s) => resolve(s)));
    expect(status).toBe(0);
    expect(out).toMatch(/stopped: halt \(stopped from the console \(Ctrl-A x\)\)/);
    expect(out).not.toMatch(/echo: QUIT/);
  }, 90_000);

  it("--interactive and --serial-input together are refused", () => {
    const r = spawnSync(process.execPath, [CLI, "run", "guests/multitask.elf", "--interactive", "--serial-input", "x.txt"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("vmxlab: --interactive and --serial-input both give COM1 its input: use one");
  });

  it("--serial-input - from a pipe still reads the whole input first (deterministic)", () => {
    const r = spawnSync(process.execPath, [CLI, "run", "guests/multitask.elf", "--serial-input", "-", "--json"], { input: "hello\nvmxlab\nquit\n", encoding: "latin1" });
    const j = JSON.parse(r.stdout);
    const again = JSON.parse(spawnSync(process.execPath, [CLI, "run", "guests/multitask.elf", "--serial-input", "-", "--json"], { input: "hello\nvmxlab\nquit\n", encoding: "latin1" }).stdout);
    expect(j.serial).toMatch(/echo: QUIT\n/);
    expect(j.instructions).toBe(again.instructions);
  });
});
