; output: tasks.elf
; tasks - hardware task switching with 32-bit TSSs (Intel SDM Vol. 3A 7.3 "Task
; Switching", 7.4 "Task Linking", Table 7-2 "Effect of a Task Switch on Busy Flag, NT
; Flag, Previous Task Link Field, and TS Flag"; Vol. 2A JMP, CALL, IRET, INT n).
; JMP to a TSS descriptor (old busy cleared, new set, NT clear, link not written),
; CALL to a TSS (NT set, link = old TR, old stays busy), IRET with NT=1 back to the
; caller, INT n through a task gate, #GP through a task gate (error code on the new
; task's stack, the old task's saved EIP = the faulting instruction), CR0.TS set by
; every switch, the general registers, EFLAGS and segments loaded from the new TSS and
; the outgoing state saved in the old one. One line per check.
; Expected output (verified on QEMU 7.2):
;   tasks: start
;   JMP task: EAX from TSS: ok
;   JMP task: TR: ok
;   JMP task: EBX from TSS: ok
;   JMP task: ECX from TSS: ok
;   JMP task: EDX from TSS: ok
;   JMP task: ESI from TSS: ok
;   JMP task: EDI from TSS: ok
;   JMP task: EBP from TSS: ok
;   JMP task: ESP from TSS: ok
;   JMP task: DS from TSS: ok
;   JMP task: EFLAGS from TSS (NT clear): ok
;   JMP task: CR0.TS set: ok
;   JMP task: new TSS busy: ok
;   JMP task: old TSS no longer busy: ok
;   JMP task: back link not written: ok
;   JMP task: old EIP saved: ok
;   JMP task: old ESI saved: ok
;   JMP back: registers of the first task restored: ok
;   JMP back: second TSS no longer busy: ok
;   JMP back: first TSS busy: ok
;   JMP back: EAX saved in the second TSS: ok
;   CALL task: NT set: ok
;   CALL task: back link = caller's TR: ok
;   CALL task: caller's TSS stays busy: ok
;   CALL task: new TSS busy: ok
;   IRET task return: back in the caller (ESI kept): ok
;   IRET task return: called TSS no longer busy: ok
;   IRET task return: caller's NT clear: ok
;   IRET task return: caller's TSS busy: ok
;   INT through a task gate: NT set: ok
;   INT through a task gate: back link: ok
;   INT through a task gate: returned: ok
;   #GP through a task gate: error code on the new task's stack: ok
;   #GP through a task gate: ESP = TSS.ESP - 4: ok
;   #GP through a task gate: saved EIP = faulting instruction: ok
;   #GP through a task gate: back link: ok
;   #GP through a task gate: resumed: ok
;   tasks: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
SEL_TSS_M   equ 0x18            ; the first task (LTR)
SEL_TSS_A   equ 0x20            ; entered by JMP
SEL_TSS_B   equ 0x28            ; entered by CALL
SEL_TSS_C   equ 0x30            ; INT 0x40 task gate
SEL_TSS_D   equ 0x38            ; #GP task gate
SEL_BEYOND  equ 0x80            ; past the GDT limit
TRAP_KDATA  equ SEL_KDATA
TASK_GATE   equ 0x85            ; present, DPL 0, task gate (SDM Figure 7-6)
EFL_NT      equ 1 << 14
CR0_TS      equ 1 << 3
A_EFLAGS    equ 0x00000843      ; OF, ZF, CF and the always-1 bit

; TSS_OFF field offsets (SDM Figure 7-2)
T_LINK  equ 0
T_CR3   equ 28
T_EIP   equ 32
T_EFL   equ 36
T_EAX   equ 40
T_ESI   equ 64

; TSS32 link, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi - a 32-bit TSS with
; ring-0 flat segments (CR3 is filled in at run time)
%macro TSS32 11
    dd %1, 0, 0, 0, 0, 0, 0     ; link, ESP0, SS0, ESP1, SS1, ESP2, SS2
    dd 0                        ; CR3
    dd %2, %3                   ; EIP, EFLAGS
    dd %4, %5, %6, %7, %8, %9, %10, %11 ; EAX ECX EDX EBX ESP EBP ESI EDI
    dd SEL_KDATA, SEL_KCODE, SEL_KDATA, SEL_KDATA, SEL_KDATA, SEL_KDATA ; ES CS SS DS FS GS
    dd 0                        ; LDT
    dw 0, 104                   ; T flag, I/O map base past the limit
%endmacro

; BUSY sel -> EAX = 1 if the TSS descriptor's type is busy (SDM 7.2.2: type 1011b)
%macro BUSY 1
    movzx eax, byte [gdt + %1 + 5]
    shr eax, 1
    and eax, 1
