#!/usr/bin/env node
// vmxlab's command line: run a guest, or disassemble an image or hex bytes.
// Every user error is one line on stderr and exit status 2, never a stack trace.

import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Machine, RunResult, VirtioDeviceSpec, EngineError, EngineName, ENGINE_NAMES } from "../vmm/machine.js";
import { runLockstep, runLockstepSystems, stateWordIndex, SystemLockstepOptions } from "../vmm/lockstep.js";
import { ImageError, ImageFormat, isBootSector, planLoad } from "../vmm/loader.js";
import { disassemble } from "../isa/disasm.js";
import { Access } from "../core/memory.js";
import { collectReport, formatReport } from "../vmm/report.js";
import { Reg } from "../state/layout.js";
import { ProfileError, unsourcedEvents } from "../cost/profile.js";
import { DiskImage } from "../vmm/diskImage.js";
import { builtinProfileNames, loadProfile, DEFAULT_PROFILE_NAME } from "../cost/profiles.js";
import { VirtioNet, defaultMac, formatMac } from "../dev/virtio/net.js";
import { EthernetSwitch } from "../dev/ethernetSwitch.js";
import { QuantumScheduler, DEFAULT_QUANTUM } from "../vmm/quantumScheduler.js";
import { UdpTunnel, TunnelError } from "../vmm/udpTunnel.js";
import { HostRunner, HostRunResult } from "../vmm/hostRunner.js";
import { streamInput } from "../vmm/consoleInput.js";

/** A mistake in how vmxlab was invoked. */
class UsageError extends Error {}

const HELP = `vmxlab: an IA-32 emulator for comparing virtualization techniques

usage:
  vmxlab run IMAGE [options]     run a guest; its serial output goes to stdout
  vmxlab run --disk DISK [options]
                                 boot from DISK's first sector, as a PC BIOS would
      --max-instructions N       stop after N instructions (default: no limit)
      --append TEXT              multiboot command line after the image name
      --initrd "FILE [ARGS],..." multiboot modules, as QEMU's -initrd: each file with
                                 its command line, loaded after the kernel
      --format F                 auto | multiboot | bootsector | flat (default auto)
      --load-address A           load and entry address of a flat binary (default 0x100000)
      --ram MiB                  guest RAM in MiB (default 32)
      --disk FILE                raw disk image as the primary-master ATA disk
      --disk1 FILE               raw disk image as the primary-slave ATA disk (device 1,
                                 QEMU's -drive index=1)
      --pv-blk FILE              raw disk image as the Xen-style PV block device
                                 (blkif ring + event channel, MMIO at 0xfe900000)
      --serial-input FILE        bytes the guest receives on COM1 ("-" = stdin), all
                                 queued at the start (deterministic); "-" on a
                                 terminal means --interactive
      --serial-prompt TEXT       type --serial-input a line at a time, each once the
                                 guest's serial output ends with TEXT (deterministic)
      --rtc-start DATE           the CMOS clock at power-on, UTC (ISO 8601, e.g.
                                 2026-12-08T12:00:00; default 2000-01-01T00:00:00);
                                 it then runs on virtual time, never the host's
      --interactive              COM1 input from stdin as it is typed or piped (a
                                 terminal goes raw; Ctrl-A x quits); not deterministic
      --net udp:LPORT:RPORT      a virtio-net device whose frames travel as UDP
                                 datagrams from 127.0.0.1:LPORT to 127.0.0.1:RPORT
                                 (QEMU's -netdev dgram encapsulation); not deterministic
      --mac MAC                  the virtio-net MAC (default 52:54:00:12:34:56)
      --timeout SECONDS          wall-clock limit with --net or --interactive (exit 124)
      --screen on|off            mirror the text screen at 0xB8000 to stdout as lines
                                 (default on; only guests that write there show any)
      --virtio-blk FILE          raw disk image as a virtio-blk device (virtio-mmio
                                 transport 7 at 0xfeb00e00, IRQ 12, as QEMU microvm)
      --virtio-console           a virtio-console; its output goes where COM1's goes
                                 (transport 6 with --virtio-blk, else 7)
      --console-input FILE       bytes the virtio-console receives ("-" = stdin), all
                                 queued at the start (implies --virtio-console)
      --json                     print one JSON summary on stdout instead of streaming
      --profile P                cost profile: a shipped name (vmxlab profiles) or a
                                 JSON file (default ${DEFAULT_PROFILE_NAME})
      --report                   end with the report: cycles by event, instructions by
                                 class, TLBs, page walks, exceptions, I/O
      --engine ts|wasm           the engine that runs the guest (default wasm)
      --no-blocks                the engine interprets every instruction instead of
                                 compiling hot straight-line code into blocks (same
                                 results and cycles; for comparing the two)
      --lockstep                 run the guest on engines ts and wasm side by side,
                                 comparing registers, counters and output every N
                                 steps and RAM every max(N, 2^20); on a difference,
                                 find the first differing instruction and print both
                                 states (exit status 71). Disks run on copies: the
                                 image files are not changed
      --lockstep-every N         compare every N steps (default 65536; 1 = after
                                 every instruction)
      --lockstep-engines A,B     the two engines (default ts,wasm; ts,ts checks that
                                 a run repeats exactly). B runs without blocks, so
                                 A's blocks are checked against the plain loop
  vmxlab run-pair IMAGE_A IMAGE_B [options]
                                 two guests in one process, each with a virtio-net
                                 device on one virtual switch (MACs 52:54:00:12:34:56
                                 and :57), run in cycle quanta: deterministic. Serial
                                 lines are prefixed "[A] " / "[B] "; exit status A's if
                                 not 0, else B's
      --quantum CYCLES           cycles per quantum (default ${DEFAULT_QUANTUM})
      --append-a TEXT, --append-b TEXT   each guest's command line
      --lockstep                 run the pair on engines ts and wasm (two copies of
                                 the pair, each in the same quantum schedule), both
                                 machines compared; a difference names the machine
                                 (exit status 71). --lockstep-every and
                                 --lockstep-engines as for run
      (and --max-instructions, --ram, --profile, --engine, --json for both)
  vmxlab trace IMAGE --walks [run options]
                                 run a guest and print one JSON line per page walk
                                 (address, every entry read, result); serial output
                                 goes to stderr
  vmxlab profiles                list the shipped cost profiles
  vmxlab disasm IMAGE [--16] [--count N]
  vmxlab disasm --hex "BYTES" [--16] [--address A]
  vmxlab --help | --version

exit status: the guest's debug-exit value V (its low 8 bits; QEMU would exit with
(V << 1) | 1); 0 after HLT;
2 for a usage or image error; 124 when the instruction limit is reached; 125 after a
triple-fault shutdown; 70 when the guest used a feature vmxlab does not model; 71 when
--lockstep found a difference.`;

