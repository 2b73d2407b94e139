; output: debug.elf
; debug - the debug exception #DB (Intel SDM Vol. 3A 18.2 "Debug Registers", 18.3.1
; "Debug Exception (#DB)", 6.8.3 "Masking Exceptions and Interrupts When Switching
; Stacks"): EFLAGS.TF single-step traps over a known instruction sequence and DR6.BS,
; single-step through REP string iterations, the MOV SS shadow delaying the trap by one
; instruction, and DR0-DR3 instruction breakpoints (R/W=00, LEN=00) as faults with
; EIP = breakpoint address and DR6.Bn set, resumed with EFLAGS.RF. Data breakpoints
; are not tested here. One line per check.
; Expected output (verified on QEMU 7.2):
;   debug: start
;   single-step: traps over 4 instructions: ok
;   single-step: eip after instruction 1: ok
;   single-step: eip after instruction 4: ok
;   single-step: DR6.BS: ok
;   single-step: instructions ran: ok
;   single-step REP STOSB: one trap per iteration: ok
;   single-step REP STOSB: eip after iteration 1: ok
;   single-step REP STOSB: eip after iteration 2: ok
;   single-step REP STOSB: eip after iteration 3: ok
;   MOV SS shadow: traps: ok
;   MOV SS shadow: no trap right after MOV SS: ok
;   MOV SS shadow: trap after the next instruction: ok
;   DR0 execute breakpoint: one #DB: ok
;   DR0 execute breakpoint: eip = breakpoint address (fault): ok
;   DR0 execute breakpoint: DR6.B0: ok
;   DR0 execute breakpoint: instruction ran once after RF: ok
;   DR0 execute breakpoint: hit again on the next pass: ok
;   DR3 execute breakpoint with G3: eip: ok
;   DR3 execute breakpoint with G3: DR6.B3: ok
;   disabled breakpoint (DR7.L0=G0=0): no #DB: ok
;   debug: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
TRAP_KDATA  equ SEL_KDATA
EFL_TF      equ 1 << 8
EFL_RF      equ 1 << 16
DR6_B0      equ 1 << 0
DR6_B3      equ 1 << 3
DR6_BS      equ 1 << 14
DR7_L0      equ 1 << 0
DR7_G3      equ 1 << 7
MAX_LOG     equ 16

; ARM stop_eip, set_rf - reset the #DB log; the handler clears TF when the pushed EIP is
; stop_eip and sets RF in the pushed EFLAGS when set_rf is 1
%macro ARM 2
    mov dword [db_count], 0
    mov dword [stop_eip], %1
    mov dword [set_rf], %2
    xor eax, eax
    mov dr6, eax
%endmacro

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init
    mov esi, msg_start
    call uart_puts
    mov edi, idt
    mov bl, GATE_INT0
    call trap_install
    lidt [idtr]

; ---- single-step over four instructions: POPF sets TF, the first trap comes after
; the instruction following POPF (SDM 18.3.1.4) ----
    ARM ss_end, 0
    xor ecx, ecx
    pushfd
    or dword [esp], EFL_TF
    popfd
    inc ecx                     ; 1
ss_i2:
    inc ecx                     ; 2
    add ecx, 10                 ; 3
    lea ecx, [ecx + 100]        ; 4
ss_end:
    CHECK "single-step: traps over 4 instructions", [db_count], 4
    CHECK "single-step: eip after instruction 1", [db_eip], ss_i2
    CHECK "single-step: eip after instruction 4", [db_eip + 12], ss_end
    mov eax, [db_dr6 + 12]
    and eax, DR6_BS
    CHECK "single-step: DR6.BS", eax, DR6_BS
    CHECK "single-step: instructions ran", ecx, 112

; ---- REP string: a single-step trap after every iteration (SDM 18.3.1.4), EIP on
; the REP instruction until the last one ----
    ARM rep_end, 0
    mov edi, rep_buf
    mov ecx, 3
    mov al, 0x5A
    pushfd
    or dword [esp], EFL_TF
    popfd
rep_insn:
    rep stosb
rep_end:
    CHECK "single-step REP STOSB: one trap per iteration", [db_count], 3
    CHECK "single-step REP STOSB: eip after iteration 1", [db_eip], rep_insn
    CHECK "single-step REP STOSB: eip after iteration 2", [db_eip + 4], rep_insn
    CHECK "single-step REP STOSB: eip after iteration 3", [db_eip + 8], rep_end

