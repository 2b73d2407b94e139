; output: gates.elf
; gates - call gates and segment protection (Intel SDM Vol. 3A 5.8 "Privilege Level
; Checking When Transferring Program Control Between Code Segments", 5.8.5 "Stack
; Switching", Figure 5-13; Vol. 2A CALL, JMP, RET, LAR, LSL, VERR/VERW, ARPL).
; Ring 3 calls ring 0 through a DPL-3 32-bit call gate with parameter count 2: the
; processor switches to TSS.SS0:ESP0 and builds the frame of Figure 5-13 (SS, ESP,
; the 2 parameters, CS, EIP); RETF 8 returns to ring 3, releases the parameters on
; both stacks and nulls the data segment registers whose DPL is below the new CPL.
; A conforming DPL-0 segment called from ring 3 runs at CPL 3. #GP for a gate with
; DPL < CPL, a far JMP to a more privileged non-conforming segment and a JMP through a
; call gate to one. LAR/LSL/VERR/VERW from ring 3 and ring 0, and ARPL.
; Ring 3 cannot print (IOPL=0): it records its results, the kernel checks them.
; Expected output (verified on QEMU 7.2):
;   gates: start
;   call gate: handler CS (CPL 0): ok
;   call gate: SS from TSS.SS0: ok
;   call gate: ESP = TSS.ESP0 - 24: ok
;   call gate: pushed EIP: ok
;   call gate: pushed CS: ok
;   call gate: parameter 2 (last pushed) copied: ok
;   call gate: parameter 1 copied: ok
;   call gate: pushed ESP = caller's ESP: ok
;   call gate: pushed SS: ok
;   RETF 8: ring-3 ESP with the parameters released: ok
;   RETF 8: back in ring 3 (CS): ok
;   RETF to ring 3 nulls DS (DPL 0): ok
;   RETF to ring 3 nulls ES (DPL 0): ok
;   RETF to ring 3 keeps FS (DPL 3): ok
;   RETF to ring 3 keeps GS (conforming code): ok
;   conforming DPL-0 code called from ring 3 runs with CS.RPL=3: ok
;   call through a DPL-0 gate from CPL 3: #GP: ok
;   call through a DPL-0 gate from CPL 3: error code = gate selector: ok
;   far JMP to DPL-0 non-conforming code from CPL 3: #GP: ok
;   far JMP to DPL-0 non-conforming code from CPL 3: error code: ok
;   JMP through a call gate to DPL-0 non-conforming code: #GP: ok
;   JMP through a call gate to DPL-0 non-conforming code: error code: ok
;   LAR ring-3 code from CPL 3: ok
;   LAR ring-0 code from CPL 3 fails: ok
;   LAR DPL-0 conforming code from CPL 3: ok
;   LAR call gate from CPL 3: ok
;   LAR busy TSS from CPL 3 fails: ok
;   LSL ring-3 data (G=1): ok
;   LSL call gate fails: ok
;   VERR ring-3 code: ok
;   VERW ring-3 code: ok
;   VERW ring-3 data: ok
;   VERR ring-0 data from CPL 3: ok
;   VERR null selector: ok
;   LAR busy TSS from CPL 0: ok
;   LSL TSS from CPL 0: ok
;   ARPL raises RPL: ok
;   ARPL raises RPL: ZF: ok
;   ARPL keeps a higher RPL: ok
;   ARPL keeps a higher RPL: ZF: ok
;   gates: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
USER_CS     equ 0x18 | 3
USER_DS     equ 0x20 | 3
SEL_TSS     equ 0x28
SEL_GATE3   equ 0x30            ; 32-bit call gate, DPL 3, 2 parameters -> 0x08:gate_target
SEL_CONF    equ 0x38            ; conforming execute/read code, DPL 0
SEL_GATE0   equ 0x40            ; 32-bit call gate, DPL 0 -> 0x08:gate_target
TRAP_KDATA  equ SEL_KDATA
ACC_CONF0   equ 0x9E            ; present, DPL 0, code, conforming, readable
GATE_CALL3  equ 0xEC            ; present, DPL 3, 32-bit call gate (type 12)
GATE_CALL0  equ 0x8C            ; present, DPL 0, 32-bit call gate
; SDM LAR: bits 19:16 of the result are undefined. The accessed bit (bit 8) is left out
; too: the processor sets it in the descriptor when it loads the selector into a
; segment register (SDM 3.4.5.1), QEMU 7.2 does not do so for CS.
LAR_MASK    equ 0x00F0FE00
NO_RESULT   equ 0xEEEEEEEE      ; recorded when LAR/LSL cleared ZF

; U_LARLSL insn, selector, slot - ring 3: record the result, or NO_RESULT if ZF=0
%macro U_LARLSL 3
    mov ecx, %2
    mov eax, NO_RESULT
    %1 eax, ecx
    mov [u_res + (%3)*4], eax
%endmacro
; U_VER insn, selector, slot - ring 3: record ZF
%macro U_VER 3
    mov ecx, %2
    %1 cx
    setz al
    movzx eax, al
    mov [u_res + (%3)*4], eax
%endmacro

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
    mov ecx, USER_RETURN_VECTOR
    mov eax, user_return_entry
    mov bl, GATE_INT3
    call idt_set_gate
    lidt [idtr]
    TSS_LOAD tss, kstack_top, SEL_KDATA, SEL_TSS

    ; call gates (SDM 5.8.3, Figure 5-8): offset 15:0, selector, parameter count,
    ; type/DPL/P, offset 31:16
    mov edi, gdt + SEL_GATE3
    mov eax, gate_target
    mov dh, GATE_CALL3
    mov dl, 2
    call set_call_gate
    mov edi, gdt + SEL_GATE0
    mov dh, GATE_CALL0
    mov dl, 0
    call set_call_gate

    mov eax, user_main
    mov edx, user_stack_top
    call run_user

; ---- the call-gate frame, as recorded by gate_target ----
    CHECK "call gate: handler CS (CPL 0)", [g_cs], SEL_KCODE
    CHECK "call gate: SS from TSS.SS0", [g_ss], SEL_KDATA
    CHECK "call gate: ESP = TSS.ESP0 - 24", [g_esp], kstack_top - 24
    CHECK "call gate: pushed EIP", [g_frame], user_main.after_gate
    CHECK "call gate: pushed CS", [g_frame + 4], USER_CS
    CHECK "call gate: parameter 2 (last pushed) copied", [g_frame + 8], 0x22222222
    CHECK "call gate: parameter 1 copied", [g_frame + 12], 0x11111111
    mov eax, [u_esp_before]
    sub eax, 8
    CHECK "call gate: pushed ESP = caller's ESP", [g_frame + 16], eax
    CHECK "call gate: pushed SS", [g_frame + 20], USER_DS
    CHECK "RETF 8: ring-3 ESP with the parameters released", [u_esp_after], [u_esp_before]
    CHECK "RETF 8: back in ring 3 (CS)", [u_cs_after], USER_CS
    CHECK "RETF to ring 3 nulls DS (DPL 0)", [u_ds_after], 0
    CHECK "RETF to ring 3 nulls ES (DPL 0)", [u_es_after], 0
    CHECK "RETF to ring 3 keeps FS (DPL 3)", [u_fs_after], USER_DS
    CHECK "RETF to ring 3 keeps GS (conforming code)", [u_gs_after], SEL_CONF
    CHECK "conforming DPL-0 code called from ring 3 runs with CS.RPL=3", [u_conf_cs], SEL_CONF | 3
    CHECK "call through a DPL-0 gate from CPL 3: #GP", [gp_vec + 0], 13
    CHECK "call through a DPL-0 gate from CPL 3: error code = gate selector", [gp_err + 0], SEL_GATE0
    CHECK "far JMP to DPL-0 non-conforming code from CPL 3: #GP", [gp_vec + 4], 13
    CHECK "far JMP to DPL-0 non-conforming code from CPL 3: error code", [gp_err + 4], SEL_KCODE
    CHECK "JMP through a call gate to DPL-0 non-conforming code: #GP", [gp_vec + 8], 13
    CHECK "JMP through a call gate to DPL-0 non-conforming code: error code", [gp_err + 8], SEL_KCODE
    mov eax, [u_res + 0*4]
    and eax, LAR_MASK
    CHECK "LAR ring-3 code from CPL 3", eax, 0x00C0FA00 & LAR_MASK
    CHECK "LAR ring-0 code from CPL 3 fails", [u_res + 1*4], NO_RESULT
    mov eax, [u_res + 2*4]
    and eax, LAR_MASK
    CHECK "LAR DPL-0 conforming code from CPL 3", eax, 0x00C09E00 & LAR_MASK
    mov eax, [u_res + 3*4]
    and eax, 0xFF00
    CHECK "LAR call gate from CPL 3", eax, 0xEC00
    CHECK "LAR busy TSS from CPL 3 fails", [u_res + 4*4], NO_RESULT
    CHECK "LSL ring-3 data (G=1)", [u_res + 5*4], 0xFFFFFFFF
    CHECK "LSL call gate fails", [u_res + 6*4], NO_RESULT
    CHECK "VERR ring-3 code", [u_res + 7*4], 1
    CHECK "VERW ring-3 code", [u_res + 8*4], 0
    CHECK "VERW ring-3 data", [u_res + 9*4], 1
    CHECK "VERR ring-0 data from CPL 3", [u_res + 10*4], 0
    CHECK "VERR null selector", [u_res + 11*4], 0

; ---- ring 0: LAR/LSL on the TSS, ARPL ----
    mov ecx, SEL_TSS
    mov eax, NO_RESULT
    lar eax, ecx
    and eax, 0x00F0FF00         ; for a TSS bit 8 is a type bit, not "accessed"
    CHECK "LAR busy TSS from CPL 0", eax, 0x00008B00
    mov eax, NO_RESULT
    lsl eax, ecx
    CHECK "LSL TSS from CPL 0", eax, 103
    mov eax, 0x0010
    mov ebx, 0x0003
    arpl ax, bx
    setz cl
    movzx ecx, cl
    CHECK "ARPL raises RPL", eax, 0x0013
    CHECK "ARPL raises RPL: ZF", ecx, 1
    mov eax, 0x0013
    mov ebx, 0x0001
    arpl ax, bx
    setz cl
    movzx ecx, cl
    CHECK "ARPL keeps a higher RPL", eax, 0x0013
    CHECK "ARPL keeps a higher RPL: ZF", ecx, 0

    mov esi, msg_name
    jmp check_done

; set_call_gate: EDI = descriptor, EAX = offset, DH = type byte, DL = parameter count;
; the target selector is always SEL_KCODE
set_call_gate:
    mov [edi], ax
    mov word [edi + 2], SEL_KCODE
    mov [edi + 4], dl
    mov [edi + 5], dh
    push eax
    shr eax, 16
    mov [edi + 6], ax
    pop eax
    ret

; ======================= ring 3 =======================
user_main:
    U_LARLSL lar, USER_CS, 0
    U_LARLSL lar, SEL_KCODE, 1
    U_LARLSL lar, SEL_CONF | 3, 2
    U_LARLSL lar, SEL_GATE3 | 3, 3
    U_LARLSL lar, SEL_TSS, 4
    U_LARLSL lsl, USER_DS, 5
    U_LARLSL lsl, SEL_GATE3 | 3, 6
    U_VER verr, USER_CS, 7
    U_VER verw, USER_CS, 8
    U_VER verw, USER_DS, 9
    U_VER verr, SEL_KDATA, 10
    U_VER verr, 0, 11

    ; far call through the DPL-3 gate with two parameters
    mov ebx, esp
    sub ebx, 8
    mov [u_esp_before], esp
    push dword 0x11111111
    push dword 0x22222222
    call SEL_GATE3 | 3 : 0      ; the offset is ignored: the gate supplies it
.after_gate:
    mov [ss:u_esp_after], esp   ; DS and ES were nulled: use SS, which is flat
    xor eax, eax
    mov ax, cs
    mov [ss:u_cs_after], eax
    mov ax, ds
    mov [ss:u_ds_after], eax
    mov ax, es
    mov [ss:u_es_after], eax
    mov ax, fs
    mov [ss:u_fs_after], eax
    mov ax, gs
    mov [ss:u_gs_after], eax
    mov ax, USER_DS
    mov ds, ax
    mov es, ax
    mov gs, ax

    call (SEL_CONF | 3) : conf_func

    mov dword [resume_eip], .gp1
    call SEL_GATE0 | 3 : 0      ; gate DPL 0 < CPL 3: #GP(gate selector)
.gp1:
    mov dword [resume_eip], .gp2
    jmp SEL_KCODE : .gp2        ; non-conforming DPL 0 != CPL 3: #GP(selector)
.gp2:
    mov dword [resume_eip], .gp3
    jmp SEL_GATE3 | 3 : 0       ; JMP through a gate: target DPL must equal CPL
.gp3:
    mov dword [resume_eip], 0
    int USER_RETURN_VECTOR

; ======================= ring 0 (via the gate) =======================
; Frame (SDM Figure 5-13): [esp] EIP, CS, parameter 2, parameter 1, ESP, SS.
; DS still holds the flat ring-3 data selector.
gate_target:
    mov [g_esp], esp
    xor eax, eax
    mov ax, cs
    mov [g_cs], eax
    mov ax, ss
    mov [g_ss], eax
    mov ecx, 6
    mov esi, esp
    mov edi, g_frame
    rep movsd
    ; segments for the RETF data-segment check (SDM 2A RET, "RETURN-TO-OUTER-
    ; PRIVILEGE-LEVEL"): DPL-0 data is nulled, DPL-3 data and conforming code stay
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov ax, USER_DS
    mov fs, ax
    mov ax, SEL_CONF
    mov gs, ax
    retf 8

; conforming DPL-0 code, entered from CPL 3 by a direct far call: CPL stays 3
conf_func:
    xor eax, eax
    mov ax, cs
    mov [u_conf_cs], eax
    retf

; trap_handler: #GP from ring 3 while resume_eip is set -> record and resume
trap_handler:
    cmp dword [ebp + TF_VEC], 13
    jne .unexpected
    mov eax, [resume_eip]
    test eax, eax
    jz .unexpected
    mov [ebp + TF_EIP], eax
    mov ecx, [gp_count]
    cmp ecx, 3
    jae .unexpected
    mov eax, [ebp + TF_VEC]
    mov [gp_vec + ecx*4], eax
    mov eax, [ebp + TF_ERR]
    mov [gp_err + ecx*4], eax
    inc dword [gp_count]
    mov dword [resume_eip], 0
    ret
.unexpected:
    mov esi, trap_unexpected_str
    jmp trap_unexpected

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "trap.inc"
%include "user.inc"

    align 8, db 0
gdt:
    GDT_FLAT_KERNEL                                         ; 0x00 null, 0x08 ring-0 code, 0x10 ring-0 data
    GDT_FLAT_USER                                           ; 0x18 ring-3 code, 0x20 ring-3 data
    GDT_TSS32 tss                                           ; 0x28
    dq 0                                                    ; 0x30 call gate (run time)
    GDT_ENTRY 0, 0xFFFFF, ACC_CONF0, FLG_4K32               ; 0x38
    dq 0                                                    ; 0x40 call gate (run time)
gdt_end:
gdtr:   PSEUDO_DESC gdt, gdt_end - gdt
idtr:   PSEUDO_DESC idt, 256*8
    align 16, db 0
tss: times 104 db 0

msg_name:       db "gates", 0
msg_start:      db "gates: start", 10, 0

    BSS_BEGIN
idt:            resq 256
resume_eip:     resd 1
gp_count:       resd 1
gp_vec:         resd 3
gp_err:         resd 3
g_esp:          resd 1
g_cs:           resd 1
g_ss:           resd 1
g_frame:        resd 6
u_esp_before:   resd 1
u_esp_after:    resd 1
u_cs_after:     resd 1
u_ds_after:     resd 1
u_es_after:     resd 1
u_fs_after:     resd 1
u_gs_after:     resd 1
u_conf_cs:      resd 1
u_res:          resd 12
    alignb 16
boot_stack:     resb 4096
boot_stack_top:
kstack:         resb 4096
kstack_top:
user_stack:     resb 4096
user_stack_top:
    BSS_END
