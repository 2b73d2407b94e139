; output: v86.elf
; v86 - virtual-8086 mode (Intel SDM Vol. 3A 20.2 "Virtual-8086 Mode", 20.2.1 "Enabling
; Virtual-8086 Mode", 20.3 "Interrupt and Exception Handling in Virtual-8086 Mode",
; 6.12.1 Figure 6-5 "Stack Usage on Transfers to Interrupt and Exception-Handling
; Routines" with the v86 segment registers; Vol. 2A IRET, INT n).
; Ring 0 IRETs with EFLAGS.VM=1 into 16-bit code copied below 1 MiB; the 32-bit TSS
; supplies SS0:ESP0 for the way back. In v86 mode: real-mode segment arithmetic
; (linear = segment*16 + offset), 16-bit default operand size, a push/pop. With
; IOPL=0, INT n raises #GP(0) to the ring-0 handler, which checks the frame (VM=1 in
; the pushed EFLAGS, the v86 CS:IP of the INT, SS:SP, then ES DS FS GS above them) and
; that DS/ES/FS/GS were zeroed for it, then skips the INT and sets IOPL=3 in the
; pushed EFLAGS before its IRET back to v86 mode. With IOPL=3 INT n goes through a
; DPL-3 interrupt gate to a ring-0 handler (EIP after the INT, VM cleared while the
; handler runs) which IRETs back. A last INT goes to a handler that does not return.
; Expected output (verified on QEMU 7.2):
;   v86: start
;   #GP from v86: error code 0: ok
;   #GP from v86: VM=1 in the pushed EFLAGS: ok
;   #GP from v86: pushed IOPL 0: ok
;   #GP from v86: pushed CS = v86 code segment: ok
;   #GP from v86: pushed EIP = the INT instruction: ok
;   #GP from v86: pushed SS: ok
;   #GP from v86: pushed ESP: ok
;   #GP from v86: pushed ES: ok
;   #GP from v86: pushed DS: ok
;   #GP from v86: pushed FS: ok
;   #GP from v86: pushed GS: ok
;   #GP from v86: DS zero in the handler: ok
;   #GP from v86: ES zero in the handler: ok
;   #GP from v86: FS zero in the handler: ok
;   #GP from v86: GS zero in the handler: ok
;   #GP from v86: frame at the top of TSS.ESP0: ok
;   INT 0x30 with IOPL=3: through the IDT: ok
;   INT 0x30 with IOPL=3: VM=1 IOPL=3 in the pushed EFLAGS: ok
;   INT 0x30 with IOPL=3: pushed EIP = next instruction: ok
;   INT 0x30 with IOPL=3: pushed CS: ok
;   INT 0x30 with IOPL=3: pushed DS: ok
;   INT 0x30 with IOPL=3: DS zero in the handler: ok
;   INT 0x30 with IOPL=3: handler runs with VM=0: ok
;   v86: left through INT 0x31: ok
;   v86: seg*16+off, two aliases of one linear address: ok
;   v86: CS = code segment: ok
;   v86: push/pop: ok
;   v86: SP after push/pop: ok
;   v86: 32-bit operand with 66h prefix: ok
;   v86: DS restored by IRET from the #GP handler: ok
;   v86: DS restored by IRET from the INT handler: ok
;   v86: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
SEL_TSS     equ 0x18
TRAP_KDATA  equ SEL_KDATA
EFL_VM      equ 1 << 17
EFL_IOPL    equ 3 << 12
V86_CS      equ 0x2000          ; code copied to linear 0x20000
V86_SS      equ 0x3000          ; stack at linear 0x30000-0x31000
V86_SP      equ 0x1000
V86_DS      equ 0x1234          ; data: 0x1234:0x0010 = 0x1235:0x0000 = linear 0x12350
V86_ES      equ 0x1235
V86_FS      equ 0x0400          ; results at linear 0x4000
V86_GS      equ 0x4444
RESULTS     equ V86_FS * 16
V86_RET_INT equ 0x30            ; returns to v86 (IOPL=3)
V86_END_INT equ 0x31            ; leaves v86 mode

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, boot_stack_top
    cld
    call uart_init
    mov esi, msg_start
    call uart_puts

    mov edi, idt
    mov bl, GATE_INT0
    call trap_install
    ; INT n from v86 mode with IOPL=3 needs a DPL-3 gate to a DPL-0 non-conforming
    ; code segment (SDM 20.3.1.1)
    mov ecx, V86_RET_INT
    mov eax, int30_stub
    mov bl, GATE_INT3
    call idt_set_gate
    mov ecx, V86_END_INT
    mov eax, int31_stub
    call idt_set_gate
    lidt [idtr]
    TSS_LOAD tss, kstack_top, SEL_KDATA, SEL_TSS

    ; the v86 code below 1 MiB, a clean results area
    mov esi, v86_code
    mov edi, V86_CS * 16
    mov ecx, v86_code_end - v86_code
    rep movsb
    mov edi, RESULTS
    xor eax, eax
    mov ecx, 16
    rep stosd

    ; IRET to v86 mode (SDM 2A IRET "RETURN-TO-VIRTUAL-8086-MODE"): from ring 0 it
    ; pops EIP, CS, EFLAGS (VM=1), ESP, SS, ES, DS, FS, GS
    mov [kernel_esp], esp
    push dword V86_GS
    push dword V86_FS
    push dword V86_DS
    push dword V86_ES
    push dword V86_SS
    push dword V86_SP
    push dword EFL_VM | 2       ; VM=1, IOPL=0, IF=0
    push dword V86_CS
    push dword 0                ; IP: v86_code is at offset 0 of V86_CS
    iretd

