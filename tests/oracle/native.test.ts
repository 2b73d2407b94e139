// Tests of the silicon oracle harness itself (tests/oracle/native), against
// expectations calculated by hand beside each test. They hold in both of its modes
// (OracleMode): where 64-bit mode differs (a push is 8 bytes; INT 0x80 has no gate on
// some 64-bit kernels), the test says what each mode gives. Memory operands use the
// SIB form with no base (04 25 disp32), which means [disp32] in both modes; 05 disp32
// would be RIP-relative in 64-bit mode, and A1/A3 take an 8-byte address there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CODE_BASE,
  DATA_BASE,
  DATA_SIZE,
  DEFAULT_ESP,
  EFLAGS,
  NativeOracle,
  STACK_BASE,
  STACK_SIZE,
  initialEflags,
  type SnippetCase,
  type SnippetResult,
} from './native/oracle.js';

const reason = NativeOracle.unavailableReason();
if (reason !== undefined) console.warn(`silicon oracle tests skipped: ${reason}`);
/** Whether snippets run in 64-bit mode (docs/oracle.md, "Long mode"). */
const LONG = reason === undefined && NativeOracle.mode() === 'long';
/** Bytes a PUSH of a register moves ESP by: the stack width. */
const PUSH = LONG ? 8 : 4;

const ARITH = EFLAGS.CF | EFLAGS.PF | EFLAGS.AF | EFLAGS.ZF | EFLAGS.SF | EFLAGS.OF;

/** regs in the order eax ecx edx ebx esp ebp esi edi; esp defaults to DEFAULT_ESP. */
function mk(code: number[], r: Partial<Record<'eax' | 'ecx' | 'edx' | 'ebx' | 'esp' | 'ebp' | 'esi' | 'edi', number>> = {}, eflags = 0, data: number[] | Uint8Array = []): SnippetCase {
  return {
    code: Uint8Array.from(code),
    regs: Uint32Array.from([r.eax ?? 0, r.ecx ?? 0, r.edx ?? 0, r.ebx ?? 0, r.esp ?? DEFAULT_ESP, r.ebp ?? 0, r.esi ?? 0, r.edi ?? 0]),
    eflags,
    data: Uint8Array.from(data),
  };
}

const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4;

