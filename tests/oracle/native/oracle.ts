/**
 * The silicon oracle: runs snippets natively through harness.c, built on
 * first use and cached by a hash of its source. Two modes (OracleMode): 'ia32'
 * (a `gcc -m32` process runs the snippet as 32-bit code) where the host can run
 * 32-bit processes, else 'long' (a `gcc -m64` process runs the same bytes in
 * 64-bit mode, which agrees with IA-32 only on a subset the generator keeps to:
 * docs/oracle.md, "Long mode"). VMXLAB_ORACLE_MODE=ia32|long forces one.
 *
 *   if (NativeOracle.available()) {
 *     const oracle = await NativeOracle.open();
 *     const [r] = await oracle.run([{ code, regs, eflags, data }]);
 *     oracle.close();
 *   }
 *
 * See docs/oracle.md.
 */
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DATA_BASE,
  DATA_SIZE,
  MAX_CODE,
  STACK_BASE,
  STACK_SIZE,
  type MemoryWrite,
  type SnippetCase,
  type SnippetResult,
  type SnippetStatus,
} from './types.js';

export * from './types.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCE = path.join(HERE, 'harness.c');
const GCC = process.env.VMXLAB_ORACLE_CC ?? 'gcc';

/**
 * How the host runs a snippet: 'ia32', as 32-bit code in a 32-bit process; 'long',
 * as 64-bit-mode code in a 64-bit process, for hosts without 32-bit user mode.
 */
export type OracleMode = 'ia32' | 'long';
const MODE_ARGS: Record<OracleMode, string[]> = { ia32: ['-m32', '-O1', '-no-pie'], long: ['-m64', '-O1', '-no-pie'] };

const IN_HEADER = 11 * 4;
const OUT_HEADER = 15 * 4;
const STATUS: readonly SnippetStatus[] = ['ok', 'fault', 'timeout'];

function cacheDirs(): string[] {
  return [
    path.resolve(HERE, '../../../node_modules/.cache/vmxlab-oracle'),
    path.join(os.tmpdir(), 'vmxlab-oracle'),
  ];
}

let built: { path: string; mode: OracleMode } | undefined;
let buildError: string | undefined;

/** The modes to try, in order: VMXLAB_ORACLE_MODE, else 32-bit code first. */
function modesToTry(): OracleMode[] {
  const forced = process.env.VMXLAB_ORACLE_MODE;
  if (forced === undefined || forced === '') return ['ia32', 'long'];
  if (forced === 'ia32' || forced === 'long') return [forced];
  throw new Error(`VMXLAB_ORACLE_MODE must be ia32 or long, not ${JSON.stringify(forced)}`);
}

