// c-guest.h - what a C guest needs to follow the machine contract (docs/guests.md): the
// multiboot header, an entry that sets a stack and calls kmain(), port I/O, COM1 output
// (and c-print.h over it), the exit that stops vmxlab, QEMU and Bochs, and the string
// functions GCC may call in a freestanding program. One guest is one C file that includes
// this once.
#ifndef C_GUEST_H
#define C_GUEST_H

#include <stdint.h>
#include <stddef.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

enum { COM1 = 0x3f8, LSR = COM1 + 5, LSR_THRE = 0x20, LSR_TEMT = 0x40 };

// The 16550 on COM1, polled (PC16550D datasheet): 115200 8N1, FIFOs on, no interrupts.
static void uart_init(void) {
  outb(COM1 + 1, 0);     // IER: no interrupts, the guest polls
  outb(COM1 + 3, 0x80);  // LCR.DLAB to reach the divisor
  outb(COM1 + 0, 1);     // 115200 baud
  outb(COM1 + 1, 0);
  outb(COM1 + 3, 0x03);  // 8N1 (Bochs resets to 5 data bits: shared/PEERS.md)
  outb(COM1 + 2, 0xc7);  // FIFOs on and cleared
}

static void putc_(char c) {
  while ((inb(LSR) & LSR_THRE) == 0) {}
  outb(COM1, (uint8_t)c);
}

#include "c-print.h"

// The machine contract: QEMU's isa-debug-exit at 0xf4 and vmxlab stop there; Bochs stops
// on "Shutdown" written to port 0x8900.
static void __attribute__((noreturn)) finish(int status) {
  while ((inb(LSR) & LSR_TEMT) == 0) {}
  outb(0xf4, (uint8_t)status);
  for (const char *p = "Shutdown"; *p; p++) outb(0x8900, (uint8_t)*p);
  for (;;) __asm__ volatile("cli; hlt");
}

// What GCC may call for the string builtins, written with the string instructions: REP
// STOSB, REP MOVSB forward, and backward with DF=1 for an overlapping move up (SDM 2B MOVS).
void *memset(void *d, int c, size_t n) {
  void *r = d;
  __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
  return r;
}
void *memcpy(void *d, const void *s, size_t n) {
  void *r = d;
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
  return r;
}
void *memmove(void *d, const void *s, size_t n) {
  if ((uintptr_t)d <= (uintptr_t)s || (uintptr_t)d >= (uintptr_t)s + n) return memcpy(d, s, n);
  void *r = d;
  const uint8_t *sl = (const uint8_t *)s + n - 1;
  uint8_t *dl = (uint8_t *)d + n - 1;
  __asm__ volatile("std; rep movsb; cld" : "+D"(dl), "+S"(sl), "+c"(n) : : "memory");
  return r;
}
int memcmp(const void *a, const void *b, size_t n) {
  const uint8_t *x = a, *y = b;
  for (; n != 0; n--, x++, y++) if (*x != *y) return *x < *y ? -1 : 1;
  return 0;
}

int kmain(void);

// Multiboot v1 header (spec 3.1.1-3.1.3): magic, flags (bit 1: ask for memory info; no
// bit 16, so a loader reads the ELF program headers), checksum. c-guest.ld puts its section
// first, well inside the first 8 KiB.
#define MB_MAGIC 0x1badb002u
#define MB_FLAGS 0x00000002u
__attribute__((section(".multiboot"), used, aligned(4)))
static const uint32_t multiboot_header[3] = { MB_MAGIC, MB_FLAGS, 0u - MB_MAGIC - MB_FLAGS };

// Multiboot spec 3.2: ESP is undefined at entry, so the guest sets its own stack first;
// the multiboot information's address (EBX) is kept in boot_info. The entry goes
// in .text whatever section the compiler was emitting last (at -O0, .bss).
uint8_t boot_stack[16384] __attribute__((aligned(16)));
uint32_t boot_info;
__asm__(
  ".pushsection .text\n"
  ".globl _start\n"
  "_start:\n"
  "  cli\n"
  "  movl $boot_stack + 16384, %esp\n"
  "  movl %ebx, boot_info\n"
  "  cld\n"
  "  call kmain\n"
  "1: hlt\n"
  "  jmp 1b\n"
  ".popsection\n");

#endif