interface Parsed { positional: string[]; flags: Map<string, string | true> }

/** The flags that name a disk image, one device each. */
const DISK_FLAGS = ["--disk", "--disk1", "--pv-blk", "--virtio-blk"];
const VALUE_FLAGS = new Set(["--max-instructions", "--append", "--format", "--load-address", "--ram", "--hex", "--count", "--address", "--profile", "--disk", "--disk1", "--serial-input", "--serial-prompt", "--rtc-start", "--initrd", "--screen", "--pv-blk", "--virtio-blk", "--console-input", "--net", "--mac", "--timeout", "--quantum", "--append-a", "--append-b", "--engine", "--lockstep-every", "--lockstep-engines"]);
const BOOL_FLAGS = new Set(["--no-blocks", "--json", "--16", "--help", "--version", "--walks", "--report", "--virtio-console", "--interactive", "--lockstep"]);

function parse(args: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq > 0 ? a.slice(0, eq) : a;
      if (VALUE_FLAGS.has(name)) {
        const value = eq > 0 ? a.slice(eq + 1) : args[++i];
        if (value === undefined) throw new UsageError(`${name} needs a value`);
        flags.set(name, value);
      } else if (BOOL_FLAGS.has(name) && eq < 0) {
        flags.set(name, true);
      } else {
        throw new UsageError(`unknown option ${a} (see vmxlab --help)`);
      }
    } else positional.push(a);
  }
  return { positional, flags };
}

function numberFlag(p: Parsed, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = p.flags.get(name);
  if (v === undefined) return fallback;
  if (v === true || !/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v.replace(/_/g, ""))) throw new UsageError(`${name} needs a non-negative integer, not "${v}"`);
  const n = Number(v.replace(/_/g, ""));
  if (!Number.isSafeInteger(n) || n > max) throw new UsageError(`${name} ${v} is out of range`);
  return n;
}

function readImage(path: string | undefined): Uint8Array {
  if (path === undefined) throw new UsageError("missing IMAGE (see vmxlab --help)");
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === "ENOENT" ? `cannot open ${path}: no such file` : code === "EISDIR" ? `${path} is a directory, not an image` : `cannot read ${path}: ${code ?? String(e)}`);
  }
}

/**
 * --initrd's modules, in QEMU's syntax: comma-separated "FILE ARGS" entries (",," for a
 * comma), each module's command line the whole entry.
 */
function modulesOf(p: Parsed): { bytes: Uint8Array; cmdline: string }[] | undefined {
  const text = p.flags.get("--initrd");
  if (typeof text !== "string") return undefined;
  const entries = text.replace(/,,/g, "\0").split(",").map((e) => e.replace(/\0/g, ",").trim());
  return entries.map((cmdline) => {
    const file = cmdline.split(" ")[0];
    if (file === "") throw new UsageError(`--initrd has an empty entry in "${text}"`);
    return { bytes: readImage(file), cmdline };
  });
}