%endmacro

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_m_top
    cld
    call uart_init
    mov esi, msg_start
    call uart_puts

    mov edi, idt
    mov bl, GATE_INT0
    call trap_install
    ; task gates: IDT vectors 0x40 and 13 (SDM 6.11, Figure 6-2)
    mov word [idt + 0x40*8 + 2], SEL_TSS_C
    mov byte [idt + 0x40*8 + 5], TASK_GATE
    mov dword [idt + 13*8], 0
    mov dword [idt + 13*8 + 4], 0
    mov word [idt + 13*8 + 2], SEL_TSS_D
    mov byte [idt + 13*8 + 5], TASK_GATE
    lidt [idtr]
    mov eax, cr3
    mov [tss_m + T_CR3], eax
    mov [tss_a + T_CR3], eax
    mov [tss_b + T_CR3], eax
    mov [tss_c + T_CR3], eax
    mov [tss_d + T_CR3], eax
    mov ax, SEL_TSS_M
    ltr ax

; ---- JMP to a TSS ----
    clts
    mov esi, 0x51515151
    mov ebp, 0x3B3B3B3B
    jmp SEL_TSS_A:0
main_after_jmp:
    mov [m_esi], esi
    mov [m_ebp], ebp
    mov eax, [m_esi]
    xor eax, 0x51515151
    mov edx, [m_ebp]
    xor edx, 0x3B3B3B3B
    or eax, edx
    CHECK "JMP back: registers of the first task restored", eax, 0
    BUSY SEL_TSS_A
    CHECK "JMP back: second TSS no longer busy", eax, 0
    BUSY SEL_TSS_M
    CHECK "JMP back: first TSS busy", eax, 1
    CHECK "JMP back: EAX saved in the second TSS", [tss_a + T_EAX], 0xAAAA5555

; ---- CALL a TSS, IRET back ----
    mov esi, 0x77777777
    call SEL_TSS_B:0
    mov [m_esi], esi
    pushfd
    pop dword [m_efl]
    CHECK "IRET task return: back in the caller (ESI kept)", [m_esi], 0x77777777
    BUSY SEL_TSS_B
    CHECK "IRET task return: called TSS no longer busy", eax, 0
    mov eax, [m_efl]
    and eax, EFL_NT
    CHECK "IRET task return: caller's NT clear", eax, 0
    BUSY SEL_TSS_M
    CHECK "IRET task return: caller's TSS busy", eax, 1

; ---- INT n through a task gate ----
    mov dword [c_ran], 0
    int 0x40
    CHECK "INT through a task gate: returned", [c_ran], 1

; ---- #GP through a task gate ----
    mov dword [d_ran], 0
    mov ax, SEL_BEYOND
gp_fault:
    mov ds, ax                  ; selector past the GDT limit: #GP(0x80)
    mov esi, msg_bad_resume     ; not reached: task D resumes at gp_resume
    call uart_puts
gp_resume:
    CHECK "#GP through a task gate: resumed", [d_ran], 1

    mov esi, msg_name
    jmp check_done

; ======================= task A (JMP) =======================
task_a:
    mov [a_esp], esp
    pushfd
    pop dword [a_efl]
    CHECK "JMP task: EAX from TSS", eax, 0xA0000001
    str eax
    and eax, 0xFFFF
    CHECK "JMP task: TR", eax, SEL_TSS_A
    CHECK "JMP task: EBX from TSS", ebx, 0xA0000004
    CHECK "JMP task: ECX from TSS", ecx, 0xA0000002
    CHECK "JMP task: EDX from TSS", edx, 0xA0000003
    CHECK "JMP task: ESI from TSS", esi, 0xA0000007
    CHECK "JMP task: EDI from TSS", edi, 0xA0000008
    CHECK "JMP task: EBP from TSS", ebp, 0xA0000006
    CHECK "JMP task: ESP from TSS", [a_esp], stack_a_top
    xor eax, eax
    mov ax, ds
    CHECK "JMP task: DS from TSS", eax, SEL_KDATA
    CHECK "JMP task: EFLAGS from TSS (NT clear)", [a_efl], A_EFLAGS
    mov eax, cr0
    and eax, CR0_TS
    CHECK "JMP task: CR0.TS set", eax, CR0_TS
    BUSY SEL_TSS_A
    CHECK "JMP task: new TSS busy", eax, 1
    BUSY SEL_TSS_M
    CHECK "JMP task: old TSS no longer busy", eax, 0
    CHECK "JMP task: back link not written", [tss_a + T_LINK], 0x5678
    CHECK "JMP task: old EIP saved", [tss_m + T_EIP], main_after_jmp
    CHECK "JMP task: old ESI saved", [tss_m + T_ESI], 0x51515151
    mov eax, 0xAAAA5555
    jmp SEL_TSS_M:0             ; back: the first task resumes after its JMP

