/*
 * vmxlab silicon oracle harness.
 *
 * Runs instruction snippets natively on the host CPU, one after the other,
 * in a single Linux process, and reports the final register, flag and memory
 * state of each.  Built by tests/oracle/native/oracle.ts with
 *
 *     gcc -m32 -O1 -no-pie -o harness harness.c      (ia32: 32-bit code)
 *     gcc -m64 -O1 -no-pie -o harness harness.c      (long: 64-bit mode)
 *
 * The -m64 build is for hosts that cannot run 32-bit processes: it runs the
 * snippet's bytes in 64-bit mode, where only a subset of IA-32 encodes and
 * behaves the same (docs/oracle.md, "Long mode"); the generator keeps to it.
 * Registers go in zero-extended and come out as their low 32 bits.
 *
 * See docs/oracle.md for the memory map, the wire format and what a snippet
 * may not do.
 *
 * Wire format (all integers little-endian u32):
 *   input case:   codeLen dataLen eflags eax ecx edx ebx esp ebp esi edi
 *                 code[codeLen] data[dataLen]
 *   output case:  status vector errorCode eip cr2 eax ecx edx ebx esp ebp
 *                 esi edi eflags nRuns, then nRuns x (addr len bytes[len])
 *   status: 0 = ok, 1 = fault (vector/errorCode/cr2 valid), 2 = timeout.
 *   vector 256 = the snippet attempted a system call (errorCode = its number).
 *   The runs cover every byte of the data and stack regions (0x00300000 ..
 *   0x0031FFFF) whose final value differs from its initial value (runs may
 *   also include a few unchanged bytes between changed ones; every byte in a
 *   run is the final value).
 * The harness flushes its output whenever it has consumed all input that is
 * available, and exits with status 0 at end of input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#if !defined(__i386__) && !defined(__x86_64__)
#error "harness.c must be compiled with gcc -m32 or -m64 for x86"
#endif

#define CODE_BASE 0x00200000u
#define CODE_SIZE 0x1000u
#define DATA_BASE 0x00300000u
#define DATA_SIZE 0x10000u
#define STACK_BASE 0x00310000u
#define STACK_SIZE 0x10000u
#define MEM_BASE DATA_BASE
#define MEM_SIZE (DATA_SIZE + STACK_SIZE)
#define MAX_CODE (CODE_SIZE - 16u)
#define PAGE 0x1000u

/* Flags a case may set: CF PF AF ZF SF DF OF. */
#define SETTABLE_FLAGS 0x0CD5u
/* Bit 1 is always one; IF is always one in a user process. */
#define BASE_FLAGS 0x0202u
#define EFLAGS_RF 0x10000u

#define ST_OK 0u
#define ST_FAULT 1u
#define ST_TIMEOUT 2u

/* Reported vector for a system call attempted by a snippet (blocked). */
#define VEC_SYSCALL 256u

/* Timeout: a case that is still running at two consecutive ticks of the
 * process's user-CPU-time timer is aborted (between one and two intervals of
 * CPU time). */
#define TICK_USEC 20000

/* ---- state shared with the trampoline (accessed by name from asm) ------ */
uint32_t vx_in_regs[8];
uint32_t vx_in_eflags;
uint32_t vx_out_regs[8];
uint32_t vx_out_eflags;
uintptr_t vx_saved_esp;
uintptr_t vx_entry = CODE_BASE;
uint32_t vx_scratch[32];

volatile uint32_t vx_status, vx_vector, vx_err, vx_eip, vx_cr2;
static volatile sig_atomic_t vx_in_snippet;
static volatile uint32_t vx_case_seq, vx_tick_seq;
#if defined(__i386__)
static uint32_t h_cs, h_ss;
uint32_t vx_hseg[4]; /* the harness's DS ES FS GS */
#endif

void vx_run(void);
extern char vx_return[];
extern char vx_landing[];