/** The whole --serial-input / --console-input file (or stdin for "-"). */
function readInput(path: string, flag = "--serial-input"): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path === "-" ? 0 : path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${flag} ${path}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : `cannot read (${code ?? String(e)})`}`);
  }
}

/** True when both paths name one existing file. */
function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a), y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false; // a missing file gets its own message when it is opened
  }
}

function formatOption(p: Parsed): ImageFormat {
  const f = p.flags.get("--format") ?? "auto";
  if (f !== "auto" && f !== "multiboot" && f !== "bootsector" && f !== "flat") throw new UsageError(`--format must be auto, multiboot, bootsector or flat, not "${String(f)}"`);
  return f;
}

function exitStatusOf(r: RunResult): number {
  switch (r.reason) {
    case "debug-exit": return (r.exitCode ?? 0) & 0xff; // the guest's own status: 0 is success
    case "halt": return 0;
    case "limit": return 124;
    case "shutdown": return 125;
    default: return 70;
  }
}

/** A MAC address written aa:bb:cc:dd:ee:ff. */
function macFlag(p: Parsed): Uint8Array {
  const v = p.flags.get("--mac");
  if (v === undefined) return defaultMac(0);
  if (typeof v !== "string" || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(v)) throw new UsageError(`--mac needs six hex bytes like 52:54:00:12:34:56, not "${String(v)}"`);
  const mac = Uint8Array.from(v.split(":"), (h) => parseInt(h, 16));
  if ((mac[0] & 1) !== 0) throw new UsageError(`--mac ${v} is a multicast address (the first byte is odd)`);
  return mac;
}

/** `--net udp:LOCALPORT:REMOTEPORT`, or null without --net. */
function netFlag(p: Parsed): { local: number; remote: number } | null {
  const v = p.flags.get("--net");
  if (v === undefined) return null;
  const m = typeof v === "string" ? /^udp:(\d{1,5}):(\d{1,5})$/.exec(v) : null;
  if (!m) throw new UsageError(`--net needs udp:LOCALPORT:REMOTEPORT (loopback UDP ports), not "${String(v)}"`);
  const local = Number(m[1]), remote = Number(m[2]);
  for (const port of [local, remote]) if (port < 1 || port > 65535) throw new UsageError(`--net ${v}: UDP port ${port} is not between 1 and 65535`);
  if (local === remote) throw new UsageError(`--net ${v}: the local and remote ports are the same (the device would hear itself)`);
  return { local, remote };
}

/** `--engine ts|wasm`, or undefined (the Machine's default). */
function engineFlag(p: Parsed, flag = "--engine"): EngineName | undefined {
  const v = p.flags.get(flag);
  if (v === undefined) return undefined;
  if (!ENGINE_NAMES.includes(v as EngineName)) throw new UsageError(`${flag} must be ${ENGINE_NAMES.join(" or ")}, not "${String(v)}"`);
  return v as EngineName;
}

/**
 * What a lockstep side changes in loadedMachine: its engine, whether it compiles blocks
 * (side B does not: lockstep then checks A's blocks against the plain loop), its own
 * copies of the disk images (by flag), and the input bytes read once for both.
 */
interface MachineOverrides { engine?: EngineName; blocks?: boolean; disks?: Map<string, string>; serialInput?: Uint8Array; consoleInput?: Uint8Array }

/** A machine with the image loaded as the run options say (`nic`: a virtio-net device, after the others). */
function loadedMachine(p: Parsed, which = 1, nic: VirtioNet | null = null, appendFlag = "--append", over: MachineOverrides = {}): { machine: Machine; path: string } {
  if (p.positional[0] !== "run-pair" && p.positional.length > 2) throw new UsageError(`unexpected argument ${p.positional[2]}`);
  // No IMAGE with --disk: boot from the disk, as a PC BIOS does (below).
  const bootDisk = p.positional[which] === undefined && which === 1 && typeof p.flags.get("--disk") === "string";
  const path = p.positional[which];
  const image = bootDisk ? null : readImage(path);
  const ramMiB = numberFlag(p, "--ram", 32, 1024);
  const profile = p.flags.get("--profile");
  // Two devices writing one file would each overwrite the other's sectors (QEMU refuses it too).
  const imageFlags = DISK_FLAGS.filter((f) => typeof p.flags.get(f) === "string");
  for (let i = 0; i < imageFlags.length; i++) {
    for (let j = i + 1; j < imageFlags.length; j++) {
      const a = p.flags.get(imageFlags[i]) as string, b = p.flags.get(imageFlags[j]) as string;
      if (sameFile(a, b)) throw new UsageError(`${imageFlags[i]} and ${imageFlags[j]} name the same image ${b}`);
    }
  }
  const imageOf = (flag: string) => { const f = over.disks?.get(flag) ?? p.flags.get(flag); return typeof f === "string" ? new DiskImage(f) : undefined; };
  const disk = imageOf("--disk"), disk1 = imageOf("--disk1");
  const pvBlock = imageOf("--pv-blk");
  // virtio devices in QEMU's -device order: the block device first (transport 7), then the console.
  const virtio: VirtioDeviceSpec[] = [];
  const virtioBlock = imageOf("--virtio-blk");
  if (virtioBlock !== undefined) virtio.push({ type: "blk", store: virtioBlock });
  const consoleInput = p.flags.get("--console-input");
  if (p.flags.has("--virtio-console") || typeof consoleInput === "string") virtio.push({ type: "console" });
  if (nic !== null) virtio.push({ type: "device", device: nic });
  const rtcText = p.flags.get("--rtc-start");
  let rtcStart: number | undefined;
  if (typeof rtcText === "string") {
    const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(rtcText) ? rtcText : `${rtcText}Z`);
    if (!Number.isFinite(ms) || ms < 0) throw new UsageError(`--rtc-start needs a date and time such as 2026-12-08T12:00:00, not "${rtcText}"`);
    rtcStart = Math.floor(ms / 1000);
  }
  const machine = new Machine({ ramBytes: ramMiB << 20, profile: typeof profile === "string" ? profile : undefined, disk, disk1, pvBlock, virtio, rtcStart, engine: over.engine ?? engineFlag(p), blocks: over.blocks ?? !p.flags.has("--no-blocks") });
  const append = p.flags.get(appendFlag);
  if (image === null) {
    // The master's sector 0 at 0000:7C00 with DL = 0x80, the first hard disk (what a PC
    // BIOS does; there are no BIOS services after that). QEMU: -drive file=IMAGE,index=0.
    const sector = new Uint8Array(512);
    disk!.read(0, sector);
    if (!isBootSector(sector)) throw new UsageError(`${p.flags.get("--disk")} is not bootable: its first sector does not end in 0x55 0xAA`);
    machine.loadImage(sector, { format: "bootsector", bootDrive: 0x80 });
  } else {
    machine.loadImage(image, {
      name: basename(path as string),
      append: typeof append === "string" ? append : "",
      modules: modulesOf(p),
      format: formatOption(p),
      loadAddress: numberFlag(p, "--load-address", 0x100000, 0xffffffff),
    });
  }
  const input = p.flags.get("--serial-input"), prompt = p.flags.get("--serial-prompt");
  if (typeof prompt === "string" && typeof input !== "string") throw new UsageError("--serial-prompt needs --serial-input FILE: the lines to type at the prompt");
  if (prompt === "") throw new UsageError("--serial-prompt needs a non-empty prompt");
  if (typeof input === "string" && !interactive(p)) {
    const bytes = over.serialInput ?? readInput(input);
    if (typeof prompt === "string") machine.typeAtPrompt(new TextEncoder().encode(prompt), bytes);
    else machine.uart.receive(bytes);
  }
  if (typeof consoleInput === "string") machine.virtioConsole!.receive(over.consoleInput ?? readInput(consoleInput, "--console-input"));
  return { machine, path: (path ?? p.flags.get("--disk")) as string };
}

const ACCESS_NAMES: Record<number, string> = { [Access.READ]: "read", [Access.WRITE]: "write", [Access.FETCH]: "fetch" };
const hex32 = (v: number) => "0x" + (v >>> 0).toString(16).padStart(8, "0");

/** `vmxlab trace --walks`: JSON lines, one per page walk, for teaching. */
function trace(p: Parsed): number {
  if (!p.flags.has("--walks")) throw new UsageError("trace needs --walks (the only trace so far)");
  for (const f of ["--lockstep", "--lockstep-every", "--lockstep-engines"]) if (p.flags.has(f)) throw new UsageError(`${f} is not available with trace`);
  const maxInstructions = numberFlag(p, "--max-instructions", Number.MAX_SAFE_INTEGER);
  const { machine } = loadedMachine(p);
  const out: string[] = [];
  const flush = () => { if (out.length > 0) { process.stdout.write(out.join("")); out.length = 0; } };
  machine.cpu.walkObserver = {
    pageWalk(lin, access, user, refs, refCount, phys, errorCode) {
      const entries = [];
      for (let i = 0; i < refCount; i++) {
        entries.push({ level: refs[i * 3] === 2 ? "pde" : "pte", address: hex32(refs[i * 3 + 1]), value: hex32(refs[i * 3 + 2]) });
      }
      out.push(JSON.stringify({
        event: "walk", cr3: hex32(machine.cpu.s[Reg.CR3]), linear: hex32(lin), access: ACCESS_NAMES[access] ?? String(access),
        user, references: entries, ...(errorCode < 0 ? { physical: hex32(phys) } : { fault: "#PF", errorCode }),
      }) + "\n");
      if (out.length >= 256) flush();
    },
  };
  machine.onSerial = (b) => process.stderr.write(Buffer.of(b));
  const r = machine.run({ maxInstructions });
  flush();
  process.stdout.write(JSON.stringify({ event: "stop", reason: r.reason, exitCode: r.exitCode ?? null, instructions: r.instructions, pageWalks: machine.cpu.pageWalks }) + "\n");
  return exitStatusOf(r);
}

/** --interactive, or --serial-input - with stdin a terminal (reading a terminal to its end would wait forever). */
function interactive(p: Parsed): boolean {
  const input = p.flags.get("--serial-input");
  if (p.flags.has("--interactive")) {
    if (input !== undefined) throw new UsageError("--interactive and --serial-input both give COM1 its input: use one");
    return true;
  }
  return input === "-" && process.stdin.isTTY === true;
}

/** `--timeout SECONDS` in milliseconds, or undefined. */
function timeoutFlag(p: Parsed): number | undefined {
  const v = p.flags.get("--timeout");
  if (v === undefined) return undefined;
  const n = typeof v === "string" && /^[0-9]+(\.[0-9]+)?$/.test(v) ? Number(v) : NaN;
  if (!(n > 0)) throw new UsageError(`--timeout needs a positive number of seconds, not "${String(v)}"`);
  return n * 1000;
}

/** Serial and screen output of a run: streamed to stdout, or kept for --json (`machine`: where the handlers go). */
function outputOf(machine: Pick<Machine, "onSerial" | "onScreen">, p: Parsed, json: boolean, live: boolean) {
  const serial: number[] = [];
  const chunk: number[] = [];
  const flush = () => { if (chunk.length > 0) { process.stdout.write(Buffer.from(chunk)); chunk.length = 0; } };
  // Live runs (host input, tunnel) show bytes as soon as the slice that wrote them ends.
  let scheduled = false;
  const later = () => { if (!scheduled) { scheduled = true; setImmediate(() => { scheduled = false; flush(); }); } };
  machine.onSerial = json ? (b) => serial.push(b) : (b) => { chunk.push(b); if (b === 10 || chunk.length >= 4096) flush(); else if (live) later(); };
  const screenMode = p.flags.get("--screen") ?? "on";
  if (screenMode !== "on" && screenMode !== "off") throw new UsageError(`--screen must be on or off, not "${String(screenMode)}"`);
  const screen: string[] = [];
  if (screenMode === "on") machine.onScreen = json ? (lines) => screen.push(...lines) : (lines) => { flush(); process.stdout.write(lines.join("\n") + "\n"); };
  return { serial, screen, flush };
}

type RunEnd = RunResult | HostRunResult;

function exitStatusOfEnd(r: RunEnd): number {
  return r.reason === "timeout" ? 124 : exitStatusOf(r as RunResult);
}

function finishRun(p: Parsed, machine: Machine, path: string, r: RunEnd, seconds: number, out: ReturnType<typeof outputOf>, extra: Record<string, unknown> = {}): number {
  const json = p.flags.has("--json");
  out.flush();
  machine.finishScreen();
  const mips = seconds > 0 ? r.instructions / seconds / 1e6 : 0;
  const status = exitStatusOfEnd(r);
  if (json) {
    process.stdout.write(JSON.stringify({
      schema: "vmxlab.run/1", image: path, reason: r.reason, exitCode: r.exitCode ?? null, exitStatus: status,
      instructions: r.instructions, hostSeconds: Number(seconds.toFixed(6)), mips: Number(mips.toFixed(2)),
      message: r.message ?? null, serial: Buffer.from(out.serial).toString("latin1"), screen: out.screen, ...extra, report: collectReport(machine),
    }) + "\n");
  } else {
    const why = r.reason === "debug-exit" ? `debug-exit ${r.exitCode}` : r.reason + (r.message ? ` (${r.message})` : "");
    process.stderr.write(`\nvmxlab: stopped: ${why}; ${r.instructions} instructions in ${seconds.toFixed(3)} s (${mips.toFixed(1)} MIPS)\n`);
    if (p.flags.has("--report")) process.stderr.write(formatReport(collectReport(machine)) + "\n");
  }
  return status;
}

function run(p: Parsed): number | Promise<number> {
  if (p.flags.has("--lockstep")) return runLockstepCli(p);
  for (const f of ["--lockstep-every", "--lockstep-engines"]) if (p.flags.has(f)) throw new UsageError(`${f} needs --lockstep`);
  const json = p.flags.has("--json");
  const maxInstructions = numberFlag(p, "--max-instructions", Number.MAX_SAFE_INTEGER);
  const net = netFlag(p);
  const live = net !== null || interactive(p);
  const timeoutMs = timeoutFlag(p);
  if (!live && timeoutMs !== undefined) throw new UsageError("--timeout applies with --net or --interactive only (--max-instructions is the deterministic limit)");
  if (net === null && p.flags.has("--mac")) throw new UsageError("--mac needs --net (the virtio-net device)");
  const nic = net !== null ? new VirtioNet(macFlag(p)) : null;
  const { machine, path } = loadedMachine(p, 1, nic);
  const out = outputOf(machine, p, json, live);
  if (live) return runLive(p, machine, path, nic, net, { maxInstructions, timeoutMs }, out);
  const t0 = process.hrtime.bigint();
  const r = machine.run({ maxInstructions });
  return finishRun(p, machine, path, r, Number(process.hrtime.bigint() - t0) / 1e9, out);
}

/** A run that host events reach (src/vmm/hostRunner.ts): the UDP tunnel and/or interactive COM1 input. */
async function runLive(p: Parsed, machine: Machine, path: string, nic: VirtioNet | null, net: { local: number; remote: number } | null,
  limits: { maxInstructions: number; timeoutMs?: number }, out: ReturnType<typeof outputOf>): Promise<number> {
  const runner = new HostRunner(machine);
  let tunnel: UdpTunnel | null = null;
  if (net !== null && nic !== null) {
    tunnel = await UdpTunnel.open(net.local, net.remote);
    tunnel.onFrame = (frame) => { nic.receive(frame); runner.wake(); };
    nic.link = tunnel;
    runner.sourceOpened();
  }
  let input: ReturnType<typeof streamInput> | null = null;
  if (interactive(p)) {
    runner.sourceOpened();
    input = streamInput(process.stdin, (bytes) => machine.uart.receive(bytes), () => runner.wake(), () => runner.sourceClosed());
  }
  const t0 = process.hrtime.bigint();
  let r: HostRunResult;
  try {
    r = await runner.run({ maxInstructions: limits.maxInstructions, timeoutMs: limits.timeoutMs, quit: () => input?.decoder.quit ?? false });
  } finally {
    if (input !== null) { input.restore(); process.stdin.destroy(); }
    if (tunnel !== null) { await tunnel.drain(); tunnel.close(); }
  }
  const extra = nic !== null ? { net: { mac: formatMac(nic.mac), ...nic.counters, datagramsSent: tunnel!.counters.sent, datagramsReceived: tunnel!.counters.received } } : {};
  return finishRun(p, machine, path, r, Number(process.hrtime.bigint() - t0) / 1e9, out, extra);
}

const LOCKSTEP_DIFFERENCE_STATUS = 71;

/** `--lockstep-engines A,B` and `--lockstep-every N` (run and run-pair). */
function lockstepFlags(p: Parsed): { engines: [EngineName, EngineName]; every: number } {
  if (p.flags.has("--engine")) throw new UsageError("--engine and --lockstep both choose engines: use --lockstep-engines A,B");
  const pair = p.flags.get("--lockstep-engines") ?? "ts,wasm";
  const engines = typeof pair === "string" ? pair.split(",") : [];
  if (engines.length !== 2) throw new UsageError(`--lockstep-engines needs two engines like ts,wasm, not "${String(pair)}"`);
  const chosen = engines.map((e) => { if (!ENGINE_NAMES.includes(e as EngineName)) throw new UsageError(`--lockstep-engines: unknown engine "${e}" (expected ${ENGINE_NAMES.join(" or ")})`); return e as EngineName; });
  const every = numberFlag(p, "--lockstep-every", 65536);
  if (every < 1) throw new UsageError("--lockstep-every needs at least 1 step");
  return { engines: [chosen[0], chosen[1]], every };
}

/** The environment variable of the test-only perturbation (docs/lockstep.md, "Testing the report"). */
const PERTURB_VARIABLE = "VMXLAB_TEST_LOCKSTEP_PERTURB";

/**
 * For tests of the report only: `STEP:REGISTER:XORMASK[:MACHINE]` flips bits of a state word
 * of the second side's machine (A unless named) when both sides have done STEP steps, so a
 * test can see what a user would be shown for an engine difference. Announced on stderr.
 */
function testPerturbation(machines: string[]): SystemLockstepOptions["pauses"] {
  const v = process.env[PERTURB_VARIABLE];
  if (v === undefined || v === "") return [];
  const m = /^(\d+):([A-Za-z0-9_.]+):(0x[0-9a-fA-F]+|\d+)(?::([A-Z]))?$/.exec(v);
  const word = m ? stateWordIndex(m[2]) : -1;
  const machine = m ? machines.indexOf(m[4] ?? machines[0]) : -1;
  if (!m || word < 0 || machine < 0 || Number(m[3]) > 0xffffffff) {
    throw new UsageError(`${PERTURB_VARIABLE} (for tests only) needs STEP:REGISTER:XORMASK[:MACHINE] with a state word like DR3 and machine ${machines.join(" or ")}, not "${v}"`);
  }
  const at = Number(m[1]), mask = Number(m[3]);
  process.stderr.write(`vmxlab: ${PERTURB_VARIABLE} is set (for tests only): the second side's machine ${machines[machine]} gets ${m[2]} ^= ${m[3]} after step ${at}\n`);
  return [{ at, action: (_a, b) => { b[machine].cpu.s[word] ^= mask; } }];
}

