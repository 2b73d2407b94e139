// The wasm engine's block emitter (docs/engine-decision.md, "Block compilation"): a block
// that BlockCache (blockCompiler.ts) planned becomes a small WebAssembly module, encoded
// here byte by byte, that imports the wasm engine's memory and the portable functions the
// hot loop calls (assembly/blocks.ts: the same sources compiled into a module of their own
// over that memory, so the engine's module need not export them). The guest registers
// live in wasm locals; the flat state, the decode cache's counters and RAM are loads and
// stores at the addresses the engine placed them at. Its calls are wasm-to-wasm (no
// JavaScript between), so a block's instructions cost what the loop's would, minus the
// fetch, tag check and dispatch.
//
// What each step does is the JS emitter's (jsEmitter), in the same order; only the
// spelling differs. WebAssembly binary format: https://webassembly.github.io/spec/core/binary/

import { Reg, DECODE_OFFSET, RAM_OFFSET } from "../state/layout.js";
import { Kind, AluOp } from "../isa/kind.js";
import { Info, NO_REG } from "../isa/record.js";
import { BlockEmitter, BlockFn, BlockPlan, Step, aluFunction, planRegs, shiftFunction } from "./blockCompiler.js";

/** The portable functions a block calls (assembly/blocks.ts exports). */
export interface BlockFunctions {
  aluAdd: Function; aluSub: Function; aluAnd: Function; aluOr: Function; aluXor: Function; alu32: Function;
  incDec32: Function; rol: Function; ror: Function; rcx: Function; shl: Function; shr: Function; sar: Function;
  ea32: Function; flatPhysAt: Function; jccTaken: Function;
}

/** What a block imports: those functions and the engine's memory, and where its state lies there. */
export interface WasmBlockImports extends BlockFunctions {
  memory: WebAssembly.Memory;
  /** Byte address of the flat state in memory (assembly/index.ts allocateState). */
  base: number;
  /** Address of the engine's HotViews object (assembly/index.ts hotViews()), flatPhysAt's first argument. */
  hotViews: number;
}

/** The imported functions, in import order (function index = position), with their parameter counts (all i32; each returns i32). */
const FUNCTIONS = [
  ["aluAdd", 3], ["aluSub", 3], ["aluAnd", 3], ["aluOr", 3], ["aluXor", 3], ["alu32", 4],
  ["incDec32", 3], ["rol", 4], ["ror", 4], ["rcx", 5], ["shl", 4], ["shr", 4], ["sar", 4],
  ["ea32", 4], ["flatPhysAt", 9], ["jccTaken", 2],
] as const;
type FunctionName = (typeof FUNCTIONS)[number][0];
const FN_INDEX = new Map<string, number>(FUNCTIONS.map(([name], i) => [name, i]));
/** The block function's own index, after the imports. */
const BLOCK_FN = FUNCTIONS.length;

// Opcodes (spec 5.4).
const enum Op {
  UNREACHABLE = 0x00, BLOCK = 0x02, LOOP = 0x03, IF = 0x04, END = 0x0b, BR = 0x0c, RETURN = 0x0f, CALL = 0x10, DROP = 0x1a,
  LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22,
  I32_LOAD = 0x28, I32_LOAD8_U = 0x2d, I32_STORE = 0x36, I32_STORE8 = 0x3a,
  I32_CONST = 0x41, I32_EQZ = 0x45, I32_LT_S = 0x48, I32_GT_S = 0x4a, I32_ADD = 0x6a,
}
const I32 = 0x7f, VOID = 0x40, FUNC = 0x60;

// Locals: the block function's parameters (BlockFn's), then p, k and the eight registers.
const EIP = 0, FLAT_SEGS = 1, PAGING = 2, READ_NEED = 3, WRITE_NEED = 4, LEFT = 5, P = 6, K = 7, R0 = 8;
const PARAMS = 6, LOCALS = 2 + 8;