/*
 * vx_run: cdecl, no arguments.  Saves the callee-saved registers and the C
 * stack pointer, resets x87/SSE state, loads EFLAGS and the eight GPRs of the
 * case, and jumps to the snippet.  The snippet is followed in the code page by
 * a jmp rel32 to vx_return, which stores the final state without touching the
 * snippet's stack (it switches to a private scratch stack before pushfl).
 * A signal handler that aborts a snippet resumes at vx_landing with ESP equal
 * to vx_saved_esp.
 */
#if defined(__i386__)
__asm__(
    ".text\n"
    ".globl vx_run\n"
    ".type vx_run, @function\n"
    "vx_run:\n"
    "    pushl %ebp\n"
    "    pushl %ebx\n"
    "    pushl %esi\n"
    "    pushl %edi\n"
    "    movl %esp, vx_saved_esp\n"
    "    fninit\n"
    "    movl $vx_scratch+64, %esp\n"
    "    movl $0x1f80, (%esp)\n"
    "    ldmxcsr (%esp)\n"
    "    pushl vx_in_eflags\n"
    "    popfl\n"
    "    movl vx_in_regs+0, %eax\n"
    "    movl vx_in_regs+4, %ecx\n"
    "    movl vx_in_regs+8, %edx\n"
    "    movl vx_in_regs+12, %ebx\n"
    "    movl vx_in_regs+20, %ebp\n"
    "    movl vx_in_regs+24, %esi\n"
    "    movl vx_in_regs+28, %edi\n"
    "    movl vx_in_regs+16, %esp\n"
    "    jmp *vx_entry\n"
    ".globl vx_return\n"
    "vx_return:\n"
    /* %ss overrides: the snippet is not meant to load DS/ES/FS/GS, but if it
     * did, the harness's own segments are restored here before C runs. */
    "    movl %esp, %ss:vx_out_regs+16\n"
    "    movl $vx_scratch+128, %esp\n"
    "    pushfl\n"
    "    popl %ss:vx_out_eflags\n"
    "    movl %eax, %ss:vx_out_regs+0\n"
    "    movl %ecx, %ss:vx_out_regs+4\n"
    "    movl %edx, %ss:vx_out_regs+8\n"
    "    movl %ebx, %ss:vx_out_regs+12\n"
    "    movl %ebp, %ss:vx_out_regs+20\n"
    "    movl %esi, %ss:vx_out_regs+24\n"
    "    movl %edi, %ss:vx_out_regs+28\n"
    "    movw %ss:vx_hseg+0, %ds\n"
    "    movw %ss:vx_hseg+4, %es\n"
    "    movw %ss:vx_hseg+8, %fs\n"
    "    movw %ss:vx_hseg+12, %gs\n"
    "    pushl $0x202\n" /* clears DF, AC, TF and the arithmetic flags */
    "    popfl\n"
    ".globl vx_landing\n"
    "vx_landing:\n"
    "    movl vx_saved_esp, %esp\n"
    "    popl %edi\n"
    "    popl %esi\n"
    "    popl %ebx\n"
    "    popl %ebp\n"
    "    ret\n"
    ".size vx_run, .-vx_run\n");
#else
/* The same in 64-bit mode.  Every 32-bit load zero-extends, so the snippet
 * starts with clean upper halves and 32-bit addresses; RSP too.  The snippet
 * cannot touch R12-R15 (the generator emits no REX prefix), but they are
 * callee-saved and kept anyway. */
