// output: ckernel.elf
// ckernel - a small kernel in C, compiled by GCC (-m32 -march=i686 -O2), set up the way
// a hobby kernel sets itself up: a GDT with ring-3 segments and a TSS, an IDT whose
// exception and timer handlers are GCC's __attribute__((interrupt)) functions (GCC writes
// their prologue, error-code pop and IRET), 4 KiB paging with a page mapped on demand by
// the #PF handler, the 8259A pair and the 8254 timer, and a trip to ring 3 that makes
// system calls through INT 0x80. The faulting instructions are inline assembly with known
// encodings, so each handler knows how far to step over its instruction. The ring-3 code
// exits with getpid's answer (42) plus 1.
// Intel SDM Vol. 3A: 6.12 (gates and handlers), 6.13 (error codes), 4.3 and 4.7 (paging
// and #PF error codes), 7.2 (TSS), 6.15 (exception classes).
// Expected output (verified on QEMU 7.2):
//   ckernel: start
//   gdt, idt, tss: loaded
//   divide error: caught, resumed
//   invalid opcode: caught, resumed
//   breakpoint: EIP after int3: ok
//   general protection: error code 0x00000048
//   page fault: address 0x00400120 error 0x00000002, mapped, read back 0x0000abcd
//   timer: 5 ticks
//   ring 3: hello from ring 3
//   ring 3: exit status 43
//   ckernel: done
//
// cflags: -O2
// toolchain: gcc (Debian 12.2.0-14+deb12u1) 12.2.0; GNU ld (GNU Binutils for Debian) 2.40

#include "c-guest.h"

enum { SEL_KCODE = 0x08, SEL_KDATA = 0x10, SEL_UCODE = 0x18 | 3, SEL_UDATA = 0x20 | 3, SEL_TSS = 0x28 };

// ---- descriptors (SDM 3A 3.4.5, 7.2.2, 6.11) ----

static uint64_t gdt[6];
static uint64_t idt[256];
struct __attribute__((packed)) table_register { uint16_t limit; uint32_t base; };
static struct { uint32_t link, esp0, ss0, rest[23]; } tss __attribute__((aligned(16)));
static uint8_t kernel_stack[8192] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));

static uint64_t segment(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
  return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)access << 40) |
    ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)(flags & 0xf) << 52) | ((uint64_t)(base >> 24) << 56);
}

/** A 32-bit interrupt gate to `handler` in the kernel code segment, callable from ring `dpl`. */
static void gate(int vector, void *handler, int dpl) {
  uint32_t h = (uint32_t)handler;
  idt[vector] = (h & 0xffff) | ((uint64_t)SEL_KCODE << 16) | ((uint64_t)(0x8e | (dpl << 5)) << 40) | ((uint64_t)(h >> 16) << 48);
}

// ---- handlers: GCC's interrupt functions ----

struct frame { uint32_t ip, cs, flags, sp, ss; };
static volatile uint32_t divide_errors, invalid_opcodes, breakpoint_ip, gp_error, pf_address, pf_error, ticks;

static uint32_t page_directory[1024] __attribute__((aligned(4096)));
static uint32_t low_table[1024] __attribute__((aligned(4096)));
static uint32_t demand_table[1024] __attribute__((aligned(4096)));
static uint8_t demand_frame[4096] __attribute__((aligned(4096)));
enum { PTE_P = 1, PTE_W = 2, PTE_U = 4 };

__attribute__((interrupt)) static void on_divide_error(struct frame *f) { divide_errors++; f->ip += 2; } // F7 F1: div ecx
__attribute__((interrupt)) static void on_invalid_opcode(struct frame *f) { invalid_opcodes++; f->ip += 2; } // 0F 0B: ud2
__attribute__((interrupt)) static void on_breakpoint(struct frame *f) { breakpoint_ip = f->ip; } // a trap: EIP is past the int3
__attribute__((interrupt)) static void on_general_protection(struct frame *f, uint32_t error) { gp_error = error; f->ip += 2; } // 8E D8: mov ds, eax

