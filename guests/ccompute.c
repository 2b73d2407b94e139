// output: ccompute.elf
// ccompute - a guest written in C and compiled by GCC (-m32 -march=i686 -O2), so that
// vmxlab runs the instruction mix a compiler emits rather than what a person writes in
// NASM: division by constants as multiplications, 64-bit arithmetic through libgcc
// (__udivdi3 and friends: SHLD/SHRD, BSR, DIV; Debian builds libgcc with CET, so each of
// its functions starts with ENDBR32, a hint NOP here), CMOVcc and SETcc, a jump table,
// calls through pointers, BSF, BSWAP, rotates, MOVSX/MOVZX, IMUL in its three forms,
// CDQ/IDIV, REP MOVSB up and down and REP STOSB, recursion.
//
// The same file compiled for the host (-DHOSTED, tools/build-guests.mjs hostedBuild) prints
// the same lines: the host CPU running the same C is the oracle for the values, and
// QEMU (guests-build.test.ts) for the guest as a whole. Build: docs/guests.md, "C guests".
// Some values need no emulator to check: crc32's first is CRC-32's standard check value,
// fib(30) = 832040, ack(2, n) = 2n + 3, and there are 1229 primes below 10000, the largest
// 9973.
// Expected output (verified on QEMU 7.2 and the host build):
//   ccompute: C compiled by gcc -m32
//   fmt: -2147483648 4294967295 0x00c0ffee -12345 0
//   div64: 0x000000007a2aff56 0x0000000000001aef 0x00000000b2d05e00
//   shift64: 0xfffffffffffff000 0x00000fffffffffff 0xffff000000000000
//   mul64: 0x7ffffffe80000001 0xfffffffe00000001 0x1b4e81b4fc68acf1
//   crc32: 0xcbf43926 0x414fa339
//   bits: 20 3 1 31 0x78563412 0xa9ebadaa 15
//   sort: 0 3 7 8 19 23 42 64 88 91 100 511
//   switch: 0x95f1e1ca
//   fib: 832040 ack: 253
//   sieve: 1229 9973
//   sha-ish: 0xa3593b07
//   mem: 0xea0169b3
//   checksum: 0x75b2b81a
//   bye
//
// cflags: -O2
// toolchain: gcc (Debian 12.2.0-14+deb12u1) 12.2.0; GNU ld (GNU Binutils for Debian) 2.40

#ifdef HOSTED
#include <stdint.h>
#include <stddef.h>
#include <unistd.h>
static void putc_(char c) { (void)write(1, &c, 1); }
static void finish(int status) { _exit(status); }
#include "c-print.h"
#else
#include "c-guest.h"
#endif

// Hex without leading zeros, for values whose width is not the point.
static void put_hex_short(uint64_t v) {
  int digits = 1;
  while (digits < 16 && (v >> (digits * 4)) != 0) digits++;
  put_hex(v, digits);
}

// Every printed value also goes into one running checksum, so a difference anywhere
// shows in the last line too.
static uint32_t sum = 0x12345678;
static void fold(uint64_t v) {
  sum = (sum << 5 | sum >> 27) ^ (uint32_t)v;
  sum = sum * 0x9e3779b1u + (uint32_t)(v >> 32);
}

// `volatile` keeps GCC from folding the tests at compile time: the guest must compute them.
static volatile uint32_t seed = 0xc0ffee;
static volatile int32_t neg = -12345;
static volatile int32_t seventeen = 17;
static volatile int order[2] = { 1, 0 };

// ---- the workloads ----

static void fmt(void) {
  puts_("fmt: ");
  put_i32(INT32_MIN); putc_(' ');
  put_u32(UINT32_MAX); putc_(' ');
  put_hex(seed, 8); putc_(' ');
  put_i32(neg); putc_(' ');
  put_i32(0); putc_('\n');
  fold((uint32_t)INT32_MIN); fold(seed); fold((uint32_t)neg);
}

static void div64(void) {
  volatile uint64_t a = 0x0123456789abcdefull, b = 0x2625a00ull, c = 3000000000ull;
  uint64_t q = a / b, r = a % b % 10000, m = c * 1;
  puts_("div64: ");
  put_hex(q, 16); putc_(' '); put_hex(r, 16); putc_(' '); put_hex(m, 16); putc_('\n');
  fold(q); fold(r); fold(m);
}

static void shift64(void) {
  volatile int64_t s = -4096;
  volatile uint64_t u = ~0ull;
  volatile int n = 20, k = 48;
  int64_t a = s >> (n - 20);
  uint64_t b = u >> n, c = u << k;
  puts_("shift64: ");
  put_hex((uint64_t)a, 16); putc_(' '); put_hex(b, 16); putc_(' '); put_hex(c, 16); putc_('\n');
  fold((uint64_t)a); fold(b); fold(c);
}