__asm__(
    ".text\n"
    ".globl vx_run\n"
    ".type vx_run, @function\n"
    "vx_run:\n"
    "    pushq %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    movq %rsp, vx_saved_esp(%rip)\n"
    "    fninit\n"
    "    movl $vx_scratch+64, %esp\n"
    "    movl $0x1f80, (%rsp)\n"
    "    ldmxcsr (%rsp)\n"
    "    movl vx_in_eflags(%rip), %eax\n"
    "    pushq %rax\n"
    "    popfq\n"
    "    movl vx_in_regs+0(%rip), %eax\n"
    "    movl vx_in_regs+4(%rip), %ecx\n"
    "    movl vx_in_regs+8(%rip), %edx\n"
    "    movl vx_in_regs+12(%rip), %ebx\n"
    "    movl vx_in_regs+20(%rip), %ebp\n"
    "    movl vx_in_regs+24(%rip), %esi\n"
    "    movl vx_in_regs+28(%rip), %edi\n"
    "    movl vx_in_regs+16(%rip), %esp\n"
    "    jmp *vx_entry(%rip)\n"
    ".globl vx_return\n"
    "vx_return:\n"
    "    movl %esp, vx_out_regs+16(%rip)\n"
    "    movl $vx_scratch+128, %esp\n"
    "    movl %eax, vx_out_regs+0(%rip)\n"
    "    pushfq\n"
    "    popq %rax\n"
    "    movl %eax, vx_out_eflags(%rip)\n"
    "    movl %ecx, vx_out_regs+4(%rip)\n"
    "    movl %edx, vx_out_regs+8(%rip)\n"
    "    movl %ebx, vx_out_regs+12(%rip)\n"
    "    movl %ebp, vx_out_regs+20(%rip)\n"
    "    movl %esi, vx_out_regs+24(%rip)\n"
    "    movl %edi, vx_out_regs+28(%rip)\n"
    "    pushq $0x202\n" /* clears DF, AC, TF and the arithmetic flags */
    "    popfq\n"
    ".globl vx_landing\n"
    "vx_landing:\n"
    "    movq vx_saved_esp(%rip), %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    ret\n"
    ".size vx_run, .-vx_run\n");
#endif

/* ---- signals ------------------------------------------------------------ */

/* Record the state at the signal and make sigreturn resume at vx_landing with
 * the harness's stack, segments and clean flags. */
static void abort_snippet(ucontext_t *uc, uint32_t status)
{
    greg_t *g = uc->uc_mcontext.gregs;
#if defined(__x86_64__)
    vx_out_regs[0] = (uint32_t)g[REG_RAX];
    vx_out_regs[1] = (uint32_t)g[REG_RCX];
    vx_out_regs[2] = (uint32_t)g[REG_RDX];
    vx_out_regs[3] = (uint32_t)g[REG_RBX];
    vx_out_regs[4] = (uint32_t)g[REG_RSP];
    vx_out_regs[5] = (uint32_t)g[REG_RBP];
    vx_out_regs[6] = (uint32_t)g[REG_RSI];
    vx_out_regs[7] = (uint32_t)g[REG_RDI];
    vx_eip = (uint32_t)g[REG_RIP];
    uint32_t cr2 = (uint32_t)g[REG_CR2];
#else
    vx_out_regs[0] = (uint32_t)g[REG_EAX];
    vx_out_regs[1] = (uint32_t)g[REG_ECX];
    vx_out_regs[2] = (uint32_t)g[REG_EDX];
    vx_out_regs[3] = (uint32_t)g[REG_EBX];
    vx_out_regs[4] = (uint32_t)g[REG_UESP];
    vx_out_regs[5] = (uint32_t)g[REG_EBP];
    vx_out_regs[6] = (uint32_t)g[REG_ESI];
    vx_out_regs[7] = (uint32_t)g[REG_EDI];
    vx_eip = (uint32_t)g[REG_EIP];
    uint32_t cr2 = (uint32_t)uc->uc_mcontext.cr2;
#endif
    /* As PUSHF would show it: RF is never visible. */
    vx_out_eflags = (uint32_t)g[REG_EFL] & ~EFLAGS_RF;
    if (status == ST_FAULT) {
        vx_vector = (uint32_t)g[REG_TRAPNO];
        vx_err = (uint32_t)g[REG_ERR];
        /* The kernel leaves the last page-fault address in cr2 for every
         * signal; it means something only for #PF. */
        vx_cr2 = vx_vector == 14 ? cr2 : 0;
    } else {
        vx_vector = 0;
        vx_err = 0;
        vx_cr2 = 0;
    }
    vx_status = status;
    vx_in_snippet = 0;
    g[REG_EFL] = (greg_t)BASE_FLAGS;
#if defined(__x86_64__)
    /* CS and SS are never changed by a long-mode snippet; FS and GS (TLS)
     * are not loaded by one (the generator emits no segment loads). */
    g[REG_RIP] = (greg_t)(uintptr_t)vx_landing;
    g[REG_RSP] = (greg_t)vx_saved_esp;
#else
    g[REG_EIP] = (greg_t)(uintptr_t)vx_landing;
    g[REG_UESP] = (greg_t)vx_saved_esp;
    g[REG_CS] = (greg_t)h_cs;
    g[REG_SS] = (greg_t)h_ss;
    g[REG_DS] = (greg_t)vx_hseg[0];
    g[REG_ES] = (greg_t)vx_hseg[1];
    g[REG_FS] = (greg_t)vx_hseg[2];
    g[REG_GS] = (greg_t)vx_hseg[3];
#endif
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    (void)si;
    if (!vx_in_snippet) {
        /* A fault in the harness itself: die with the default action. */
        signal(sig, SIG_DFL);
        return;
    }
    abort_snippet((ucontext_t *)ctx, ST_FAULT);
}