; INT 0x31 handler jumps here with the kernel stack back
after_v86:
    CHECK "v86: left through INT 0x31", [left_v86], 1
    movzx eax, word [RESULTS + 0]
    CHECK "v86: seg*16+off, two aliases of one linear address", eax, 0xBEEF
    movzx eax, word [RESULTS + 2]
    CHECK "v86: CS = code segment", eax, V86_CS
    movzx eax, word [RESULTS + 4]
    CHECK "v86: push/pop", eax, 0x5A5A
    movzx eax, word [RESULTS + 6]
    CHECK "v86: SP after push/pop", eax, V86_SP
    CHECK "v86: 32-bit operand with 66h prefix", [RESULTS + 8], 0x12345678
    movzx eax, word [RESULTS + 12]
    CHECK "v86: DS restored by IRET from the #GP handler", eax, V86_DS
    movzx eax, word [RESULTS + 14]
    CHECK "v86: DS restored by IRET from the INT handler", eax, V86_DS
    mov esi, msg_name
    jmp check_done

; ======================= virtual-8086 code =======================
    bits 16
v86_code:
    mov word [0x0010], 0xBEEF   ; DS=0x1234: linear 0x12350
    mov bx, [es:0x0000]         ; ES=0x1235: the same linear address
    mov [fs:0x0000], bx
    mov ax, cs
    mov [fs:0x0002], ax
    push word 0x5A5A
    pop cx
    mov [fs:0x0004], cx
    mov [fs:0x0006], sp
    mov eax, 0x12345678         ; operand-size prefix in a 16-bit segment
    mov [fs:0x0008], eax
v86_int1:
    int V86_RET_INT             ; IOPL=0: #GP(0) (SDM 20.2.7)
    mov ax, ds
    mov [fs:0x000C], ax
v86_int2:
    int V86_RET_INT             ; IOPL=3 now: through the IDT
v86_after_int2:
    mov ax, ds
    mov [fs:0x000E], ax
    int V86_END_INT
v86_hang:
    jmp v86_hang
v86_code_end:
    bits 32

; ======================= ring 0 =======================
int30_stub:
    push 0
    push V86_RET_INT
    jmp trap_common
int31_stub:
    push 0
    push V86_END_INT
    jmp trap_common

; trap_handler: EBP = frame (trap.inc)
trap_handler:
    mov eax, [ebp + TF_VEC]
    cmp eax, 13
    je .gp
    cmp eax, V86_RET_INT
    je .int30
    cmp eax, V86_END_INT
    je .int31
    jmp .unexpected