/**
 * `vmxlab run IMAGE --lockstep`: the guest on two engines side by side (src/vmm/lockstep.ts,
 * docs/lockstep.md). Each machine runs on its own copy of every disk image, made afresh from
 * the untouched original for each replay, so the two never share a writable image and the
 * user's files are not changed; the copies are compared when the run ends.
 */
function runLockstepCli(p: Parsed): number {
  for (const f of ["--net", "--mac", "--interactive", "--timeout"]) {
    if (p.flags.has(f)) throw new UsageError(`${f} is not available with --lockstep (host input is not deterministic, so a replay could not repeat the run)`);
  }
  if (interactive(p)) throw new UsageError("--lockstep needs --serial-input from a file or a pipe, not a terminal (the input must be read to its end first)");
  const { engines: chosen, every } = lockstepFlags(p);
  const json = p.flags.has("--json");
  const maxInstructions = numberFlag(p, "--max-instructions", Number.MAX_SAFE_INTEGER);
  const serialFlag = p.flags.get("--serial-input"), consoleFlag = p.flags.get("--console-input");
  const serialInput = typeof serialFlag === "string" ? readInput(serialFlag) : undefined;
  const consoleInput = typeof consoleFlag === "string" ? readInput(consoleFlag, "--console-input") : undefined;
  const diskFlags = DISK_FLAGS.filter((f) => typeof p.flags.get(f) === "string");
  const dir = diskFlags.length > 0 ? mkdtempSync(join(tmpdir(), "vmxlab-lockstep-")) : "";
  let copies = 0;
  const latest: [Map<string, string>, Map<string, string>] = [new Map(), new Map()];
  /** Side k's machine on fresh copies of the images (DiskImage checks each original first). */
  const make = (k: 0 | 1) => () => {
    const disks = new Map<string, string>();
    for (const f of diskFlags) {
      const original = p.flags.get(f) as string;
      new DiskImage(original).close(); // the original's problems are reported as in a plain run
      const copy = join(dir, `${copies++}-${basename(original)}`);
      copyFileSync(original, copy);
      disks.set(f, copy);
    }
    latest[k] = disks;
    return loadedMachine(p, 1, null, "--append", { engine: chosen[k], blocks: k === 0 && !p.flags.has("--no-blocks"), disks, serialInput, consoleInput }).machine;
  };
  try {
    const path = p.positional[1] ?? (p.flags.get("--disk") as string);
    const sink: Pick<Machine, "onSerial" | "onScreen"> = { onSerial: null, onScreen: null };
    const out = outputOf(sink, p, json, false);
    const t0 = process.hrtime.bigint();
    const pauses = testPerturbation(["A"])!.map((x) => ({ at: x.at, action: (ma: Machine, mb: Machine) => x.action([ma], [mb]) }));
    const r = runLockstep(make(0), make(1), { every, maxSteps: maxInstructions, onSerial: sink.onSerial ?? undefined, onScreen: sink.onScreen ?? undefined, pauses });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const [a, b] = r.names;
    // The disks the two wrote must be the same too (a device writes what the guest asked).
    const diskDifferences: string[] = [];
    if (r.difference === null) {
      for (const f of diskFlags) {
        const x = readFileSync(latest[0].get(f) as string), y = readFileSync(latest[1].get(f) as string);
        if (x.equals(y)) continue;
        let i = 0;
        while (x[i] === y[i]) i++;
        diskDifferences.push(`${f} ${p.flags.get(f)}: the copies differ first in sector ${Math.floor(i / 512)} (byte ${i})`);
      }
    }
    const same = r.difference === null && diskDifferences.length === 0;
    const summary = {
      engines: r.names, every, steps: r.steps, instructions: r.instructions, comparisons: r.comparisons, ramComparisons: r.ramComparisons,
      difference: r.difference === null ? null : { step: r.difference.step, identicalAt: r.difference.identicalAt, exact: r.difference.exact, what: r.difference.what, fields: r.difference.fields, text: r.difference.text },
      diskDifferences,
    };
    if (!same && !json) {
      out.flush();
      r.machines[0].finishScreen();
      process.stderr.write("\n" + (r.difference?.text ?? diskDifferences.map((d) => `lockstep: ${a} and ${b}: ${d}`).join("\n")) + "\n");
      return LOCKSTEP_DIFFERENCE_STATUS;
    }
    const status = finishRun(p, r.machines[0], path, r.result, seconds, out, { lockstep: summary });
    if (!same) return LOCKSTEP_DIFFERENCE_STATUS;
    if (!json) process.stderr.write(`lockstep: ${r.instructions} instructions, no difference (${a} and ${b}, compared every ${every} steps: ${r.comparisons} times, RAM ${r.ramComparisons} times)\n`);
    return status;
  } finally {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  }
}