// #PF: CR2 holds the address; map the page and return, so the access is made again.
__attribute__((interrupt)) static void on_page_fault(struct frame *f, uint32_t error) {
  (void)f;
  uint32_t cr2;
  __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
  pf_address = cr2; pf_error = error;
  demand_table[(cr2 >> 12) & 1023] = (uint32_t)demand_frame | PTE_P | PTE_W;
  page_directory[cr2 >> 22] = (uint32_t)demand_table | PTE_P | PTE_W;
}

__attribute__((interrupt)) static void on_timer(struct frame *f) { (void)f; ticks++; outb(0x20, 0x20); } // EOI to the master 8259A

// ---- ring 3 and INT 0x80 (assembly: the system call returns its value in EAX) ----

enum { SYS_WRITE = 1, SYS_GETPID = 2, SYS_EXIT = 3 };
static uint32_t exit_status;
uint32_t kernel_esp; // enter_user's stack, for SYS_EXIT to go back to
void enter_user(void (*entry)(void), uint8_t *stack_top);
void leave_user(void);
void syscall_entry(void);
__asm__(
  ".pushsection .text\n"
  // enter_user(entry, stack_top): IRET to ring 3 at entry with the user stack, IF clear.
  ".globl enter_user\n"
  "enter_user:\n"
  "  pushl %ebp\n  pushl %ebx\n  pushl %esi\n  pushl %edi\n"
  "  movl %esp, kernel_esp\n"
  "  movl 20(%esp), %eax\n  movl 24(%esp), %ecx\n"
  "  movw $0x23, %dx\n  movw %dx, %ds\n  movw %dx, %es\n"
  "  pushl $0x23\n  pushl %ecx\n  pushl $0x2\n  pushl $0x1b\n  pushl %eax\n"
  "  iret\n"
  // leave_user: back on enter_user's stack, in ring 0, returning to its caller.
  ".globl leave_user\n"
  "leave_user:\n"
  "  movw $0x10, %dx\n  movw %dx, %ds\n  movw %dx, %es\n"
  "  movl kernel_esp, %esp\n"
  "  popl %edi\n  popl %esi\n  popl %ebx\n  popl %ebp\n"
  "  ret\n"
  // INT 0x80: EAX = number, EBX = argument; the result in EAX.
  ".globl syscall_entry\n"
  "syscall_entry:\n"
  "  pushl %ecx\n  pushl %edx\n"
  "  pushl %ebx\n  pushl %eax\n"
  "  call system_call\n"
  "  addl $8, %esp\n"
  "  popl %edx\n  popl %ecx\n"
  "  iret\n"
  ".popsection\n");

uint32_t system_call(uint32_t number, uint32_t argument) {
  switch (number) {
    case SYS_WRITE: puts_("ring 3: "); puts_((const char *)argument); return 0;
    case SYS_GETPID: return 42;
    case SYS_EXIT: exit_status = argument; leave_user(); // does not return
  }
  return (uint32_t)-1;
}

static uint32_t sys(uint32_t number, uint32_t argument) {
  uint32_t r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(number), "b"(argument) : "memory");
  return r;
}

static void user_main(void) {
  sys(SYS_WRITE, (uint32_t)"hello from ring 3\n");
  uint32_t pid = sys(SYS_GETPID, 0);
  sys(SYS_EXIT, pid + 1);
  for (;;) {}
}

// ---- the kernel ----