describe.skipIf(reason !== undefined)('silicon oracle harness', () => {
  let oracle: NativeOracle;
  beforeAll(async () => {
    oracle = await NativeOracle.open();
  });
  afterAll(() => oracle?.close());

  const run1 = async (c: SnippetCase): Promise<SnippetResult> => (await oracle.run([c]))[0]!;

  it('add eax, ebx: 0x7FFFFFFF + 1', async () => {
    // 01 D8 = add eax, ebx. 0x7FFFFFFF + 1 = 0x80000000: signed overflow
    // (two positives give a negative) so OF=1, SF=1 (bit 31), no carry out of
    // bit 31 so CF=0, ZF=0; low byte 0x00 has an even number of ones so PF=1;
    // 0xF + 0x1 carries out of bit 3 so AF=1. EFLAGS = 0x800|0x80|0x10|0x4|0x202 = 0xA96.
    const r = await run1(mk([0x01, 0xd8], { eax: 0x7fffffff, ebx: 1 }));
    expect(r.status).toBe('ok');
    expect(r.regs[EAX]).toBe(0x80000000);
    expect(r.regs[EBX]).toBe(1);
    expect(r.eflags & EFLAGS.OF).toBeTruthy();
    expect(r.eflags & EFLAGS.SF).toBeTruthy();
    expect(r.eflags & EFLAGS.CF).toBe(0);
    expect(r.eflags).toBe(0xa96);
    expect(r.eip).toBe(CODE_BASE + 2);
  });

  it('sub with borrow sets CF and ZF clear; cmp equal sets ZF', async () => {
    // 29 D8 = sub eax, ebx: 1 - 2 = 0xFFFFFFFF, borrow so CF=1, SF=1, OF=0,
    // low byte 0xFF has eight ones so PF=1, low nibble 1-2 borrows so AF=1.
    // Then 39 C0 = cmp eax, eax: result 0, ZF=1 PF=1, all others 0.
    const [a, b] = await oracle.run([mk([0x29, 0xd8], { eax: 1, ebx: 2 }), mk([0x39, 0xc0], { eax: 0x1234 })]);
    expect(a!.regs[EAX]).toBe(0xffffffff);
    expect(a!.eflags & ARITH).toBe(EFLAGS.CF | EFLAGS.SF | EFLAGS.PF | EFLAGS.AF);
    expect(b!.eflags & ARITH).toBe(EFLAGS.ZF | EFLAGS.PF);
  });

  it('mov [0x300010], eax changes four data bytes, little-endian', async () => {
    // 89 04 25 10 00 30 00 = mov [0x00300010], eax. Data starts as bytes 0..31.
    const init = Array.from({ length: 32 }, (_, i) => i);
    const r = await run1(mk([0x89, 0x04, 0x25, 0x10, 0x00, 0x30, 0x00], { eax: 0xdeadbeef }, 0, init));
    expect(r.status).toBe('ok');
    expect(r.data.length).toBe(DATA_SIZE);
    const expected = new Uint8Array(DATA_SIZE);
    expected.set(init);
    expected.set([0xef, 0xbe, 0xad, 0xde], 0x10);
    expect(Buffer.from(r.data).equals(expected)).toBe(true);
    expect(Buffer.from(r.stack).equals(new Uint8Array(STACK_SIZE))).toBe(true);
    // The compact form: one run with the four new bytes.
    expect(r.writes).toEqual([{ addr: DATA_BASE + 0x10, bytes: Uint8Array.from([0xef, 0xbe, 0xad, 0xde]) }]);
  });

  it('a store straddling the end of the data region lands in both regions', async () => {
    // 89 03 = mov [ebx], eax with ebx = 0x30FFFE: bytes 78 56 at the last two
    // data bytes, 34 12 at the first two stack bytes.
    const r = await run1(mk([0x89, 0x03], { eax: 0x12345678, ebx: STACK_BASE - 2 }));
    expect(r.status).toBe('ok');
    expect(Array.from(r.data.subarray(DATA_SIZE - 2))).toEqual([0x78, 0x56]);
    expect(Array.from(r.stack.subarray(0, 2))).toEqual([0x34, 0x12]);
  });

  it('an unchanged byte rewritten with its own value is not a write', async () => {
    // 88 04 25 00 00 30 00 = mov [0x300000], al with al = 0x5A and data[0] = 0x5A.
    const r = await run1(mk([0x88, 0x04, 0x25, 0x00, 0x00, 0x30, 0x00], { eax: 0x5a }, 0, [0x5a]));
    expect(r.status).toBe('ok');
    expect(r.writes).toEqual([]);
    expect(r.data[0]).toBe(0x5a);
  });

  it('reads the initial data region and leaves nothing behind for the next case', async () => {
    // 8B 04 25 00 00 30 00 = mov eax, [0x00300000]; data 78 56 34 12 -> eax 0x12345678.
    // The same load in the next case, with no data, must read zero.
    const load = [0x8b, 0x04, 0x25, 0x00, 0x00, 0x30, 0x00];
    const [a, b] = await oracle.run([mk(load, {}, 0, [0x78, 0x56, 0x34, 0x12]), mk(load, { eax: 9 })]);
    expect(a!.regs[EAX]).toBe(0x12345678);
    expect(b!.regs[EAX]).toBe(0);
  });

  it('push eax writes the stack and moves esp down by the stack width', async () => {
    // 50 = push eax: esp 0x31F000 -> 0x31EFFC, bytes 44 33 22 11 at 0x31EFFC. In 64-bit
    // mode it pushes RAX (zero-extended on entry): esp 0x31EFF8, 44 33 22 11 00 00 00 00.
    const r = await run1(mk([0x50], { eax: 0x11223344 }));
    expect(r.status).toBe('ok');
    expect(r.regs[ESP]).toBe(DEFAULT_ESP - PUSH);
    const off = DEFAULT_ESP - PUSH - STACK_BASE;
    expect(Array.from(r.stack.subarray(off, off + PUSH))).toEqual([0x44, 0x33, 0x22, 0x11, ...(LONG ? [0, 0, 0, 0] : [])]);
    expect(r.stack.reduce((s, v) => s + v, 0)).toBe(0x44 + 0x33 + 0x22 + 0x11);
    // The next case starts with a zeroed stack again.
    const r2 = await run1(mk([0x58], { eax: 5 })); // 58 = pop eax: reads the zero at 0x31F000
    expect(r2.regs[EAX]).toBe(0);
    expect(r2.regs[ESP]).toBe(DEFAULT_ESP + PUSH);
  });

  it('div ecx with ecx = 0 raises #DE (vector 0) at the div', async () => {
    // F7 F1 = div ecx. The fault leaves eip at the div and eax unchanged.
    const r = await run1(mk([0x90, 0xf7, 0xf1], { eax: 5 }));
    expect(r.status).toBe('fault');
    expect(r.vector).toBe(0);
    expect(r.eip).toBe(CODE_BASE + 1);
    expect(r.regs[EAX]).toBe(5);
  });

  it('ud2 raises #UD (vector 6)', async () => {
    const r = await run1(mk([0x0f, 0x0b]));
    expect(r.status).toBe('fault');
    expect(r.vector).toBe(6);
    expect(r.eip).toBe(CODE_BASE);
  });

  it('a load from an unmapped page raises #PF with the address and error code', async () => {
    // 8B 00 = mov eax, [eax] with eax = 0x1000 (unmapped). Error code 4 =
    // user-mode read of a not-present page; CR2 = 0x1000.
    const r = await run1(mk([0x8b, 0x00], { eax: 0x1000 }));
    expect(r.status).toBe('fault');
    expect(r.vector).toBe(14);
    expect(r.errorCode).toBe(4);
    expect(r.faultAddress).toBe(0x1000);
  });

  it('int 0x21 and hlt raise #GP (vector 13); int3 traps with vector 3 after the int3', async () => {
    // int n with a DPL-0 gate: #GP with error code n*8 + 2 (IDT, EXT=0) = 0x10A.
    // hlt at CPL 3: #GP(0). FF C0 = inc eax; CC = int3: a trap, eip is after it.
    const [a, b, c] = await oracle.run([mk([0xcd, 0x21]), mk([0xf4]), mk([0xff, 0xc0, 0xcc], { eax: 1 })]);
    expect([a!.status, a!.vector, a!.errorCode]).toEqual(['fault', 13, 0x10a]);
    expect([b!.status, b!.vector, b!.errorCode]).toEqual(['fault', 13, 0]);
    expect([c!.status, c!.vector, c!.eip, c!.regs[EAX]]).toEqual(['fault', 3, CODE_BASE + 3, 2]);
  });

  it('TF set by popfd single-steps: #DB (vector 1) after the instruction following popfd', async () => {
    // 9C pushfd; 81 0C 24 00 01 00 00 or dword [esp], 0x100; 9D popfd; 90 nop; 90 nop.
    // The trap comes after the first nop (offset 9), so eip = CODE_BASE + 10.
    const r = await run1(mk([0x9c, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, 0x90, 0x90]));
    expect([r.status, r.vector, r.eip]).toEqual(['fault', 1, CODE_BASE + 10]);
    expect(r.eflags & EFLAGS.TF).toBeTruthy();
  });

  it('AC set by popfd makes a misaligned load raise #AC (vector 17); the next case is unaffected', async () => {
    // 9C; 81 0C 24 00 00 04 00 = or dword [esp], 0x40000; 9D; 8B 04 25 01 00 30 00 = mov eax, [0x300001].
    const load = [0x8b, 0x04, 0x25, 0x01, 0x00, 0x30, 0x00];
    const [a, b] = await oracle.run([
      mk([0x9c, 0x81, 0x0c, 0x24, 0x00, 0x00, 0x04, 0x00, 0x9d, ...load]),
      mk(load, {}, 0, [0, 1, 2, 3, 4]),
    ]);
    expect([a!.status, a!.vector, a!.errorCode, a!.eip]).toEqual(['fault', 17, 0, CODE_BASE + 9]);
    expect([b!.status, b!.regs[EAX]]).toEqual(['ok', 0x04030201]);
  });

  it('system calls from a snippet are stopped (vector 256, errorCode = number)', async () => {
    // B8 01 00 00 00 = mov eax, 1 (exit); CD 80 = int 0x80. It must not end the harness.
    // B8 02 00 00 00; 0F 05 = syscall with eax 2 (fork in ia32; open in 64-bit mode) -- on
    // Intel SYSCALL is #UD in compatibility mode, on AMD it enters the kernel and is stopped.
    const [a, b, c] = await oracle.run([
      mk([0xb8, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x80]),
      mk([0xb8, 0x02, 0x00, 0x00, 0x00, 0x0f, 0x05]),
      mk([0xff, 0xc0]),
    ]);
    // In 64-bit mode INT 0x80 is the 32-bit system call gate where the kernel emulates
    // IA-32, else no gate: #GP(0x80 * 8 + 2).
    const int80 = [a!.status, a!.vector, a!.errorCode, a!.eip];
    if (LONG && a!.vector === 13) expect(int80).toEqual(['fault', 13, 0x402, CODE_BASE + 5]);
    else expect(int80).toEqual(['fault', 256, 1, CODE_BASE + 7]);
    expect(b!.status).toBe('fault');
    if (LONG) expect([b!.vector, b!.errorCode, b!.eip]).toEqual([256, 2, CODE_BASE + 7]);
    else expect([256, 6]).toContain(b!.vector);
    expect([c!.status, c!.regs[EAX]]).toEqual(['ok', 1]);
  });

  it('a snippet that loads null into DS/ES (ia32: FS/GS too) does not break the harness', async () => {
    // 31 C0 xor eax, eax; 8E D8 mov ds, ax; 8E C0 mov es, ax; 8E E0 mov fs, ax; 8E E8 mov gs, ax.
    // In 64-bit mode a null FS or GS load clears that base on Intel (AMD keeps it, which
    // Linux calls X86_BUG_NULL_SEG), and the 64-bit harness keeps its TLS there and does
    // not restore it; the long-mode generator emits no segment loads, so that mode loads
    // DS and ES only.
    const loads = LONG ? [0x8e, 0xd8, 0x8e, 0xc0] : [0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xe0, 0x8e, 0xe8];
    const [a, b] = await oracle.run([mk([0x31, 0xc0, ...loads]), mk([0xff, 0xc0])]);
    expect(a!.status).toBe('ok');
    expect([b!.status, b!.regs[EAX]]).toEqual(['ok', 1]);
  });

  it('jmp $ hits the timeout instead of hanging; the harness carries on', async () => {
    // EB FE = jmp $.
    const [a, b] = await oracle.run([mk([0xeb, 0xfe]), mk([0xff, 0xc0], { eax: 41 })]);
    expect(a!.status).toBe('timeout');
    expect(a!.eip).toBe(CODE_BASE);
    expect(b!.status).toBe('ok');
    expect(b!.regs[EAX]).toBe(42);
  });

  it('EFLAGS round-trips: CF set, nop, CF still set; DF too; TF/IF/AC are not settable', async () => {
    const c = mk([0x90], {}, EFLAGS.CF | EFLAGS.DF | EFLAGS.TF | EFLAGS.AC);
    expect(initialEflags(c)).toBe(0x603); // CF | bit 1 | IF | DF
    const r = await run1(c);
    expect(r.status).toBe('ok');
    expect(r.eflags).toBe(0x603);
    // All settable flags together: 0xCD5 | 0x202 = 0xED7.
    const all = await run1(mk([0x90], {}, 0xffffffff));
    expect(all.eflags).toBe(0xed7);
  });

  it('all eight registers load and store, including esp and ebp', async () => {
    // 90 = nop: every register comes back as it went in.
    const regs = { eax: 0x01020304, ecx: 0x11121314, edx: 0x21222324, ebx: 0x31323334, esp: 0x00318000, ebp: 0x51525354, esi: 0x61626364, edi: 0x71727374 };
    const r = await run1(mk([0x90], regs));
    expect(Array.from(r.regs)).toEqual(Object.values(regs));
  });

  it('a snippet with a bad esp faults without disturbing the harness', async () => {
    // 50 = push eax with esp = 0: the write to 0xFFFFFFFC (64-bit mode: to the kernel's
    // half, 0xFFFFFFFFFFFFFFF8) faults (#PF), the next case runs normally.
    const [a, b] = await oracle.run([mk([0x50], { esp: 0 }), mk([0x50], { eax: 7 })]);
    expect(a!.status).toBe('fault');
    expect(a!.vector).toBe(14);
    expect(b!.status).toBe('ok');
    expect(b!.stack[DEFAULT_ESP - PUSH - STACK_BASE]).toBe(7);
  });

  it('rep stosb with DF=1 fills downwards and DF is cleared for the next case', async () => {
    // F3 AA = rep stosb: edi 0x300010, ecx 4, al 0xAB, DF=1 -> bytes
    // 0x30000D..0x300010 = AB, edi = 0x30000C, ecx = 0.
    const [a, b] = await oracle.run([
      mk([0xf3, 0xaa], { eax: 0xab, ecx: 4, edi: DATA_BASE + 0x10 }, EFLAGS.DF),
      mk([0xaa], { eax: 0xcd, edi: DATA_BASE + 0x20 }),
    ]);
    expect(a!.regs[ECX]).toBe(0);
    expect(a!.regs[7]).toBe(DATA_BASE + 0x0c);
    expect(Array.from(a!.data.subarray(0x0c, 0x12))).toEqual([0, 0xab, 0xab, 0xab, 0xab, 0]);
    expect(b!.regs[7]).toBe(DATA_BASE + 0x21); // DF=0: stosb increments
    expect(b!.data[0x20]).toBe(0xcd);
  });

  it('mul writes edx:eax', async () => {
    // F7 E1 = mul ecx: 0x80000000 * 4 = 0x2_00000000 -> edx 2, eax 0, CF=OF=1.
    const r = await run1(mk([0xf7, 0xe1], { eax: 0x80000000, ecx: 4 }));
    expect(r.regs[EAX]).toBe(0);
    expect(r.regs[EDX]).toBe(2);
    expect(r.eflags & (EFLAGS.CF | EFLAGS.OF)).toBe(EFLAGS.CF | EFLAGS.OF);
  });

  it('runSync gives the same results as run', async () => {
    const cases = [mk([0x01, 0xd8], { eax: 3, ebx: 4 }), mk([0x0f, 0x0b])];
    const a = NativeOracle.runSync(cases);
    const b = await oracle.run(cases);
    const strip = ({ data, stack, ...rest }: SnippetResult) => ({ ...rest, data: Buffer.from(data).toString('hex'), stack: Buffer.from(stack).toString('hex') });
    expect(a.map(strip)).toEqual(b.map(strip));
  });

  it('serves thousands of cases per second', async () => {
    // Typical fuzz case: a few instructions, 256 bytes of data.
    const data = new Uint8Array(256);
    for (let i = 0; i < 256; i++) data[i] = (i * 37 + 11) & 0xff;
    const cases: SnippetCase[] = [];
    for (let i = 0; i < 10_000; i++) {
      // add eax, [0x300000 + (i & 0xfc)]; mov [0x300000 + (i & 0xfc)], eax; push eax
      const off = i & 0xfc;
      cases.push(mk([0x03, 0x04, 0x25, off, 0x00, 0x30, 0x00, 0x89, 0x04, 0x25, off, 0x00, 0x30, 0x00, 0x50], { eax: i }, i & 0xcd5, data));
    }
    const t0 = performance.now();
    const res = await oracle.run(cases);
    const secs = (performance.now() - t0) / 1000;
    console.log(`silicon oracle: ${cases.length} cases in ${secs.toFixed(3)} s = ${Math.round(cases.length / secs)} cases/s`);
    expect(res.length).toBe(cases.length);
    const i = 1234, off = i & 0xfc;
    const loaded = data[off]! | (data[off + 1]! << 8) | (data[off + 2]! << 16) | (data[off + 3]! << 24);
    expect(res[i]!.regs[EAX]).toBe((loaded + i) >>> 0);
    expect(cases.length / secs).toBeGreaterThan(1000);
  });
});