/** A growing byte buffer with the format's integer encodings. */
class Bytes {
  private buf: Uint8Array<ArrayBuffer> = new Uint8Array(256);
  length = 0;
  byte(b: number): this {
    if (this.length === this.buf.length) { const n = new Uint8Array(this.buf.length * 2); n.set(this.buf); this.buf = n; }
    this.buf[this.length++] = b;
    return this;
  }
  bytes(b: ArrayLike<number>): this { for (let i = 0; i < b.length; i++) this.byte(b[i]); return this; }
  /** Unsigned LEB128 (spec 5.2.2). */
  u32(v: number): this {
    v >>>= 0;
    do { let b = v & 0x7f; v >>>= 7; if (v !== 0) b |= 0x80; this.byte(b); } while (v !== 0);
    return this;
  }
  /** Signed LEB128 of a 32-bit value. */
  s32(v: number): this {
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { this.byte(b); return this; }
      this.byte(b | 0x80);
    }
  }
  name(s: string): this { this.u32(s.length); for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i)); return this; }
  /** A section: its id, then its contents' size and the contents. */
  section(id: number, contents: Bytes): this { this.byte(id).u32(contents.length); return this.bytes(contents.view()); }
  view(): Uint8Array<ArrayBuffer> { return this.buf.subarray(0, this.length); }
}

/** The function body of one plan (spec 5.5.13 code: locals, then the expression). */
class BodyWriter {
  readonly out = new Bytes();
  constructor(private readonly sBase: number, private readonly dBase: number, private readonly ramBase: number,
    private readonly hotViews: number, private readonly written: Set<number>, private readonly loop: boolean) {}

  op(o: number): this { this.out.byte(o); return this; }
  get(l: number): this { this.out.byte(Op.LOCAL_GET).u32(l); return this; }
  set(l: number): this { this.out.byte(Op.LOCAL_SET).u32(l); return this; }
  i32(v: number): this { this.out.byte(Op.I32_CONST).s32(v); return this; }
  call(f: FunctionName): this { this.out.byte(Op.CALL).u32(FN_INDEX.get(f)!); return this; }
  /** A load or store with memarg (alignment as log2, offset) at the address on the stack. */
  mem(o: number, align: number, offset: number): this { this.out.byte(o).u32(align).u32(offset); return this; }
  /** Pushes the state word s[x]. */
  word(x: number): this { return this.i32(0).mem(Op.I32_LOAD, 2, this.sBase + x * 4); }
  /** The flat state's address: s, the first argument of the flag-recording functions. */
  s(): this { return this.i32(this.sBase); }

  /** Stores the written registers, EIP = eip + to, returns ret (k + ret in a loop turn). */
  leave(to: number, ret: number | "k"): this {
    for (const x of this.written) this.i32(0).get(R0 + x).mem(Op.I32_STORE, 2, this.sBase + x * 4);
    this.i32(0).get(EIP);
    if (to !== 0) this.i32(to).op(Op.I32_ADD);
    this.mem(Op.I32_STORE, 2, this.sBase + Reg.EIP * 4);
    if (ret === "k") this.get(K);
    else if (this.loop) this.get(K).i32(ret).op(Op.I32_ADD);
    else this.i32(ret);
    return this.op(Op.RETURN);
  }

  /** Pushes ea32(base, index, scale, disp) of a record's OPS and DISP (hotLoop.ts modrmOffset on the locals). */
  ea(ops: number, disp: number): this {
    const base = (ops >> 4) & 15, index = (ops >> 8) & 15;
    if (base !== NO_REG) this.get(R0 + base); else this.i32(0);
    if (index !== NO_REG) this.get(R0 + index); else this.i32(0);
    return this.i32((ops >> 12) & 3).i32(disp).call("ea32");
  }

  /** Pushes the 32-bit RAM word at p. */
  ramWord(): this { return this.get(P).mem(Op.I32_LOAD, 0, this.ramBase); }

  /** Calls alu32's function for `op` on the two values pushed by `a` and `b`. */
  alu(op: number, a: () => void, b: () => void): this {
    const f = aluFunction(op);
    this.s();
    if (f === "alu32") this.i32(op);
    a(); b();
    return this.call(f);
  }