/** The two machines of `vmxlab run-pair` on their switch, and the schedule that runs them. */
interface Pair { sw: EthernetSwitch; sides: { name: string; nic: VirtioNet; machine: Machine; path: string }[]; scheduler: QuantumScheduler }

/** run-pair's two guests, each with a virtio-net device on one switch (`engine`: both machines'). */
function buildPair(p: Parsed, quantum: number, maxInstructions: number, engine?: EngineName, blocks?: boolean): Pair {
  const sw = new EthernetSwitch();
  const sides = ["A", "B"].map((name, i) => {
    const nic = new VirtioNet(defaultMac(i));
    const { machine, path } = loadedMachine(p, i + 1, nic, i === 0 ? "--append-a" : "--append-b", engine === undefined ? {} : { engine, blocks });
    nic.link = sw.addPort((frame) => nic.receive(frame));
    return { name, nic, machine, path };
  });
  return { sw, sides, scheduler: new QuantumScheduler(sides.map((s) => s.machine), sw, { quantum, maxInstructions }) };
}

/** run-pair's output: each machine's serial lines prefixed "[A] " / "[B] ", or kept for --json. */
function pairOutput(json: boolean) {
  const serial: number[][] = [[], []];
  const lines: number[][] = [[], []];
  const prefixes = ["A", "B"].map((n) => Buffer.from(`[${n}] `));
  const flushOne = (i: number) => { if (lines[i].length > 0) { process.stdout.write(Buffer.concat([prefixes[i], Buffer.from(lines[i])])); lines[i] = []; } };
  return {
    serial,
    onSerial: (b: number, i: number) => { if (json) serial[i].push(b); else { lines[i].push(b); if (b === 10) flushOne(i); } },
    flush: () => { flushOne(0); flushOne(1); },
  };
}