; ======================= task B (CALL) =======================
task_b:
    pushfd
    pop eax
    and eax, EFL_NT
    CHECK "CALL task: NT set", eax, EFL_NT
    CHECK "CALL task: back link = caller's TR", [tss_b + T_LINK], SEL_TSS_M
    BUSY SEL_TSS_M
    CHECK "CALL task: caller's TSS stays busy", eax, 1
    BUSY SEL_TSS_B
    CHECK "CALL task: new TSS busy", eax, 1
    iretd                       ; NT=1: return to the task in the back link

; ======================= task C (INT 0x40 task gate) =======================
task_c:
    pushfd
    pop eax
    and eax, EFL_NT
    CHECK "INT through a task gate: NT set", eax, EFL_NT
    CHECK "INT through a task gate: back link", [tss_c + T_LINK], SEL_TSS_M
    mov dword [c_ran], 1
    iretd

; ======================= task D (#GP task gate) =======================
task_d:
    mov [d_esp], esp
    pop eax                     ; the error code (SDM 6.12.2)
    CHECK "#GP through a task gate: error code on the new task's stack", eax, SEL_BEYOND
    CHECK "#GP through a task gate: ESP = TSS.ESP - 4", [d_esp], stack_d_top - 4
    CHECK "#GP through a task gate: saved EIP = faulting instruction", [tss_m + T_EIP], gp_fault
    CHECK "#GP through a task gate: back link", [tss_d + T_LINK], SEL_TSS_M
    mov dword [d_ran], 1
    mov dword [tss_m + T_EIP], gp_resume
    iretd

; trap_handler: nothing is expected through the trap gates
trap_handler:
    mov esi, trap_unexpected_str
    jmp trap_unexpected_no_err

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "trap.inc"

    align 8, db 0
gdt:
    GDT_FLAT_KERNEL                                             ; 0x00 null, 0x08 ring-0 code, 0x10 ring-0 data
    GDT_ENTRY tss_m - $$ + LOAD_ADDR, 103, ACC_TSS32, FLG_BYTE  ; 0x18
    GDT_ENTRY tss_a - $$ + LOAD_ADDR, 103, ACC_TSS32, FLG_BYTE  ; 0x20
    GDT_ENTRY tss_b - $$ + LOAD_ADDR, 103, ACC_TSS32, FLG_BYTE  ; 0x28
    GDT_ENTRY tss_c - $$ + LOAD_ADDR, 103, ACC_TSS32, FLG_BYTE  ; 0x30
    GDT_ENTRY tss_d - $$ + LOAD_ADDR, 103, ACC_TSS32, FLG_BYTE  ; 0x38
gdt_end:
gdtr:   PSEUDO_DESC gdt, gdt_end - gdt
idtr:   PSEUDO_DESC idt, 256*8

    align 16, db 0
tss_m:  TSS32 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    align 16, db 0
tss_a:  TSS32 0x5678, task_a, A_EFLAGS, 0xA0000001, 0xA0000002, 0xA0000003, 0xA0000004, stack_a_top, 0xA0000006, 0xA0000007, 0xA0000008
    align 16, db 0
tss_b:  TSS32 0, task_b, 2, 0, 0, 0, 0, stack_b_top, 0, 0, 0
    align 16, db 0
tss_c:  TSS32 0, task_c, 2, 0, 0, 0, 0, stack_c_top, 0, 0, 0
    align 16, db 0
tss_d:  TSS32 0, task_d, 2, 0, 0, 0, 0, stack_d_top, 0, 0, 0

msg_name:       db "tasks", 0
msg_start:      db "tasks: start", 10, 0
msg_bad_resume: db "#GP task gate: resumed at the wrong EIP", 10, 0

    BSS_BEGIN
idt:            resq 256
m_esi:          resd 1
m_ebp:          resd 1
m_efl:          resd 1
a_esp:          resd 1
a_efl:          resd 1
c_ran:          resd 1
d_ran:          resd 1
d_esp:          resd 1
    alignb 16
stack_m:        resb 4096
stack_m_top:
stack_a:        resb 4096
stack_a_top:
stack_b:        resb 4096
stack_b_top:
stack_c:        resb 4096
stack_c_top:
stack_d:        resb 4096
stack_d_top:
    BSS_END
