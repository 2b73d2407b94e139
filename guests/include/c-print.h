// c-print.h - number and string output for C guests (docs/guests.md, "C guests"), over
// the putc_() the including file defines first: COM1 on a guest, stdout on a host build.
#ifndef C_PRINT_H
#define C_PRINT_H

#include <stdint.h>

static void putc_(char c);

static void puts_(const char *s) { while (*s) putc_(*s++); }

// Decimal through division by 10, which GCC turns into a multiplication by a reciprocal.
static void put_u32(uint32_t v) {
  char buf[11];
  int i = 0;
  do { buf[i++] = (char)('0' + v % 10); v /= 10; } while (v != 0);
  while (i > 0) putc_(buf[--i]);
}

static void put_i32(int32_t v) {
  if (v < 0) { putc_('-'); put_u32(0u - (uint32_t)v); } else put_u32((uint32_t)v);
}

/** "0x" and exactly `digits` lower-case hex digits. */
static void put_hex(uint64_t v, int digits) {
  puts_("0x");
  for (int i = digits - 1; i >= 0; i--) putc_("0123456789abcdef"[(v >> (i * 4)) & 15]);
}

#endif