/** The end of a run-pair: its JSON object or its summary lines; returns the exit status (A's if not 0, else B's). */
function finishPair(pair: Pair, quantum: number, seconds: number, out: ReturnType<typeof pairOutput>, json: boolean, extra: Record<string, unknown> = {}): number {
  const { sides, scheduler, sw } = pair;
  // A machine still running was stopped where lockstep found a difference: as at a limit.
  const results = scheduler.results.map((r, i): RunResult => r ?? { reason: "limit", instructions: sides[i].machine.cpu.retired });
  const statuses = results.map(exitStatusOf);
  const status = statuses[0] !== 0 ? statuses[0] : statuses[1];
  if (json) {
    process.stdout.write(JSON.stringify({
      schema: "vmxlab.run-pair/1", quantum, rounds: scheduler.rounds, exitStatus: status, hostSeconds: Number(seconds.toFixed(6)), switch: sw.counters,
      machines: sides.map((s, i) => ({
        name: s.name, image: s.path, mac: formatMac(s.nic.mac), reason: results[i].reason, exitCode: results[i].exitCode ?? null, exitStatus: statuses[i],
        instructions: results[i].instructions, cycles: s.machine.cpu.accounting.cycles(), message: results[i].message ?? null,
        serial: Buffer.from(out.serial[i]).toString("latin1"), net: s.nic.counters,
      })),
      ...extra,
    }) + "\n");
  } else {
    out.flush();
    sides.forEach((s, i) => {
      const r = results[i];
      const why = r.reason === "debug-exit" ? `debug-exit ${r.exitCode}` : r.reason + (r.message ? ` (${r.message})` : "");
      process.stderr.write(`${i === 0 ? "\n" : ""}vmxlab: [${s.name}] stopped: ${why}; ${r.instructions} instructions, ${s.machine.cpu.accounting.cycles()} cycles; ` +
        `frames sent ${s.nic.counters.txFrames}, received ${s.nic.counters.rxFrames}\n`);
    });
    process.stderr.write(`vmxlab: ${scheduler.rounds} quanta of ${quantum} cycles in ${seconds.toFixed(3)} s\n`);
  }
  return status;
}