function harness(): { path: string; mode: OracleMode } {
  if (built !== undefined) return built;
  if (buildError !== undefined) throw new Error(buildError);
  const failures: string[] = [];
  try {
    for (const mode of modesToTry()) {
      try {
        built = { path: build(mode), mode };
        return built;
      } catch (e) {
        failures.push(`${mode}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  } catch (e) {
    failures.push((e as Error).message);
  }
  buildError = failures.join('; ');
  throw new Error(buildError);
}

/**
 * Build the harness if needed and return its path. Throws an Error whose
 * message says why when no mode builds and runs here.
 */
export function harnessPath(): string {
  return harness().path;
}

/** The mode the harness runs snippets in (throws as harnessPath() does). */
export function oracleMode(): OracleMode {
  return harness().mode;
}

function build(mode: OracleMode): string {
  const source = fs.readFileSync(SOURCE);
  const args = MODE_ARGS[mode];
  const hash = createHash('sha256')
    .update(source)
    .update(JSON.stringify([GCC, args, process.platform, process.arch]))
    .digest('hex')
    .slice(0, 16);
  const name = `harness-${mode}-${hash}`;
  const failures: string[] = [];
  for (const dir of cacheDirs()) {
    const exe = path.join(dir, name);
    if (fs.existsSync(exe)) {
      smokeTest(exe);
      return exe;
    }
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      failures.push(`${dir}: ${(e as Error).message}`);
      continue;
    }
    // Build under a private name, then rename: concurrent test workers may race.
    const tmp = `${exe}.${process.pid}.${Date.now()}.tmp`;
    try {
      execFileSync(GCC, [...args, '-o', tmp, SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      const err = e as { code?: string; stderr?: Buffer; message: string };
      if (err.code === 'ENOENT') throw new Error(`${GCC} not found (install gcc${mode === 'ia32' ? ' and gcc-multilib' : ''})`);
      const detail = err.stderr?.toString().trim() || err.message;
      const hint = mode === 'ia32' ? ' (is gcc-multilib installed?)' : '';
      throw new Error(`\`${GCC} ${args[0]}\` failed${hint}: ${detail.split('\n').slice(0, 5).join('\n')}`);
    }
    fs.renameSync(tmp, exe);
    removeStale(dir, `harness-${mode}-`, name);
    smokeTest(exe);
    return exe;
  }
  throw new Error(`no writable cache directory for the oracle harness: ${failures.join('; ')}`);
}

/** Best effort: drop harnesses of this mode built from older sources (and those named before modes existed). */
function removeStale(dir: string, prefix: string, keep: string): void {
  try {
    for (const f of fs.readdirSync(dir)) {
      const stale = (f.startsWith(prefix) || /^harness-[0-9a-f]{16}$/.test(f)) && f !== keep && !f.endsWith('.tmp');
      if (stale) fs.rmSync(path.join(dir, f), { force: true });
    }
  } catch {
    /* ignore */
  }
}

/** The binary must start (for ia32, 32-bit execution support; free addresses) and exit 0 on empty input. */
function smokeTest(exe: string): void {
  const r = spawnSync(exe, [], { input: Buffer.alloc(0), timeout: 10_000 });
  if (r.error) throw new Error(`the oracle harness does not run: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`the oracle harness exited with ${r.status ?? r.signal}: ${r.stderr.toString().trim()}`);
  }
}

/** Serialize cases into the harness's input format. */
export function encodeCases(cases: readonly SnippetCase[]): Buffer {
  let total = 0;
  for (const c of cases) {
    if (c.code.length > MAX_CODE) throw new RangeError(`snippet too long: ${c.code.length} bytes (max ${MAX_CODE})`);
    if (c.data.length > DATA_SIZE) throw new RangeError(`data too long: ${c.data.length} bytes (max ${DATA_SIZE})`);
    if (c.regs.length !== 8) throw new RangeError(`regs must hold 8 registers, not ${c.regs.length}`);
    total += IN_HEADER + c.code.length + c.data.length;
  }
  const buf = Buffer.allocUnsafe(total);
  let p = 0;
  for (const c of cases) {
    buf.writeUInt32LE(c.code.length, p);
    buf.writeUInt32LE(c.data.length, p + 4);
    buf.writeUInt32LE(c.eflags >>> 0, p + 8);
    for (let i = 0; i < 8; i++) buf.writeUInt32LE(c.regs[i]! >>> 0, p + 12 + 4 * i);
    p += IN_HEADER;
    buf.set(c.code, p);
    p += c.code.length;
    buf.set(c.data, p);
    p += c.data.length;
  }
  return buf;
}

/**
 * Incremental decoder of the harness's output. Results are matched, in
 * order, with the cases that produced them (needed to rebuild the data region).
 */
class Decoder {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;

  push(chunk: Buffer): void {
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
  }

  /** Decode one result if it is complete, else return undefined. */
  next(c: SnippetCase): SnippetResult | undefined {
    const b = this.buf;
    const p0 = this.pos;
    if (b.length - p0 < OUT_HEADER) return undefined;
    const nRuns = b.readUInt32LE(p0 + 56);
    let q = p0 + OUT_HEADER;
    for (let r = 0; r < nRuns; r++) {
      if (b.length - q < 8) return undefined;
      q += 8 + b.readUInt32LE(q + 4);
      if (q > b.length) return undefined;
    }
    const status = STATUS[b.readUInt32LE(p0)];
    if (status === undefined) throw new Error(`oracle harness: bad status ${b.readUInt32LE(p0)}`);
    const regs = new Uint32Array(8);
    for (let i = 0; i < 8; i++) regs[i] = b.readUInt32LE(p0 + 20 + 4 * i);
    const writes: MemoryWrite[] = [];
    q = p0 + OUT_HEADER;
    for (let r = 0; r < nRuns; r++) {
      const addr = b.readUInt32LE(q);
      const len = b.readUInt32LE(q + 4);
      q += 8;
      if (addr < DATA_BASE || addr + len > STACK_BASE + STACK_SIZE) {
        throw new Error(`oracle harness: changed bytes outside the regions at 0x${addr.toString(16)}`);
      }
      writes.push({ addr, bytes: new Uint8Array(b.subarray(q, q + len)) });
      q += len;
    }
    this.pos = q;
    const result = {
      status,
      eip: b.readUInt32LE(p0 + 12),
      regs,
      eflags: b.readUInt32LE(p0 + 52),
      writes,
    } as SnippetResult;
    defineRegions(result, c.data, writes);
    if (status === 'fault') {
      result.vector = b.readUInt32LE(p0 + 4);
      result.errorCode = b.readUInt32LE(p0 + 8);
      if (result.vector === 14) result.faultAddress = b.readUInt32LE(p0 + 16);
    }
    return result;
  }

  get pending(): number {
    return this.buf.length - this.pos;
  }
}

/**
 * Give a result its data and stack properties, built on first access from the
 * initial data and the writes (a 10,000-case batch would otherwise hold
 * 1.3 GB). They are enumerable own properties, so deep equality sees them.
 */
function defineRegions(result: SnippetResult, initial: Uint8Array, writes: readonly MemoryWrite[]): void {
  let data: Uint8Array | undefined;
  let stack: Uint8Array | undefined;
  const build = (): void => {
    data = new Uint8Array(DATA_SIZE);
    data.set(initial);
    stack = new Uint8Array(STACK_SIZE);
    for (const w of writes) {
      for (let i = 0; i < w.bytes.length; ) {
        const a = w.addr + i;
        const inData = a < DATA_BASE + DATA_SIZE;
        const [region, base, size] = inData ? [data, DATA_BASE, DATA_SIZE] : [stack, STACK_BASE, STACK_SIZE];
        const n = Math.min(w.bytes.length - i, base + size - a);
        region.set(w.bytes.subarray(i, i + n), a - base);
        i += n;
      }
    }
  };
  Object.defineProperty(result, 'data', {
    enumerable: true,
    configurable: true,
    get(): Uint8Array {
      if (data === undefined) build();
      return data!;
    },
    set(v: Uint8Array) {
      if (data === undefined) build();
      data = v;
    },
  });
  Object.defineProperty(result, 'stack', {
    enumerable: true,
    configurable: true,
    get(): Uint8Array {
      if (stack === undefined) build();
      return stack!;
    },
    set(v: Uint8Array) {
      if (stack === undefined) build();
      stack = v;
    },
  });
}

interface Batch {
  cases: readonly SnippetCase[];
  results: SnippetResult[];
  resolve(results: SnippetResult[]): void;
  reject(err: Error): void;
}

export class NativeOracle {
  private readonly decoder = new Decoder();
  private readonly queue: Batch[] = [];
  private stderr = '';
  private dead: Error | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    child.on('error', (e) => this.fail(new Error(`oracle harness: ${e.message}`)));
    child.on('exit', (code, signal) => {
      const why = this.stderr.trim();
      this.fail(new Error(`oracle harness exited (${code ?? signal})${why ? `: ${why}` : ''}`));
    });
    child.stdin.on('error', () => {
      /* reported through 'exit' */
    });
  }

  /** Whether the harness can be built in some mode and runs here. */
  static available(): boolean {
    try {
      harnessPath();
      return true;
    } catch {
      return false;
    }
  }

  /** Why available() is false, or undefined when it is true. */
  static unavailableReason(): string | undefined {
    try {
      harnessPath();
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** How snippets run natively here (throws when unavailable). */
  static mode(): OracleMode {
    return oracleMode();
  }

  /** Start one harness process; run() batches go through it in order. */
  static async open(): Promise<NativeOracle> {
    const child = spawn(harnessPath(), [], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new NativeOracle(child);
  }

  /** One-shot synchronous run of a batch in a fresh harness process. */
  static runSync(cases: readonly SnippetCase[]): SnippetResult[] {
    const r = spawnSync(harnessPath(), [], { input: encodeCases(cases), maxBuffer: 1 << 30 });
    if (r.error) throw new Error(`oracle harness: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`oracle harness exited (${r.status ?? r.signal}): ${r.stderr.toString().trim()}`);
    const d = new Decoder();
    d.push(r.stdout);
    const out: SnippetResult[] = [];
    for (const c of cases) {
      const res = d.next(c);
      if (res === undefined) throw new Error('oracle harness: truncated output');
      out.push(res);
    }
    return out;
  }

  /** Run a batch of cases; results are in the order of the cases. */
  run(cases: readonly SnippetCase[]): Promise<SnippetResult[]> {
    if (this.dead) return Promise.reject(this.dead);
    if (cases.length === 0) return Promise.resolve([]);
    let input: Buffer;
    try {
      input = encodeCases(cases);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<SnippetResult[]>((resolve, reject) => {
      this.queue.push({ cases, results: [], resolve, reject });
      this.child.stdin.write(input);
    });
  }

  /** End the harness process (pending batches are rejected). */
  close(): void {
    if (this.dead) return;
    this.fail(new Error('oracle closed'));
    this.child.stdin.end();
    this.child.kill();
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    try {
      while (this.queue.length > 0) {
        const batch = this.queue[0]!;
        const res = this.decoder.next(batch.cases[batch.results.length]!);
        if (res === undefined) break;
        batch.results.push(res);
        if (batch.results.length === batch.cases.length) {
          this.queue.shift();
          batch.resolve(batch.results);
        }
      }
      if (this.queue.length === 0 && this.decoder.pending > 0) throw new Error('oracle harness: unexpected output');
    } catch (e) {
      this.fail(e as Error);
      this.child.kill();
    }
  }

  private fail(err: Error): void {
    if (!this.dead) this.dead = err;
    for (const b of this.queue.splice(0)) b.reject(err);
  }
}