/* A system call from the code page, stopped by the seccomp filter. */
static void on_sys(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    if (!vx_in_snippet) {
        signal(SIGSYS, SIG_DFL);
        return;
    }
    ucontext_t *uc = (ucontext_t *)ctx;
    abort_snippet(uc, ST_FAULT);
    vx_vector = VEC_SYSCALL;
    vx_err = (uint32_t)si->si_syscall;
    vx_cr2 = 0;
}

/*
 * After setup, the harness makes its system calls with its own int $0x80
 * (raw_syscall below), so a seccomp filter can tell them from a snippet's:
 * a system call is allowed only when its instruction lies in the harness's
 * text, or when it is (rt_)sigreturn (the libc signal restorer).  Anything
 * else -- int 0x80 in the snippet, or SYSCALL/SYSENTER (which the kernel
 * reports at the vDSO landing pad) -- raises SIGSYS instead of running.
 * Best effort: where seccomp is unavailable the snippets are trusted.
 */
extern char __executable_start[], etext[];

#if defined(__x86_64__)
static long raw_syscall(long nr, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
#define NR_READ 0
#define NR_WRITE 1
#define NR_RT_SIGRETURN 15
#define NR_EXIT_GROUP 231
#else
static long raw_syscall(long nr, long a, long b, long c)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
}
#define NR_READ 3
#define NR_WRITE 4
#define NR_SIGRETURN 119
#define NR_RT_SIGRETURN 173
#define NR_EXIT_GROUP 252
#endif

static void raw_say(const char *msg)
{
    raw_syscall(NR_WRITE, 2, (long)msg, (long)strlen(msg));
}

static __attribute__((noreturn)) void raw_exit(int code)
{
    for (;;)
        raw_syscall(NR_EXIT_GROUP, code, 0, 0);
}

static void install_seccomp(void)
{
#if defined(__x86_64__)
    /* As below, and the upper half of the instruction pointer must be zero
     * (the harness's text lies below 4 GiB: -no-pie). */
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_RT_SIGRETURN, 6, 0),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)(uintptr_t)__executable_start, 0, 1),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)(uintptr_t)etext, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
#else
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_RT_SIGRETURN, 5, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_SIGRETURN, 4, 0),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)(uintptr_t)__executable_start, 0, 1),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)(uintptr_t)etext, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
#endif
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
        fprintf(stderr, "vmxlab harness: warning: no seccomp filter (%s); "
                        "snippets can make system calls\n", strerror(errno));
}

static void on_tick(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)si;
    if (!vx_in_snippet)
        return;
    if (vx_tick_seq == vx_case_seq)
        abort_snippet((ucontext_t *)ctx, ST_TIMEOUT);
    else
        vx_tick_seq = vx_case_seq;
}