static void load_descriptors(void) {
  gdt[1] = segment(0, 0xfffff, 0x9a, 0xc); // ring-0 code
  gdt[2] = segment(0, 0xfffff, 0x92, 0xc); // ring-0 data
  gdt[3] = segment(0, 0xfffff, 0xfa, 0xc); // ring-3 code
  gdt[4] = segment(0, 0xfffff, 0xf2, 0xc); // ring-3 data
  tss.ss0 = SEL_KDATA; tss.esp0 = (uint32_t)(kernel_stack + sizeof kernel_stack);
  gdt[5] = segment((uint32_t)&tss, sizeof tss - 1, 0x89, 0); // available 32-bit TSS
  struct table_register g = { sizeof gdt - 1, (uint32_t)gdt }, i = { sizeof idt - 1, (uint32_t)idt };
  __asm__ volatile("lgdt %0\n ljmp $0x08, $1f\n 1:\n movw $0x10, %%ax\n movw %%ax, %%ds\n movw %%ax, %%es\n"
                   " movw %%ax, %%ss\n movw %%ax, %%fs\n movw %%ax, %%gs" : : "m"(g) : "eax", "memory");
  __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
  gate(0, on_divide_error, 0); gate(3, on_breakpoint, 0); gate(6, on_invalid_opcode, 0);
  gate(13, on_general_protection, 0); gate(14, on_page_fault, 0); gate(32, on_timer, 0);
  gate(0x80, syscall_entry, 3); // DPL 3: ring 3 may INT 0x80 (SDM 3A 6.12.1.1)
  __asm__ volatile("lidt %0" : : "m"(i));
}

static void exceptions(void) {
  __asm__ volatile("divl %%ecx" : : "a"(1), "d"(0), "c"(0) : "cc");
  puts_(divide_errors == 1 ? "divide error: caught, resumed\n" : "divide error: MISSED\n");
  __asm__ volatile("ud2");
  puts_(invalid_opcodes == 1 ? "invalid opcode: caught, resumed\n" : "invalid opcode: MISSED\n");
  uint32_t after;
  __asm__ volatile("int3\n 1:\n movl $1b, %0" : "=r"(after));
  puts_(breakpoint_ip == after ? "breakpoint: EIP after int3: ok\n" : "breakpoint: wrong EIP\n");
  __asm__ volatile("movl %%eax, %%ds" : : "a"(0x48) : "memory"); // beyond the GDT's limit: #GP(0x48)
  puts_("general protection: error code "); put_hex(gp_error, 8); putc_('\n');
}

static void paging(void) {
  for (uint32_t i = 0; i < 1024; i++) low_table[i] = (i << 12) | PTE_P | PTE_W | PTE_U; // 0-4 MiB identity
  page_directory[0] = (uint32_t)low_table | PTE_P | PTE_W | PTE_U;
  __asm__ volatile("mov %0, %%cr3\n mov %%cr0, %%eax\n or $0x80000000, %%eax\n mov %%eax, %%cr0"
                   : : "r"(page_directory) : "eax", "memory");
  volatile uint32_t *demand = (volatile uint32_t *)0x400120; // PDE 1 not present: #PF, write, supervisor
  *demand = 0xabcd;
  puts_("page fault: address "); put_hex(pf_address, 8); puts_(" error "); put_hex(pf_error, 8);
  puts_(", mapped, read back "); put_hex(*demand, 8); putc_('\n');
}

static void timer(void) {
  // 8259A pair (datasheet ICW1-4): IRQ 0-7 at vectors 32-39, 8-15 at 40-47, only IRQ 0 open.
  outb(0x20, 0x11); outb(0xa0, 0x11); outb(0x21, 32); outb(0xa1, 40); outb(0x21, 4); outb(0xa1, 2);
  outb(0x21, 1); outb(0xa1, 1); outb(0x21, 0xfe); outb(0xa1, 0xff);
  // 8254 channel 0, mode 2, divisor 1193: about 1 kHz.
  outb(0x43, 0x34); outb(0x40, 1193 & 0xff); outb(0x40, 1193 >> 8);
  while (ticks < 5) __asm__ volatile("sti\n hlt\n cli" : : : "memory");
  outb(0x21, 0xff);
  puts_("timer: "); put_u32(ticks); puts_(" ticks\n");
}

int kmain(void) {
  uart_init();
  puts_("ckernel: start\n");
  load_descriptors();
  puts_("gdt, idt, tss: loaded\n");
  exceptions();
  paging();
  timer();
  enter_user(user_main, user_stack + sizeof user_stack);
  puts_("ring 3: exit status "); put_u32(exit_status); putc_('\n');
  puts_("ckernel: done\n");
  finish(0);
}