/** `vmxlab run-pair A B`: two guests on one virtual switch, run in cycle quanta (src/vmm/quantumScheduler.ts). */
function runPair(p: Parsed): number {
  if (p.positional.length !== 3) throw new UsageError("run-pair needs two images: vmxlab run-pair IMAGE_A IMAGE_B");
  for (const f of ["--net", "--mac", "--interactive", "--timeout", "--append", ...DISK_FLAGS, "--virtio-console", "--console-input", "--serial-input", "--serial-prompt", "--report"]) {
    if (p.flags.has(f)) throw new UsageError(`${f} is not available with run-pair`);
  }
  const json = p.flags.has("--json");
  const maxInstructions = numberFlag(p, "--max-instructions", Number.MAX_SAFE_INTEGER);
  const quantum = numberFlag(p, "--quantum", DEFAULT_QUANTUM);
  if (quantum < 1) throw new UsageError("--quantum needs at least 1 cycle");
  if (p.flags.has("--lockstep")) return runPairLockstep(p, quantum, maxInstructions, json);
  for (const f of ["--lockstep-every", "--lockstep-engines"]) if (p.flags.has(f)) throw new UsageError(`${f} needs --lockstep`);
  const pair = buildPair(p, quantum, maxInstructions);
  const out = pairOutput(json);
  pair.sides.forEach((s, i) => { s.machine.onSerial = (b) => out.onSerial(b, i); });
  const t0 = process.hrtime.bigint();
  pair.scheduler.runTo();
  return finishPair(pair, quantum, Number(process.hrtime.bigint() - t0) / 1e9, out, json);
}