static void die(const char *what)
{
    fprintf(stderr, "vmxlab harness: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void setup(void)
{
    void *p;
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
    p = mmap((void *)CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)CODE_BASE)
        die("cannot map the code page at 0x00200000");
    p = mmap((void *)MEM_BASE, MEM_SIZE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)MEM_BASE)
        die("cannot map the data and stack regions at 0x00300000");

#if defined(__i386__)
    __asm__ volatile("movl %%cs, %0" : "=r"(h_cs));
    __asm__ volatile("movl %%ss, %0" : "=r"(h_ss));
    __asm__ volatile("movl %%ds, %0" : "=r"(vx_hseg[0]));
    __asm__ volatile("movl %%es, %0" : "=r"(vx_hseg[1]));
    __asm__ volatile("movl %%fs, %0" : "=r"(vx_hseg[2]));
    __asm__ volatile("movl %%gs, %0" : "=r"(vx_hseg[3]));
#endif

    /* Handlers run on their own stack: the snippet's ESP may be anything,
     * and the stack region must not be written by signal delivery. */
    static uint8_t altstack[65536] __attribute__((aligned(16)));
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    if (sigaltstack(&ss, NULL) != 0)
        die("sigaltstack");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    static const int faults[] = {SIGSEGV, SIGFPE, SIGILL, SIGTRAP, SIGBUS};
    for (unsigned i = 0; i < sizeof faults / sizeof faults[0]; i++)
        if (sigaction(faults[i], &sa, NULL) != 0)
            die("sigaction");
    sa.sa_sigaction = on_sys;
    if (sigaction(SIGSYS, &sa, NULL) != 0)
        die("sigaction");
    sa.sa_sigaction = on_tick;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    if (sigaction(SIGVTALRM, &sa, NULL) != 0)
        die("sigaction");
    struct itimerval it;
    it.it_interval.tv_sec = 0;
    it.it_interval.tv_usec = TICK_USEC;
    it.it_value = it.it_interval;
    if (setitimer(ITIMER_VIRTUAL, &it, NULL) != 0)
        die("setitimer");
    install_seccomp();
}

/* ---- buffered I/O ------------------------------------------------------- */

static uint8_t inbuf[1u << 20];
static size_t in_pos, in_len;
static uint8_t outbuf[1u << 20];
static size_t out_len;

static void out_flush(void)
{
    size_t off = 0;
    while (off < out_len) {
        long n = raw_syscall(NR_WRITE, 1, (long)(outbuf + off), (long)(out_len - off));
        if (n < 0) {
            if (n == -EINTR)
                continue;
            raw_say("vmxlab harness: write to stdout failed\n");
            raw_exit(2);
        }
        off += (size_t)n;
    }
    out_len = 0;
}

static void out_put(const void *src, size_t n)
{
    const uint8_t *s = src;
    while (n > 0) {
        if (out_len == sizeof outbuf)
            out_flush();
        size_t k = sizeof outbuf - out_len;
        if (k > n)
            k = n;
        memcpy(outbuf + out_len, s, k);
        out_len += k;
        s += k;
        n -= k;
    }
}

/* Returns 0 at a clean end of input (no byte read), 1 after reading n bytes;
 * exits on a truncated record. */
static int in_get(void *dst, size_t n)
{
    uint8_t *d = dst;
    size_t got = 0;
    while (got < n) {
        if (in_pos == in_len) {
            out_flush(); /* all available input consumed: answer it */
            long r;
            do
                r = raw_syscall(NR_READ, 0, (long)inbuf, (long)sizeof inbuf);
            while (r == -EINTR);
            if (r < 0) {
                raw_say("vmxlab harness: read from stdin failed\n");
                raw_exit(2);
            }
            if (r == 0) {
                if (got == 0)
                    return 0;
                raw_say("vmxlab harness: truncated input\n");
                raw_exit(2);
            }
            in_pos = 0;
            in_len = (size_t)r;
        }
        size_t k = in_len - in_pos;
        if (k > n - got)
            k = n - got;
        memcpy(d + got, inbuf + in_pos, k);
        in_pos += k;
        got += k;
    }
    return 1;
}

