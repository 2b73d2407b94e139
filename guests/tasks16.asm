; output: tasks16.elf
; tasks16 - hardware task switches through 16-bit TSSs (Intel SDM Vol. 3A 7.6
; "16-bit Task-State Segment (TSS)", Figure 7-11; 7.2.2 "TSS Descriptor" types 1
; (16-bit TSS, available) and 3 (16-bit TSS, busy); 7.3 "Task Switching"; Table 7-2
; "Effect of a Task Switch on Busy Flag, NT Flag, Previous Task Link Field, and TS
; Flag"; Vol. 2A JMP, CALL, IRET).
; A 32-bit task M (32-bit TSS, LTR) JMPs to the 16-bit TSS of task P: P's registers,
; FLAGS, ES CS SS DS and LDTR come from the 16-bit layout, P busy (type 3), M available
; again (type 9), CR0.TS set, M's state saved in its 32-bit TSS. P CALLs the 16-bit
; TSS of task Q: NT set, Q's back link = P, P stays busy; P's outgoing state is
; written into the 16-bit fields of P's TSS only (a canary just past the 44-byte TSS
; is untouched). Q IRETs back to P (Q available, NT clear in Q's saved FLAGS, P's
; registers and FLAGS back). P JMPs back to M; M checks what was saved in P's TSS.
; P and Q run 32-bit code (D=1) in a code segment whose base is the load address, so
; that their IPs fit the 16-bit IP field of the TSS; data segments are flat.
; Only the low 16 bits of a general register are checked after a load from a 16-bit
; TSS: the SDM does not say what the upper halves become (QEMU 7.2 keeps the outgoing
; task's: P sees ESI = 0x5151A007 after M's ESI = 0x51515151 and TSS SI = 0xA007;
; other implementations need not), and for the same reason the 16-bit tasks reload
; ESP before they touch the stack. FS and GS are not checked in a 16-bit task (the
; 16-bit TSS has no fields for them; QEMU 7.2 loads null selectors).
; Expected output (verified on QEMU 7.2):
;   tasks16: start
;   JMP to 16-bit TSS: AX: ok
;   JMP to 16-bit TSS: CX: ok
;   JMP to 16-bit TSS: DX: ok
;   JMP to 16-bit TSS: BX: ok
;   JMP to 16-bit TSS: SP: ok
;   JMP to 16-bit TSS: BP: ok
;   JMP to 16-bit TSS: SI: ok
;   JMP to 16-bit TSS: DI: ok
;   JMP to 16-bit TSS: FLAGS (NT clear): ok
;   JMP to 16-bit TSS: ES: ok
;   JMP to 16-bit TSS: CS: ok
;   JMP to 16-bit TSS: SS: ok
;   JMP to 16-bit TSS: DS: ok
;   JMP to 16-bit TSS: LDTR: ok
;   JMP to 16-bit TSS: TR: ok
;   JMP to 16-bit TSS: CR0.TS set: ok
;   JMP to 16-bit TSS: new TSS busy (type 3): ok
;   JMP to 16-bit TSS: old 32-bit TSS available (type 9): ok
;   JMP to 16-bit TSS: link not written: ok
;   JMP to 16-bit TSS: M's EIP saved in its 32-bit TSS: ok
;   JMP to 16-bit TSS: M's ESI saved: ok
;   CALL to 16-bit TSS: BX: ok
;   CALL to 16-bit TSS: NT set: ok
;   CALL to 16-bit TSS: back link = caller's TR: ok
;   CALL to 16-bit TSS: caller's TSS stays busy (type 3): ok
;   CALL to 16-bit TSS: new TSS busy (type 3): ok
;   CALL to 16-bit TSS: CR0.TS set: ok
;   P saved at CALL: IP: ok
;   P saved at CALL: FLAGS: ok
;   P saved at CALL: AX: ok
;   P saved at CALL: DX: ok
;   P saved at CALL: SP: ok
;   P saved at CALL: SI: ok
;   P saved at CALL: ES: ok
;   P saved at CALL: CS: ok
;   P saved at CALL: SS: ok
;   P saved at CALL: DS: ok
;   P saved at CALL: link not written: ok
;   P saved at CALL: nothing written past the 16-bit TSS: ok
;   IRET back to 16-bit task: AX: ok
;   IRET back to 16-bit task: DX: ok
;   IRET back to 16-bit task: SI: ok
;   IRET back to 16-bit task: FLAGS (NT clear): ok
;   IRET back to 16-bit task: ES: ok
;   IRET back to 16-bit task: SS: ok
;   IRET back to 16-bit task: DS: ok
;   IRET back to 16-bit task: TR: ok
;   IRET back to 16-bit task: Q's TSS available (type 1): ok
;   IRET back to 16-bit task: P's TSS busy (type 3): ok
;   IRET back to 16-bit task: CR0.TS set: ok
;   Q saved: IP: ok
;   Q saved: FLAGS with NT cleared: ok
;   Q saved: DI: ok
;   Q saved: link unchanged: ok
;   Q saved: nothing written past the 16-bit TSS: ok
;   JMP back to 32-bit TSS: ESI, EBP of M restored: ok
;   JMP back to 32-bit TSS: TR: ok
;   JMP back to 32-bit TSS: LDTR from M's TSS (null): ok
;   JMP back to 32-bit TSS: CR0.TS set: ok
;   JMP back to 32-bit TSS: P's TSS available (type 1): ok
;   JMP back to 32-bit TSS: M's TSS busy (type 11): ok
;   P saved: IP: ok
;   P saved: FLAGS: ok
;   P saved: AX and CX (16-bit fields): ok
;   P saved: DX: ok
;   P saved: SP: ok
;   P saved: ES: ok
;   P saved: CS: ok
;   P saved: SS: ok
;   P saved: DS: ok
;   P saved: LDT field not written: ok
;   P saved: link not written by JMP: ok
;   P saved: nothing written past the 16-bit TSS: ok
;   tasks16: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08            ; flat 32-bit code (task M)
SEL_KDATA   equ 0x10            ; flat data
SEL_HCODE   equ 0x18            ; 32-bit code, base LOAD_ADDR (tasks P and Q)
SEL_D2      equ 0x20            ; flat data (P's ES from the TSS)
SEL_D3      equ 0x28            ; flat data (P's SS from the TSS)
SEL_LDT     equ 0x30            ; an LDT (P's LDT selector)
SEL_TSS_M   equ 0x38            ; 32-bit TSS, the first task (LTR)
SEL_TSS_P   equ 0x40            ; 16-bit TSS entered by JMP
SEL_TSS_Q   equ 0x48            ; 16-bit TSS entered by CALL
TRAP_KDATA  equ SEL_KDATA
ACC_TSS16   equ 0x81            ; present, DPL 0, type 1: 16-bit TSS (available)
ACC_LDT     equ 0x82            ; present, DPL 0, type 2: LDT
EFL_NT      equ 1 << 14
CR0_TS      equ 1 << 3
P_FLAGS     equ 0x0843          ; OF, ZF, CF and the always-1 bit
P_CALL_FLAGS equ 0x0887         ; OF, SF, PF, CF, bit 1: P's FLAGS at its CALL
Q_FLAGS     equ 0x4003          ; NT, CF, bit 1: Q's FLAGS at its IRET
P_LINK      equ 0x1357          ; never written by a JMP
CANARY      equ 0xC0DEC0DE      ; the dword just past a 16-bit TSS (limit 43)

; 32-bit TSS field offsets (SDM Figure 7-2)
T_CR3   equ 28
T_EIP   equ 32
T_ESI   equ 64
; 16-bit TSS field offsets (SDM Figure 7-11)
W_LINK  equ 0
W_IP    equ 14
W_FLAGS equ 16
W_AX    equ 18
W_CX    equ 20
W_DX    equ 22
W_BX    equ 24
W_SP    equ 26
W_BP    equ 28
W_SI    equ 30
W_DI    equ 32
W_ES    equ 34
W_CS    equ 36
W_SS    equ 38
W_DS    equ 40
W_LDT   equ 42

; TSS32 eip, esp - a 32-bit TSS with ring-0 flat segments (CR3 filled in at run time)
%macro TSS32 2
    dd 0, 0, 0, 0, 0, 0, 0      ; link, ESP0, SS0, ESP1, SS1, ESP2, SS2
    dd 0                        ; CR3
    dd %1, 2                    ; EIP, EFLAGS
    dd 0, 0, 0, 0, %2, 0, 0, 0  ; EAX ECX EDX EBX ESP EBP ESI EDI
    dd SEL_KDATA, SEL_KCODE, SEL_KDATA, SEL_KDATA, SEL_KDATA, SEL_KDATA ; ES CS SS DS FS GS
    dd 0                        ; LDT
    dw 0, 104                   ; T flag, I/O map base past the limit
%endmacro

; TSS16 link, ip, flags, ax, cx, dx, bx, sp, bp, si, di, es, cs, ss, ds, ldt -
; a 16-bit TSS (SDM Figure 7-11; the ring 0-2 stacks are unused here), followed by
; a canary dword that a task switch must not write
%macro TSS16 16
    dw %1, 0, 0, 0, 0, 0, 0     ; link, SP0, SS0, SP1, SS1, SP2, SS2
    dw %2, %3                   ; IP, FLAGS
    dw %4, %5, %6, %7, %8, %9, %10, %11 ; AX CX DX BX SP BP SI DI
    dw %12, %13, %14, %15       ; ES CS SS DS
    dw %16                      ; LDT
    dd CANARY
%endmacro

; TYPE sel -> EAX = the type field of a GDT descriptor (SDM 7.2.2: 1 / 3 16-bit TSS
; available / busy, 9 / 11 32-bit TSS available / busy)
%macro TYPE 1
    movzx eax, byte [gdt + %1 + 5]
    and eax, 0x0F
%endmacro

; CHECKW name, mem16, want - compares a zero-extended word
%macro CHECKW 3
    push ecx
    movzx ecx, word %2
    CHECK %1, ecx, %3
    pop ecx
%endmacro

start:
    cli
    lgdt [gdtr]
    jmp SEL_KCODE:.cs
.cs:
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, stack_m_top
    cld
    call uart_init
    mov esi, msg_start
    call uart_puts

    mov edi, idt
    mov bl, GATE_INT0
    call trap_install
    lidt [idtr]
    mov eax, cr3
    mov [tss_m + T_CR3], eax
    mov ax, SEL_TSS_M
    ltr ax

; ---- JMP from the 32-bit task M to the 16-bit TSS of P ----
    clts
    mov esi, 0x51515151
    mov ebp, 0x3B3B3B3B
    jmp SEL_TSS_P:0
m_after_jmp:
    mov [m_esi], esi
    mov [m_ebp], ebp
    mov eax, [m_esi]
    xor eax, 0x51515151
    mov edx, [m_ebp]
    xor edx, 0x3B3B3B3B
    or eax, edx
    CHECK "JMP back to 32-bit TSS: ESI, EBP of M restored", eax, 0
    str eax
    and eax, 0xFFFF
    CHECK "JMP back to 32-bit TSS: TR", eax, SEL_TSS_M
    sldt eax
    and eax, 0xFFFF
    CHECK "JMP back to 32-bit TSS: LDTR from M's TSS (null)", eax, 0
    mov eax, cr0
    and eax, CR0_TS
    CHECK "JMP back to 32-bit TSS: CR0.TS set", eax, CR0_TS
    TYPE SEL_TSS_P
    CHECK "JMP back to 32-bit TSS: P's TSS available (type 1)", eax, 1
    TYPE SEL_TSS_M
    CHECK "JMP back to 32-bit TSS: M's TSS busy (type 11)", eax, 11
    CHECKW "P saved: IP", [tss_p + W_IP], p_after_jmp - $$
    CHECKW "P saved: FLAGS", [tss_p + W_FLAGS], P_CALL_FLAGS
    CHECK "P saved: AX and CX (16-bit fields)", [tss_p + W_AX], 0x44442222
    CHECKW "P saved: DX", [tss_p + W_DX], 0x6666
    mov ebx, stack_p_top - 8    ; the bss address is not a scalar for NASM's &
    movzx ebx, bx
    CHECKW "P saved: SP", [tss_p + W_SP], ebx
    CHECKW "P saved: ES", [tss_p + W_ES], SEL_KDATA
    CHECKW "P saved: CS", [tss_p + W_CS], SEL_HCODE
    CHECKW "P saved: SS", [tss_p + W_SS], SEL_D3
    CHECKW "P saved: DS", [tss_p + W_DS], SEL_KDATA
    CHECKW "P saved: LDT field not written", [tss_p + W_LDT], SEL_LDT
    CHECKW "P saved: link not written by JMP", [tss_p + W_LINK], P_LINK
    CHECK "P saved: nothing written past the 16-bit TSS", [tss_p + 44], CANARY

    mov esi, msg_name
    jmp check_done

; ============ task P (16-bit TSS, code segment based at LOAD_ADDR) ============
; Only relative branches and calls here: CS.base = LOAD_ADDR, so an offset in this
; segment is (label - $$); data addresses are absolute (flat DS).
task_p:
    mov [p_r + 0], eax          ; everything first: the stack is not usable yet
    mov [p_r + 4], ecx
    mov [p_r + 8], edx
    mov [p_r + 12], ebx
    mov [p_r + 16], esp
    mov [p_r + 20], ebp
    mov [p_r + 24], esi
    mov [p_r + 28], edi
    mov [p_es], es
    mov [p_cs], cs
    mov [p_ss], ss
    mov [p_ds], ds
    sldt [p_ldt]
    str [p_tr]
    mov esp, stack_p_top        ; SS (flat) from the TSS; ESP's upper half is unknown
    pushfd
    pop dword [p_efl]
    CHECKW "JMP to 16-bit TSS: AX", [p_r + 0], 0xA001
    CHECKW "JMP to 16-bit TSS: CX", [p_r + 4], 0xA002
    CHECKW "JMP to 16-bit TSS: DX", [p_r + 8], 0xA003
    CHECKW "JMP to 16-bit TSS: BX", [p_r + 12], 0xA004
    CHECKW "JMP to 16-bit TSS: SP", [p_r + 16], 0xA005
    CHECKW "JMP to 16-bit TSS: BP", [p_r + 20], 0xA006
    CHECKW "JMP to 16-bit TSS: SI", [p_r + 24], 0xA007
    CHECKW "JMP to 16-bit TSS: DI", [p_r + 28], 0xA008
    CHECKW "JMP to 16-bit TSS: FLAGS (NT clear)", [p_efl], P_FLAGS
    CHECK "JMP to 16-bit TSS: ES", [p_es], SEL_D2
    CHECK "JMP to 16-bit TSS: CS", [p_cs], SEL_HCODE
    CHECK "JMP to 16-bit TSS: SS", [p_ss], SEL_D3
    CHECK "JMP to 16-bit TSS: DS", [p_ds], SEL_KDATA
    CHECK "JMP to 16-bit TSS: LDTR", [p_ldt], SEL_LDT
    CHECK "JMP to 16-bit TSS: TR", [p_tr], SEL_TSS_P
    mov eax, cr0
    and eax, CR0_TS
    CHECK "JMP to 16-bit TSS: CR0.TS set", eax, CR0_TS
    TYPE SEL_TSS_P
    CHECK "JMP to 16-bit TSS: new TSS busy (type 3)", eax, 3
    TYPE SEL_TSS_M
    CHECK "JMP to 16-bit TSS: old 32-bit TSS available (type 9)", eax, 9
    CHECKW "JMP to 16-bit TSS: link not written", [tss_p + W_LINK], P_LINK
    CHECK "JMP to 16-bit TSS: M's EIP saved in its 32-bit TSS", [tss_m + T_EIP], m_after_jmp
    CHECK "JMP to 16-bit TSS: M's ESI saved", [tss_m + T_ESI], 0x51515151

; ---- CALL from P to the 16-bit TSS of Q ----
    clts
    mov eax, 0xFEDC1234
    mov esi, 0x9876ABCD
    mov edx, 0x0BADF00D
    push dword P_CALL_FLAGS
    popfd
    call SEL_TSS_Q:0
p_after_call:
    mov [p_r + 0], eax          ; the registers came back from P's 16-bit TSS
    mov [p_r + 8], edx
    mov [p_r + 24], esi
    mov [p_es], es
    mov [p_ss], ss
    mov [p_ds], ds
    mov esp, stack_p_top
    pushfd
    pop dword [p_efl]
    CHECKW "IRET back to 16-bit task: AX", [p_r + 0], 0x1234
    CHECKW "IRET back to 16-bit task: DX", [p_r + 8], 0xF00D
    CHECKW "IRET back to 16-bit task: SI", [p_r + 24], 0xABCD
    CHECKW "IRET back to 16-bit task: FLAGS (NT clear)", [p_efl], P_CALL_FLAGS
    CHECK "IRET back to 16-bit task: ES", [p_es], SEL_D2
    CHECK "IRET back to 16-bit task: SS", [p_ss], SEL_D3
    CHECK "IRET back to 16-bit task: DS", [p_ds], SEL_KDATA
    str eax
    and eax, 0xFFFF
    CHECK "IRET back to 16-bit task: TR", eax, SEL_TSS_P
    TYPE SEL_TSS_Q
    CHECK "IRET back to 16-bit task: Q's TSS available (type 1)", eax, 1
    TYPE SEL_TSS_P
    CHECK "IRET back to 16-bit task: P's TSS busy (type 3)", eax, 3
    mov eax, cr0
    and eax, CR0_TS
    CHECK "IRET back to 16-bit task: CR0.TS set", eax, CR0_TS
    CHECKW "Q saved: IP", [tss_q + W_IP], q_after_iret - $$
    CHECKW "Q saved: FLAGS with NT cleared", [tss_q + W_FLAGS], Q_FLAGS & ~EFL_NT
    CHECKW "Q saved: DI", [tss_q + W_DI], 0x7777
    CHECKW "Q saved: link unchanged", [tss_q + W_LINK], SEL_TSS_P
    CHECK "Q saved: nothing written past the 16-bit TSS", [tss_q + 44], CANARY

; ---- JMP from P back to the 32-bit task M ----
    mov ax, SEL_KDATA
    mov es, ax
    sub esp, 8
    mov eax, 0x11112222
    mov ecx, 0x33334444
    mov edx, 0x55556666
    clts
    push dword P_CALL_FLAGS
    popfd
    jmp SEL_TSS_M:0
p_after_jmp:
    mov esi, msg_bad_resume     ; nothing resumes P
    call uart_puts
    mov al, 101
    jmp guest_exit

; ============ task Q (16-bit TSS, entered by CALL) ============
task_q:
    mov [q_ebx], ebx
    mov esp, stack_q_top
    pushfd
    pop dword [q_efl]
    CHECKW "CALL to 16-bit TSS: BX", [q_ebx], 0xB004
    mov eax, [q_efl]
    and eax, EFL_NT
    CHECK "CALL to 16-bit TSS: NT set", eax, EFL_NT
    CHECKW "CALL to 16-bit TSS: back link = caller's TR", [tss_q + W_LINK], SEL_TSS_P
    TYPE SEL_TSS_P
    CHECK "CALL to 16-bit TSS: caller's TSS stays busy (type 3)", eax, 3
    TYPE SEL_TSS_Q
    CHECK "CALL to 16-bit TSS: new TSS busy (type 3)", eax, 3
    mov eax, cr0
    and eax, CR0_TS
    CHECK "CALL to 16-bit TSS: CR0.TS set", eax, CR0_TS
    CHECKW "P saved at CALL: IP", [tss_p + W_IP], p_after_call - $$
    CHECKW "P saved at CALL: FLAGS", [tss_p + W_FLAGS], P_CALL_FLAGS
    CHECKW "P saved at CALL: AX", [tss_p + W_AX], 0x1234
    CHECKW "P saved at CALL: DX", [tss_p + W_DX], 0xF00D
    mov ebx, stack_p_top
    movzx ebx, bx
    CHECKW "P saved at CALL: SP", [tss_p + W_SP], ebx
    CHECKW "P saved at CALL: SI", [tss_p + W_SI], 0xABCD
    CHECKW "P saved at CALL: ES", [tss_p + W_ES], SEL_D2
    CHECKW "P saved at CALL: CS", [tss_p + W_CS], SEL_HCODE
    CHECKW "P saved at CALL: SS", [tss_p + W_SS], SEL_D3
    CHECKW "P saved at CALL: DS", [tss_p + W_DS], SEL_KDATA
    CHECKW "P saved at CALL: link not written", [tss_p + W_LINK], P_LINK
    CHECK "P saved at CALL: nothing written past the 16-bit TSS", [tss_p + 44], CANARY
    clts                        ; so the IRET's switch must set CR0.TS again
    mov edi, 0x12347777
    push dword Q_FLAGS
    popfd                       ; NT stays set: IRET is a task return
    iretd                       ; NT=1: return to the task in the back link
q_after_iret:
    mov esi, msg_bad_resume     ; nothing resumes Q
    call uart_puts
    mov al, 102
    jmp guest_exit

; trap_handler: nothing is expected through the trap gates
trap_handler:
    mov esi, msg_unexpected
    call uart_puts
    mov eax, [ebp + TF_VEC]
    call print_dec
    mov esi, msg_eip
    call uart_puts
    mov eax, [ebp + TF_EIP]
    call print_hex32
    mov al, 10
    call uart_putc
    mov al, 100
    jmp guest_exit

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "trap.inc"

    align 8, db 0
gdt:
    GDT_ENTRY 0, 0, 0, 0
    GDT_ENTRY 0, 0xFFFFF, ACC_CODE0, FLG_4K32                   ; 0x08
    GDT_ENTRY 0, 0xFFFFF, ACC_DATA0, FLG_4K32                   ; 0x10
    GDT_ENTRY LOAD_ADDR, 0xFFFFF, ACC_CODE0, FLG_4K32           ; 0x18
    GDT_ENTRY 0, 0xFFFFF, ACC_DATA0, FLG_4K32                   ; 0x20
    GDT_ENTRY 0, 0xFFFFF, ACC_DATA0, FLG_4K32                   ; 0x28
    GDT_ENTRY ldt - $$ + LOAD_ADDR, 15, ACC_LDT, FLG_BYTE       ; 0x30
    GDT_ENTRY tss_m - $$ + LOAD_ADDR, 103, ACC_TSS32, FLG_BYTE  ; 0x38
    GDT_ENTRY tss_p - $$ + LOAD_ADDR, 43, ACC_TSS16, FLG_BYTE   ; 0x40
    GDT_ENTRY tss_q - $$ + LOAD_ADDR, 43, ACC_TSS16, FLG_BYTE   ; 0x48
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd gdt
idtr:
    dw 256*8 - 1
    dd idt

    align 8, db 0
ldt:
    GDT_ENTRY 0, 0, 0, 0
    GDT_ENTRY 0, 0xFFFFF, ACC_DATA0, FLG_4K32

    align 16, db 0
tss_m:  TSS32 0, 0
    align 16, db 0
tss_p:  TSS16 P_LINK, task_p - $$, P_FLAGS, 0xA001, 0xA002, 0xA003, 0xA004, 0xA005, 0xA006, 0xA007, 0xA008, SEL_D2, SEL_HCODE, SEL_D3, SEL_KDATA, SEL_LDT
    align 16, db 0
tss_q:  TSS16 0, task_q - $$, 0x0002, 0xB001, 0xB002, 0xB003, 0xB004, 0xB005, 0xB006, 0xB007, 0xB008, SEL_KDATA, SEL_HCODE, SEL_KDATA, SEL_KDATA, 0

msg_name:       db "tasks16", 0
msg_start:      db "tasks16: start", 10, 0
msg_unexpected: db "UNEXPECTED exception vector=", 0
msg_eip:        db " eip=0x", 0
msg_bad_resume: db "a task resumed at the wrong IP", 10, 0

    BSS_BEGIN
idt:            resq 256
m_esi:          resd 1
m_ebp:          resd 1
p_r:            resd 8
p_es:           resd 1
p_cs:           resd 1
p_ss:           resd 1
p_ds:           resd 1
p_ldt:          resd 1
p_tr:           resd 1
p_efl:          resd 1
q_ebx:          resd 1
q_efl:          resd 1
    alignb 16
stack_m:        resb 4096
stack_m_top:
stack_p:        resb 4096
stack_p_top:
stack_q:        resb 4096
stack_q_top:
    BSS_END