static void mul64(void) {
  volatile uint64_t a = 0xffffffffull, b = 0x7fffffffull;
  volatile uint64_t x = 0x123456789ull, y = 0x18000000ull;
  uint64_t p = a * b, q = a * a, r = x * y + (x >> 3);
  puts_("mul64: ");
  put_hex(p, 16); putc_(' '); put_hex(q, 16); putc_(' '); put_hex_short(r); putc_('\n');
  fold(p); fold(q); fold(r);
}

// CRC-32 (IEEE 802.3, reflected, polynomial 0xedb88320), table-driven: the check value
// of "123456789" is 0xcbf43926 (the standard check value of this CRC).
static uint32_t crc_table[256];
static uint32_t crc32(const uint8_t *p, size_t n) {
  uint32_t c = ~0u;
  while (n--) c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
  return ~c;
}

static void crc(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
    crc_table[i] = c;
  }
  static const char check[] = "123456789";
  static const char fox[] = "The quick brown fox jumps over the lazy dog";
  uint32_t a = crc32((const uint8_t *)check, 9), b = crc32((const uint8_t *)fox, sizeof fox - 1);
  puts_("crc32: "); put_hex(a, 8); putc_(' '); put_hex(b, 8); putc_('\n');
  fold(a); fold(b);
}

static int popcount(uint32_t v) { int n = 0; while (v) { v &= v - 1; n++; } return n; }

static void bits(void) {
  volatile uint32_t v = 0x0fedcba8, w = 0x12345678, one = 1;
  uint32_t pc = (uint32_t)popcount(v + 0x3000);
  uint32_t tz = (uint32_t)__builtin_ctz(v);             // REP BSF (TZCNT's encoding)
  uint32_t lz = (uint32_t)__builtin_clz(v >> 24 | 0x40000000);  // BSR, XOR 31
  uint32_t hi = 31 - (uint32_t)__builtin_clz(one << 31);
  uint32_t bs = __builtin_bswap32(w);
  uint32_t ro = (w << 7 | w >> 25) ^ (w >> 13 | w << 19) ^ one;  // ROL, ROR
  int32_t sx = (int8_t)(uint8_t)(w & 0xff) + (int16_t)(uint16_t)(v >> 16);  // MOVSX
  uint32_t t = (uint32_t)(sx % seventeen + seventeen) % 17;                  // CDQ, IDIV
  puts_("bits: ");
  put_u32(pc); putc_(' '); put_u32(tz); putc_(' '); put_u32(lz); putc_(' '); put_u32(hi); putc_(' ');
  put_hex(bs, 8); putc_(' '); put_hex(ro, 8); putc_(' '); put_u32(t); putc_('\n');
  fold(pc); fold(tz); fold(lz); fold(hi); fold(bs); fold(ro); fold(t);
}

// Insertion sort through a comparison function reached by pointer (an indirect call).
typedef int (*cmp_fn)(int32_t, int32_t);
static int less(int32_t a, int32_t b) { return a < b; }
static int more(int32_t a, int32_t b) { return a > b; }
static volatile cmp_fn cmps[2] = { less, more };
static void sort_by(int32_t *v, int n, cmp_fn before) {
  for (int i = 1; i < n; i++) {
    int32_t x = v[i];
    int j = i - 1;
    while (j >= 0 && before(x, v[j])) { v[j + 1] = v[j]; j--; }
    v[j + 1] = x;
  }
}

static void sorting(void) {
  int32_t v[12] = { 42, 7, 511, 0, 88, 19, 3, 100, 64, 23, 91, 8 };
  sort_by(v, 12, cmps[order[0]]);
  sort_by(v, 12, cmps[order[1]]);
  puts_("sort:");
  for (int i = 0; i < 12; i++) { putc_(' '); put_i32(v[i]); fold((uint32_t)v[i] * (uint32_t)(i + 1)); }
  putc_('\n');
}

// A dense switch, which GCC compiles to a jump table (JMP through memory).
static uint32_t step(uint32_t op, uint32_t x) {
  switch (op) {
    case 0: return x + 0x9e3779b9u;
    case 1: return x ^ (x >> 7);
    case 2: return x * 0x85ebca6bu;
    case 3: return (x << 13) | (x >> 19);
    case 4: return x - 0x61c88647u;
    case 5: return ~x;
    case 6: return x ^ (x << 9);
    case 7: return (uint32_t)((int32_t)x >> 3);
    case 8: return x + (x << 2);
    case 9: return x / 3;
    default: return x;
  }
}