/* ---- the case loop ------------------------------------------------------ */

/* Initial contents of data+stack; equal to the live region between cases. */
static uint8_t shadow[MEM_SIZE] __attribute__((aligned(64)));
#define MAX_RUNS (MEM_SIZE / 2 + 1)
static uint32_t run_start[MAX_RUNS], run_end[MAX_RUNS];
#define RUN_GAP 8u /* merge runs separated by at most this many equal bytes */

static uint32_t diff_runs(const uint8_t *mem)
{
    uint32_t n = 0;
    for (uint32_t page = 0; page < MEM_SIZE; page += PAGE) {
        if (memcmp(mem + page, shadow + page, PAGE) == 0)
            continue;
        for (uint32_t w = page; w < page + PAGE; w += 8) {
            uint64_t a, b;
            memcpy(&a, mem + w, 8);
            memcpy(&b, shadow + w, 8);
            if (a == b)
                continue;
            for (uint32_t i = w; i < w + 8; i++) {
                if (mem[i] == shadow[i])
                    continue;
                if (n > 0 && i <= run_end[n - 1] + RUN_GAP) {
                    run_end[n - 1] = i + 1;
                } else {
                    run_start[n] = i;
                    run_end[n] = i + 1;
                    n++;
                }
            }
        }
    }
    return n;
}

int main(void)
{
    uint8_t *code = (uint8_t *)CODE_BASE;
    uint8_t *mem = (uint8_t *)MEM_BASE;
    setup();

    for (;;) {
        uint32_t hdr[11];
        if (!in_get(hdr, sizeof hdr))
            break;
        uint32_t code_len = hdr[0], data_len = hdr[1];
        if (code_len > MAX_CODE || data_len > DATA_SIZE) {
            raw_say("vmxlab harness: bad case (code or data too long)\n");
            raw_exit(2);
        }
        /* Code page: int3 everywhere, the snippet, then jmp rel32 vx_return. */
        memset(code, 0xCC, CODE_SIZE);
        in_get(code, code_len);
        uint32_t jmp_at = CODE_BASE + code_len;
        int32_t rel = (int32_t)((uint32_t)(uintptr_t)vx_return - (jmp_at + 5u));
        code[code_len] = 0xE9;
        memcpy(code + code_len + 1, &rel, 4);
        /* Data region: the given prefix over zeros (the rest is already 0). */
        in_get(mem, data_len);
        memcpy(shadow, mem, data_len);

        vx_in_eflags = (hdr[2] & SETTABLE_FLAGS) | BASE_FLAGS;
        memcpy(vx_in_regs, hdr + 3, sizeof vx_in_regs);

        vx_status = ST_OK;
        vx_vector = vx_err = vx_cr2 = 0;
        vx_eip = jmp_at;
        vx_case_seq++;
        vx_in_snippet = 1;
        vx_run();
        vx_in_snippet = 0;

        uint32_t nruns = diff_runs(mem);
        uint32_t out[15];
        out[0] = vx_status;
        out[1] = vx_vector;
        out[2] = vx_err;
        out[3] = vx_eip;
        out[4] = vx_cr2;
        memcpy(out + 5, vx_out_regs, sizeof vx_out_regs);
        out[13] = vx_out_eflags;
        out[14] = nruns;
        out_put(out, sizeof out);
        for (uint32_t r = 0; r < nruns; r++) {
            uint32_t s = run_start[r], len = run_end[r] - s;
            uint32_t rh[2] = {MEM_BASE + s, len};
            out_put(rh, sizeof rh);
            out_put(mem + s, len);
            memcpy(mem + s, shadow + s, len); /* restore the initial bytes */
        }
        /* Back to all zeros for the next case. */
        memset(mem, 0, data_len);
        memset(shadow, 0, data_len);
    }
    out_flush();
    raw_exit(0); /* not exit(): libc's system calls would be stopped by seccomp */
}