/**
 * `vmxlab run-pair A B --lockstep`: the pair on one engine and a second copy of it on the
 * other, both stepped in the order of the one quantum schedule (QuantumScheduler) and
 * compared, both machines of each, with the search and report of `run --lockstep`.
 */
function runPairLockstep(p: Parsed, quantum: number, maxInstructions: number, json: boolean): number {
  const { engines, every } = lockstepFlags(p);
  const pairs = new WeakMap<QuantumScheduler, Pair>();
  const make = (k: 0 | 1) => () => { const pair = buildPair(p, quantum, maxInstructions, engines[k], k === 0 && !p.flags.has("--no-blocks")); pairs.set(pair.scheduler, pair); return pair.scheduler; };
  const out = pairOutput(json);
  const t0 = process.hrtime.bigint();
  const r = runLockstepSystems(make(0), make(1), { every, machineNames: ["A", "B"], onSerial: out.onSerial, pauses: testPerturbation(["A", "B"]) });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const [a, b] = r.names;
  if (r.difference !== null && !json) {
    out.flush();
    process.stderr.write("\n" + r.difference.text + "\n");
    return LOCKSTEP_DIFFERENCE_STATUS;
  }
  const pair = pairs.get(r.systems[0]) as Pair; // the main run's first side: its output was shown
  const summary = {
    engines: r.names, every, steps: r.steps, comparisons: r.comparisons, ramComparisons: r.ramComparisons,
    difference: r.difference === null ? null : { step: r.difference.step, identicalAt: r.difference.identicalAt, exact: r.difference.exact, machines: r.difference.machines, what: r.difference.what, fields: r.difference.fields, text: r.difference.text },
  };
  const status = finishPair(pair, quantum, seconds, out, json, { lockstep: summary });
  if (r.difference !== null) return LOCKSTEP_DIFFERENCE_STATUS;
  if (!json) process.stderr.write(`lockstep: ${r.steps} steps of the pair, no difference (${a} and ${b}, compared every ${every} steps: ${r.comparisons} times, RAM ${r.ramComparisons} times)\n`);
  return status;
}

function disasm(p: Parsed): number {
  const code32 = !p.flags.has("--16");
  const count = numberFlag(p, "--count", Number.MAX_SAFE_INTEGER);
  let bytes: Uint8Array, address: number, is32 = code32;
  const hexText = p.flags.get("--hex");
  if (typeof hexText === "string") {
    const clean = hexText.replace(/0x/gi, "").replace(/[\s,]/g, "");
    if (clean.length === 0 || clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new UsageError(`--hex needs pairs of hex digits, not "${hexText}"`);
    bytes = Uint8Array.from(clean.match(/../g) as string[], (h) => parseInt(h, 16));
    address = numberFlag(p, "--address", 0, 0xffffffff);
  } else {
    const image = readImage(p.positional[1]);
    const plan = planLoad(image, "auto", 0x100000, 1 << 30);
    bytes = plan.segments[0].bytes;
    address = plan.segments[0].address;
    if (plan.format === "bootsector" && !p.flags.has("--16")) is32 = false;
    if (plan.format === "bootsector") is32 = false;
  }
  for (const insn of disassemble(bytes, { address, code32: is32, count })) {
    const hexBytes = Array.from(insn.bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
    process.stdout.write(`${insn.address.toString(16).padStart(8, "0")}  ${hexBytes.padEnd(30)} ${insn.text}\n`);
  }
  return 0;
}

function profiles(): number {
  for (const name of builtinProfileNames()) {
    const p = loadProfile(name);
    const unsourced = unsourcedEvents(p).length;
    const notes = [name === DEFAULT_PROFILE_NAME ? "default" : "", unsourced > 0 ? `${unsourced} events without a source, priced 0` : ""].filter(Boolean);
    process.stdout.write(`${name.padEnd(18)} ${p.cpu}${notes.length > 0 ? ` [${notes.join("; ")}]` : ""}\n`);
  }
  return 0;
}

function main(argv: string[]): number | Promise<number> {
  const p = parse(argv);
  if (p.flags.has("--help") || argv.length === 0) { process.stdout.write(HELP + "\n"); return 0; }
  if (p.flags.has("--version")) { process.stdout.write("vmxlab 0.1.0\n"); return 0; }
  const command = p.positional[0];
  if (command === "run") return run(p);
  if (command === "run-pair") return runPair(p);
  if (command === "disasm") return disasm(p);
  if (command === "trace") return trace(p);
  if (command === "profiles") return profiles();
  throw new UsageError(`unknown command "${command ?? ""}" (expected run, run-pair, trace, disasm or profiles; see vmxlab --help)`);
}

// A reader that stops early (`vmxlab disasm ... | head`) is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => { if (e.code === "EPIPE") process.exit(process.exitCode ?? 0); else throw e; });

function fail(e: unknown): void {
  if (e instanceof UsageError || e instanceof ImageError || e instanceof ProfileError || e instanceof TunnelError || e instanceof EngineError) {
    process.stderr.write(`vmxlab: ${e.message}\n`);
    process.exitCode = 2;
  } else {
    // An emulator bug, not the user's fault: still one line, with a pointer to report it.
    process.stderr.write(`vmxlab: internal error: ${(e as Error).message} (please report this with the image)\n`);
    process.exitCode = 70;
  }
}

try {
  const status = main(process.argv.slice(2));
  if (typeof status === "number") process.exitCode = status;
  else status.then((s) => { process.exitCode = s; }, fail);
} catch (e) {
  fail(e);
}