.gp:
    test dword [ebp + TF_EFL], EFL_VM
    jz .unexpected
    inc dword [gp_count]
    cmp dword [gp_count], 1
    jne .unexpected
    CHECK "#GP from v86: error code 0", [ebp + TF_ERR], 0
    mov eax, [ebp + TF_EFL]
    and eax, EFL_VM
    CHECK "#GP from v86: VM=1 in the pushed EFLAGS", eax, EFL_VM
    mov eax, [ebp + TF_EFL]
    and eax, EFL_IOPL
    CHECK "#GP from v86: pushed IOPL 0", eax, 0
    movzx eax, word [ebp + TF_CS]
    CHECK "#GP from v86: pushed CS = v86 code segment", eax, V86_CS
    CHECK "#GP from v86: pushed EIP = the INT instruction", [ebp + TF_EIP], v86_int1 - v86_code
    movzx eax, word [ebp + TF_SS]
    CHECK "#GP from v86: pushed SS", eax, V86_SS
    CHECK "#GP from v86: pushed ESP", [ebp + TF_ESP], V86_SP
    movzx eax, word [ebp + TF_V86ES]
    CHECK "#GP from v86: pushed ES", eax, V86_ES
    movzx eax, word [ebp + TF_V86DS]
    CHECK "#GP from v86: pushed DS", eax, V86_DS
    movzx eax, word [ebp + TF_V86FS]
    CHECK "#GP from v86: pushed FS", eax, V86_FS
    movzx eax, word [ebp + TF_V86GS]
    CHECK "#GP from v86: pushed GS", eax, V86_GS
    call check_zero_segs_gp
    lea eax, [ebp + TF_V86GS + 4]
    CHECK "#GP from v86: frame at the top of TSS.ESP0", eax, kstack_top
    add dword [ebp + TF_EIP], 2 ; skip the INT n (CD ib)
    or dword [ebp + TF_EFL], EFL_IOPL
    ret
.int30:
    inc dword [int30_count]
    CHECK "INT 0x30 with IOPL=3: through the IDT", [int30_count], 1
    mov eax, [ebp + TF_EFL]
    and eax, EFL_VM | EFL_IOPL
    CHECK "INT 0x30 with IOPL=3: VM=1 IOPL=3 in the pushed EFLAGS", eax, EFL_VM | EFL_IOPL
    CHECK "INT 0x30 with IOPL=3: pushed EIP = next instruction", [ebp + TF_EIP], v86_after_int2 - v86_code
    movzx eax, word [ebp + TF_CS]
    CHECK "INT 0x30 with IOPL=3: pushed CS", eax, V86_CS
    movzx eax, word [ebp + TF_V86DS]
    CHECK "INT 0x30 with IOPL=3: pushed DS", eax, V86_DS
    movzx eax, word [ebp + TF_DS]
    CHECK "INT 0x30 with IOPL=3: DS zero in the handler", eax, 0
    pushfd
    pop eax
    and eax, EFL_VM
    CHECK "INT 0x30 with IOPL=3: handler runs with VM=0", eax, 0
    ret
.int31:
    mov dword [left_v86], 1
    mov ax, SEL_KDATA
    mov fs, ax
    mov gs, ax
    mov esp, [kernel_esp]
    jmp after_v86
.unexpected:
    mov esi, trap_unexpected_str
    jmp trap_unexpected

; the segment registers the #GP handler started with (saved by trap_common)
check_zero_segs_gp:
    movzx eax, word [ebp + TF_DS]
    CHECK "#GP from v86: DS zero in the handler", eax, 0
    movzx eax, word [ebp + TF_ES]
    CHECK "#GP from v86: ES zero in the handler", eax, 0
    movzx eax, word [ebp + TF_FS]
    CHECK "#GP from v86: FS zero in the handler", eax, 0
    movzx eax, word [ebp + TF_GS]
    CHECK "#GP from v86: GS zero in the handler", eax, 0
    ret

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "trap.inc"

    align 8, db 0
gdt:
    GDT_FLAT_KERNEL                                         ; 0x00 null, 0x08 ring-0 code, 0x10 ring-0 data
    GDT_TSS32 tss                                           ; 0x18
gdt_end:
gdtr:   PSEUDO_DESC gdt, gdt_end - gdt
idtr:   PSEUDO_DESC idt, 256*8
    align 16, db 0
tss: times 104 db 0

msg_name:       db "v86", 0
msg_start:      db "v86: start", 10, 0

    BSS_BEGIN
idt:            resq 256
kernel_esp:     resd 1
gp_count:       resd 1
int30_count:    resd 1
left_v86:       resd 1
    alignb 16
boot_stack:     resb 4096
boot_stack_top:
kstack:         resb 4096
kstack_top:
    BSS_END