; ---- MOV SS: the single-step trap after it is delayed to after the next
; instruction (SDM 6.8.3) ----
    ARM shadow_end, 0
    mov ax, ss
    pushfd
    or dword [esp], EFL_TF
    popfd
    nop                         ; trap after this one: EIP = shadow_mov
shadow_mov:
    mov ss, ax
shadow_next:
    nop
shadow_end:
    CHECK "MOV SS shadow: traps", [db_count], 2
    CHECK "MOV SS shadow: no trap right after MOV SS", [db_eip], shadow_mov
    CHECK "MOV SS shadow: trap after the next instruction", [db_eip + 4], shadow_end

; ---- DR0 instruction breakpoint: a fault, resumed with RF (SDM 18.3.1.1) ----
    mov eax, bp_target
    mov dr0, eax
    mov eax, DR7_L0             ; L0, R/W0 = 00 (execute), LEN0 = 00
    mov dr7, eax
    ARM 0, 1
    mov dword [bp_runs], 0
    call bp_func
    CHECK "DR0 execute breakpoint: one #DB", [db_count], 1
    CHECK "DR0 execute breakpoint: eip = breakpoint address (fault)", [db_eip], bp_target
    mov eax, [db_dr6]
    and eax, DR6_B0 | DR6_BS
    CHECK "DR0 execute breakpoint: DR6.B0", eax, DR6_B0
    CHECK "DR0 execute breakpoint: instruction ran once after RF", [bp_runs], 1
    call bp_func
    CHECK "DR0 execute breakpoint: hit again on the next pass", [db_count], 2

; ---- DR3 with the global enable ----
    mov eax, bp3_target
    mov dr3, eax
    mov eax, DR7_G3
    mov dr7, eax
    ARM 0, 1
    call bp3_func
    CHECK "DR3 execute breakpoint with G3: eip", [db_eip], bp3_target
    mov eax, [db_dr6]
    and eax, DR6_B3 | DR6_B0 | DR6_BS
    CHECK "DR3 execute breakpoint with G3: DR6.B3", eax, DR6_B3

; ---- disabled: DR0 still holds the address but DR7 enables nothing ----
    xor eax, eax
    mov dr7, eax
    ARM 0, 1
    call bp_func
    CHECK "disabled breakpoint (DR7.L0=G0=0): no #DB", [db_count], 0

    mov esi, msg_name
    jmp check_done

bp_func:
    nop
bp_target:
    inc dword [bp_runs]
    ret

bp3_func:
    mov eax, 1
bp3_target:
    add eax, 2
    ret

; trap_handler: EBP = frame (trap.inc)
trap_handler:
    cmp dword [ebp + TF_VEC], 1
    jne .unexpected
    mov ecx, [db_count]
    cmp ecx, MAX_LOG
    jae .unexpected
    mov eax, [ebp + TF_EIP]
    mov [db_eip + ecx*4], eax
    mov eax, dr6
    mov [db_dr6 + ecx*4], eax
    xor eax, eax
    mov dr6, eax                ; DR6 is never cleared by the processor (SDM 18.2.3)
    inc dword [db_count]
    mov eax, [ebp + TF_EIP]
    cmp eax, [stop_eip]
    jne .no_stop
    and dword [ebp + TF_EFL], ~EFL_TF
.no_stop:
    cmp dword [set_rf], 0
    je .done
    or dword [ebp + TF_EFL], EFL_RF
.done:
    ret
.unexpected:
    mov esi, msg_unexpected
    jmp trap_unexpected_no_err

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "trap.inc"

    align 8, db 0
gdt:
    GDT_FLAT_KERNEL                                         ; 0x00 null, 0x08 ring-0 code, 0x10 ring-0 data
gdt_end:
gdtr:   PSEUDO_DESC gdt, gdt_end - gdt
idtr:   PSEUDO_DESC idt, 32*8

msg_name:       db "debug", 0
msg_start:      db "debug: start", 10, 0
msg_unexpected: db "UNEXPECTED exception (or too many #DB) vector=", 0

    BSS_BEGIN
idt:            resq 32
db_count:       resd 1
stop_eip:       resd 1
set_rf:         resd 1
bp_runs:        resd 1
rep_buf:        resd 1
db_eip:         resd MAX_LOG
db_dr6:         resd MAX_LOG
    alignb 16
stack:          resb 4096
stack_top:
    BSS_END