  /** One instruction, as runHot's case for `kind` on the flat path (jsInstruction's twin). */
  instruction(kind: number, info: number, ops: number, disp: number, imm: number): void {
    const op = (info >> 8) & 0xff;
    const reg = R0 + (ops & 15), rm = R0 + ((ops >> 4) & 15);
    const keep = op !== AluOp.CMP;
    const result = (l: number): void => { if (keep) this.set(l); else this.op(Op.DROP); };
    switch (kind) {
      case Kind.FAST_ALU_RR32: this.alu(op, () => this.get(rm), () => this.get(reg)); result(rm); return;
      case Kind.FAST_ALU_RI32: this.alu(op, () => this.get(rm), () => this.i32(imm)); result(rm); return;
      case Kind.FAST_MOV_RR32: this.get(reg).set(rm); return;
      case Kind.FAST_MOV_RI32: this.i32(imm).set(rm); return;
      case Kind.FAST_INC_R32: case Kind.FAST_DEC_R32:
        this.s().get(rm).i32(kind === Kind.FAST_DEC_R32 ? 1 : 0).call("incDec32").set(rm); return;
      case Kind.FAST_SHIFT_RI32: {
        const f = shiftFunction(op);
        this.s();
        if (f === "rcx") this.i32(op);
        this.i32(4).get(rm).i32(imm).call(f).set(rm);
        return;
      }
      case Kind.FAST_LEA32: this.ea(ops, disp).set(reg); return;
      case Kind.FAST_LOAD32: this.ramWord().set(reg); return;
      case Kind.FAST_STORE32: this.get(P).get(reg).mem(Op.I32_STORE, 0, this.ramBase); return;
      case Kind.FAST_MOVZX_R_M8: this.get(P).mem(Op.I32_LOAD8_U, 0, this.ramBase).set(reg); return;
      case Kind.FAST_ALU_RM32: this.alu(op, () => this.get(reg), () => this.ramWord()); result(reg); return;
      case Kind.FAST_ALU_MR32:
        if (keep) { this.get(P); this.alu(op, () => this.ramWord(), () => this.get(reg)).mem(Op.I32_STORE, 0, this.ramBase); }
        else this.alu(op, () => this.ramWord(), () => this.get(reg)).op(Op.DROP);
        return;
      case Kind.FAST_STORE_IMM:
        if (((info >> Info.SIZE_SHIFT) & Info.SIZE_MASK) === 4) this.get(P).i32(imm).mem(Op.I32_STORE, 0, this.ramBase);
        else this.get(P).i32(imm & 0xff).mem(Op.I32_STORE8, 0, this.ramBase);
        return;
      case Kind.FAST_INC_M32: case Kind.FAST_DEC_M32:
        this.get(P).s().ramWord().i32(kind === Kind.FAST_DEC_M32 ? 1 : 0).call("incDec32").mem(Op.I32_STORE, 0, this.ramBase);
        return;
    }
    throw new Error(`wasmBlockEmitter: kind ${kind} is not blockable`);
  }