static void switching(void) {
  uint32_t x = seed;
  for (uint32_t i = 0; i < 1000; i++) x = step((x ^ i) % 11, x);
  puts_("switch: "); put_hex(x, 8); putc_('\n');
  fold(x);
}

static uint32_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static uint32_t ack(uint32_t m, uint32_t n) {
  if (m == 0) return n + 1;
  if (n == 0) return ack(m - 1, 1);
  return ack(m - 1, ack(m, n - 1));
}

static void recursion(void) {
  volatile uint32_t n = 30, m = 2, k = 125;
  uint32_t f = fib(n), a = ack(m, k);
  puts_("fib: "); put_u32(f); puts_(" ack: "); put_u32(a); putc_('\n');
  fold(f); fold(a);
}

static uint8_t sieve_bits[10000];
static void sieve(void) {
  // memset is a builtin here: GCC may emit REP STOS for it.
  __builtin_memset(sieve_bits, 1, sizeof sieve_bits);
  sieve_bits[0] = sieve_bits[1] = 0;
  for (uint32_t i = 2; i * i < sizeof sieve_bits; i++)
    if (sieve_bits[i]) for (uint32_t j = i * i; j < sizeof sieve_bits; j += i) sieve_bits[j] = 0;
  uint32_t count = 0, last = 0;
  for (uint32_t i = 0; i < sizeof sieve_bits; i++) if (sieve_bits[i]) { count++; last = i; }
  puts_("sieve: "); put_u32(count); putc_(' '); put_u32(last); putc_('\n');
  fold(count); fold(last);
}

// Rounds in the style of a hash compression function: rotates, additions, a message
// schedule in an array, 64 rounds.
static void hashish(void) {
  uint32_t w[64];
  uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
  for (int i = 0; i < 16; i++) w[i] = seed * (uint32_t)(i + 1) ^ (uint32_t)i << 24;
  for (int i = 16; i < 64; i++) {
    uint32_t a = w[i - 15], b = w[i - 2];
    uint32_t s0 = (a >> 7 | a << 25) ^ (a >> 18 | a << 14) ^ (a >> 3);
    uint32_t s1 = (b >> 17 | b << 15) ^ (b >> 19 | b << 13) ^ (b >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  for (int r = 0; r < 64; r++) {
    uint32_t e = h[4], a = h[0];
    uint32_t t1 = h[7] + ((e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)) + ((e & h[5]) ^ (~e & h[6])) + w[r];
    uint32_t t2 = ((a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)) + ((a & h[1]) ^ (a & h[2]) ^ (h[1] & h[2]));
    for (int i = 7; i > 0; i--) h[i] = h[i - 1];
    h[4] += t1; h[0] = t1 + t2;
  }
  uint32_t x = 0;
  for (int i = 0; i < 8; i++) x ^= h[i] + (uint32_t)i;
  puts_("sha-ish: "); put_hex(x, 8); putc_('\n');
  fold(x);
}

// Copies and compares through the string builtins, overlapping moves, and struct copies.
struct rec { uint32_t a; uint16_t b; uint8_t c; int8_t d; uint32_t e[5]; };
static struct rec recs[16];
static void memory(void) {
  static uint8_t buf[600];
  for (int i = 0; i < 600; i++) buf[i] = (uint8_t)(i * 7 + (i >> 3));
  __builtin_memmove(buf + 3, buf, 500);
  __builtin_memcpy(buf + 520, buf + 17, 64);
  for (int i = 0; i < 16; i++) {
    struct rec r = { (uint32_t)i * 0x01010101u, (uint16_t)(i * 300), (uint8_t)(i * 20), (int8_t)(-i * 9), { 1, 2, 3, 4, (uint32_t)i } };
    recs[15 - i] = r;
  }
  uint32_t x = 0;
  for (int i = 0; i < 600; i++) x = x * 31 + buf[i];
  for (int i = 0; i < 16; i++) x += recs[i].a ^ recs[i].b ^ (uint32_t)(recs[i].c * recs[i].d) ^ recs[i].e[4];
  x += (uint32_t)__builtin_memcmp(buf, buf + 3, 8) > 0;
  puts_("mem: "); put_hex(x, 8); putc_('\n');
  fold(x);
}

int kmain(void) {
#ifndef HOSTED
  uart_init();
#endif
  puts_("ccompute: C compiled by gcc -m32\n");
  fmt();
  div64();
  shift64();
  mul64();
  crc();
  bits();
  sorting();
  switching();
  recursion();
  sieve();
  hashish();
  memory();
  puts_("checksum: "); put_hex(sum, 8); putc_('\n');
  puts_("bye\n");
  finish(0);
  return 0;
}

#ifdef HOSTED
int main(void) { return kmain(); }
#endif