  /** The whole body: register loads, the steps, the end (a loop: one turn per iteration). */
  body(plan: BlockPlan, used: Set<number>): Uint8Array {
    this.out.u32(1).u32(LOCALS).byte(I32); // one run of LOCALS i32 locals
    for (const x of used) this.word(x).set(R0 + x);
    if (plan.loop !== null) this.op(Op.LOOP).op(VOID);
    for (const st of plan.steps) {
      switch (st.step) {
        case Step.COUNT: {
          const at = this.dBase + st.counter * 4;
          this.i32(0).i32(0).mem(Op.I32_LOAD, 2, at).i32(st.n).op(Op.I32_ADD).mem(Op.I32_STORE, 2, at);
          break;
        }
        case Step.RESOLVE:
          this.i32(this.hotViews).ea(st.ops, st.disp).i32(st.ops).i32(st.info).i32(st.size).i32(st.write ? 1 : 0)
            .get(FLAT_SEGS).get(PAGING).get(st.write ? WRITE_NEED : READ_NEED).call("flatPhysAt");
          this.out.byte(Op.LOCAL_TEE).u32(P);
          this.i32(0).op(Op.I32_LT_S).op(Op.IF).op(VOID).leave(st.to, st.ret).op(Op.END);
          break;
        case Step.EXEC: this.instruction(st.kind, st.info, st.ops, st.disp, st.imm); break;
        case Step.EXIT_IF:
          if (st.cond < 0) this.i32(1); else this.s().i32(st.cond).call("jccTaken");
          this.op(Op.IF).op(VOID).leave(st.to, st.ret).op(Op.END);
          break;
      }
    }
    if (plan.loop === null) this.leave(plan.bytes, plan.insns);
    else {
      this.get(K).i32(plan.insns).op(Op.I32_ADD).set(K);
      if (plan.loop.cond >= 0) this.s().i32(plan.loop.cond).call("jccTaken").op(Op.I32_EQZ).op(Op.IF).op(VOID).leave(plan.loop.after, "k").op(Op.END);
      this.get(K).i32(plan.insns).op(Op.I32_ADD).get(LEFT).op(Op.I32_GT_S).op(Op.IF).op(VOID).leave(0, "k").op(Op.END);
      this.out.byte(Op.BR).u32(0);
      this.op(Op.END).op(Op.UNREACHABLE);
    }
    this.op(Op.END);
    return this.out.view();
  }
}

/** The types section: one function type per parameter count used, all (i32...) -> i32. */
function paramCounts(): number[] {
  return [...new Set<number>([PARAMS, ...FUNCTIONS.map(([, n]) => n as number)])];
}

/**
 * The wasm engine compiles loops only (below), so its loop asks for blocks only where a
 * branch goes back (HotViews.loopHeadsOnly): a loop's head is reached that way.
 */
export const LOOP_BLOCKS_ONLY = true;

/**
 * The wasm engine's emitter: each plan that is a loop becomes a module instantiated
 * against `imports` (the engine's memory and the block functions), whose one export is
 * the block. A straight-line block is left to the loop: the engine reaches a block through
 * JavaScript (its runBlock import, then the block's export), and a block of a few
 * instructions run once per arrival saves less than those two calls cost (bench-kernel
 * took 0.91-0.96 of the time with loops only, bench/ab.mjs; the loop benches the same).
 */
export function wasmEmitter(imports: WasmBlockImports): BlockEmitter {
  const sBase = imports.base, dBase = imports.base + DECODE_OFFSET, ramBase = imports.base + RAM_OFFSET;
  const counts = paramCounts();
  const typeOf = (n: number): number => counts.indexOf(n);
  const env: Record<string, unknown> = { memory: imports.memory };
  for (const [name] of FUNCTIONS) env[name] = imports[name];
  // Everything but the code section is the same for every block.
  const head = new Bytes().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const types = new Bytes().u32(counts.length);
  for (const n of counts) { types.byte(FUNC).u32(n); for (let i = 0; i < n; i++) types.byte(I32); types.u32(1).byte(I32); }
  head.section(1, types);
  const imps = new Bytes().u32(FUNCTIONS.length + 1);
  imps.name("env").name("memory").byte(0x02).byte(0x00).u32(0); // memory, min 0 pages, no max
  for (const [name, n] of FUNCTIONS) imps.name("env").name(name).byte(0x00).u32(typeOf(n));
  head.section(2, imps);
  head.section(3, new Bytes().u32(1).u32(typeOf(PARAMS)));
  head.section(7, new Bytes().u32(1).name("block").byte(0x00).u32(BLOCK_FN));
  const prefix = head.view().slice();
  return (plan) => {
    if (LOOP_BLOCKS_ONLY && plan.loop === null) return null;
    const { used, written } = planRegs(plan);
    const body = new BodyWriter(sBase, dBase, ramBase, imports.hotViews, written, plan.loop !== null).body(plan, used);
    const code = new Bytes().u32(1).u32(body.length).bytes(body);
    const module = new Bytes().bytes(prefix).section(10, code);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(module.view()), { env: env as WebAssembly.ModuleImports });
    return instance.exports.block as BlockFn;
  };
}
