; output: exceptions.elf
; exceptions - provokes and handles the protected-mode exceptions 0-14 in ring 0 and
; prints one line per exception from the handler. Each test records the vector it
; expects, the EIP the processor must push (the faulting instruction for faults, the
; next instruction for traps: SDM Vol. 3A 6.5 "Exception Classifications") and a
; recovery address; the handler checks the pushed EIP, then IRETs to the recovery
; address with TF and NT cleared in the saved EFLAGS.
; Everything here is SDM-exact and handled the same by QEMU 7.2 TCG (no DR6 values,
; no #DF return address, no 16-bit gates).
; Expected output (verified on QEMU 7.2):
;   exceptions: start
;   #DE vector=0
;   #DB vector=1
;   #BP vector=3
;   #OF vector=4
;   #BR vector=5
;   #UD vector=6
;   #NM vector=7
;   #DF vector=8 error=0x00000000
;   #TS vector=10 error=0x00000010
;   #NP vector=11 error=0x00000018
;   #SS vector=12 error=0x00000018
;   #GP vector=13 error=0x00000080
;   #PF vector=14 error=0x00000002 cr2=0x00300ABC
;   exceptions: 13 of 13 as expected
; Exit status: the number of tests that went wrong (0 on success).

%include "multiboot.inc"

    MULTIBOOT_ELF start

SEL_CODE    equ 0x08
SEL_DATA    equ 0x10
SEL_NP      equ 0x18            ; data descriptor with P=0
SEL_TSS     equ 0x20
SEL_BEYOND  equ 0x80            ; index 16: past the GDT limit (5 descriptors)
EFL_TF      equ 1 << 8
EFL_NT      equ 1 << 14
CR0_PE      equ 1 << 0
CR0_EM      equ 1 << 2
CR0_TS      equ 1 << 3
CR0_PG      equ 1 << 31
UNMAPPED    equ 0x00300ABC      ; inside the one 4 KiB page left out of the identity map
NUM_TESTS   equ 13

; EXPECT vector, expected pushed EIP (0: do not check), recovery address
%macro EXPECT 3
    mov dword [last_vector], -1
    mov dword [expect_vector], %1
    mov dword [expect_eip], %2
    mov dword [recover_eip], %3
%endmacro

start:
    cli
    LOAD_GDT gdtr, SEL_CODE, SEL_DATA ; multiboot spec 3.2: GDTR and ESP are undefined
    mov esp, stack_top
    cld

    call uart_init
    mov esi, msg_start
    call uart_puts

    ; IDT: vectors 0-14 get their stub as a DPL-0 interrupt gate (SDM 6.11).
    xor ecx, ecx
.gate:
    mov eax, [stub_table + ecx*4]
    mov edi, idt
    mov bl, GATE_INT0
    call idt_set_gate
    inc ecx
    cmp ecx, 15
    jb .gate
    lidt [idtr]

    mov ax, SEL_TSS
    ltr ax                      ; needed by the #TS test: IRET with NT=1 reads TR's link

; ---- #DE: DIV by zero (fault, SDM 6.15 interrupt 0) ----
    EXPECT 0, de_fault, de_done
    xor edx, edx
    mov eax, 1
    xor ecx, ecx
de_fault:
    div ecx
de_done:
    call check_taken

; ---- #DB: single step. TF set by POPF traps after the instruction that follows the
; POPF (SDM Vol. 3A 17.3.1.4), so the pushed EIP is the one after the NOP. ----
    EXPECT 1, db_after, db_done
    pushfd
    or dword [esp], EFL_TF
    popfd
    nop
db_after:
    nop
db_done:
    call check_taken

; ---- #BP: INT3 is a trap; the pushed EIP follows it ----
    EXPECT 3, bp_after, bp_done
    int3
bp_after:
    nop
bp_done:
    call check_taken

; ---- #OF: INTO with OF=1 is a trap ----
    EXPECT 4, of_after, of_done
    mov al, 0x7F
    add al, 1                   ; 127 + 1 overflows a signed byte: OF=1
    into
of_after:
    nop
of_done:
    call check_taken

; ---- #BR: BOUND with the index above the upper bound (fault) ----
    EXPECT 5, br_fault, br_done
    mov eax, 100
br_fault:
    bound eax, [bounds]
br_done:
    call check_taken

; ---- #UD: UD2 (fault) ----
    EXPECT 6, ud_fault, ud_done
ud_fault:
    ud2
ud_done:
    call check_taken

; ---- #NM: an x87 instruction with CR0.TS=1, EM=0 (SDM 6.15 interrupt 7) ----
    EXPECT 7, nm_fault, nm_done
    mov eax, cr0
    and eax, ~CR0_EM
    or eax, CR0_TS
    mov cr0, eax
nm_fault:
    fld1
nm_done:
    clts
    call check_taken

; ---- #DF: #GP while the gate for 13 is not present. Delivering #GP raises #NP on the
; gate; #GP then #NP are both contributory, so the processor delivers #DF with error
; code 0 (SDM Vol. 3A 6.15 interrupt 8, Table 6-5). The pushed CS:EIP of #DF is
; undefined, so the handler does not IRET: it resets the stack and jumps. ----
    EXPECT 8, 0, df_done
    and byte [idt + 13*8 + 5], 0x7F     ; gate 13: P=0
    mov ax, SEL_BEYOND
    mov ds, ax
    ; not reached
df_done:
    mov ax, SEL_DATA
    mov ds, ax
    or byte [idt + 13*8 + 5], 0x80      ; gate 13 present again
    call check_taken

; ---- #TS: IRET with EFLAGS.NT=1 returns to the task named by the back link of the
; current TSS; a back link that selects a data segment gives #TS(back link)
; (SDM Vol. 2 IRET, TASK-RETURN: "TSS descriptor type is not TSS"). ----
    EXPECT 10, ts_fault, ts_done
    mov word [tss + 0], SEL_DATA        ; TSS offset 0: previous task link
    pushfd
    or dword [esp], EFL_NT
    popfd
ts_fault:
    iretd
ts_done:
    call check_taken

; ---- #NP: load DS with a not-present data segment: #NP(selector) (SDM Vol. 2 MOV) ----
    EXPECT 11, np_fault, np_done
    mov ax, SEL_NP
np_fault:
    mov ds, ax
np_done:
    call check_taken

; ---- #SS: the same descriptor loaded into SS gives #SS(selector) instead ----
    EXPECT 12, ss_fault, ss_done
    mov ax, SEL_NP
ss_fault:
    mov ss, ax
ss_done:
    call check_taken

; ---- #GP: a selector whose index is beyond the GDT limit: #GP(selector) ----
    EXPECT 13, gp_fault, gp_done
    mov ax, SEL_BEYOND
gp_fault:
    mov ds, ax
gp_done:
    call check_taken

; ---- #PF: identity-map 0-4 MiB with 4 KiB pages except one page, turn paging on,
; write to the missing page. Error code 2 = not present (P=0), write (W/R=1),
; supervisor (U/S=0); CR2 = the linear address (SDM Vol. 3A 4.7). ----
    call build_page_tables
    mov eax, page_dir
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp .paging_on              ; the identity map keeps EIP valid across the switch
.paging_on:
    EXPECT 14, pf_fault, pf_done
    mov ebx, UNMAPPED
pf_fault:
    mov dword [ebx], 0x12345678
pf_done:
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    jmp .paging_off
.paging_off:
    call check_taken

; ---- summary ----
    mov esi, msg_summary
    call uart_puts
    mov eax, NUM_TESTS
    sub eax, [failures]
    call print_dec
    mov esi, msg_of
    call uart_puts
    mov eax, NUM_TESTS
    call print_dec
    mov esi, msg_as_expected
    call uart_puts
    mov eax, [failures]
    jmp guest_exit

; check_taken: after a test, complain unless its exception was the last one taken.
check_taken:
    push eax
    push esi
    mov eax, [last_vector]
    cmp eax, [expect_vector]
    je .ok
    mov esi, msg_missing
    call uart_puts
    mov eax, [expect_vector]
    call print_dec
    call uart_newline
    inc dword [failures]
.ok:
    pop esi
    pop eax
    ret

; build_page_tables: page_dir[0] -> page_table; page_table maps 0-4 MiB onto itself
; (P=1, R/W=1, U/S=0) except the page holding UNMAPPED (entry 0 = not present).
build_page_tables:
    mov edi, page_dir
    xor eax, eax
    mov ecx, 1024
    rep stosd
    mov dword [page_dir], page_table + 3
    xor ecx, ecx
.pte:
    mov eax, ecx
    shl eax, 12
    or eax, 3
    mov [page_table + ecx*4], eax
    inc ecx
    cmp ecx, 1024
    jb .pte
    mov dword [page_table + (UNMAPPED >> 12)*4], 0
    ret

; ---- exception stubs: give every frame the same shape (vector, error code) ----
%macro STUB_NOERR 1
isr%1:
    push 0                      ; no error code for this vector (SDM Table 6-1)
    push %1
    jmp isr_common
%endmacro
%macro STUB_ERR 1
isr%1:
    push %1                     ; the processor already pushed an error code
    jmp isr_common
%endmacro
    STUB_NOERR 0
    STUB_NOERR 1
    STUB_NOERR 2
    STUB_NOERR 3
    STUB_NOERR 4
    STUB_NOERR 5
    STUB_NOERR 6
    STUB_NOERR 7
    STUB_ERR 8
    STUB_NOERR 9
    STUB_ERR 10
    STUB_ERR 11
    STUB_ERR 12
    STUB_ERR 13
    STUB_ERR 14

ERRCODE_VECTORS equ (1<<8)|(1<<10)|(1<<11)|(1<<12)|(1<<13)|(1<<14)

; Frame after PUSHAD: [esp+32] vector, +36 error code, +40 EIP, +44 CS, +48 EFLAGS.
isr_common:
    pushad
    mov ebp, esp
    mov ebx, [ebp + 32]
    mov [last_vector], ebx
    mov esi, [exc_names + ebx*4]
    call uart_puts
    mov esi, msg_vector
    call uart_puts
    mov eax, ebx
    call print_dec
    bt dword [errcode_mask], ebx
    jnc .no_error
    mov esi, msg_error
    call uart_puts
    mov eax, [ebp + 36]
    call print_hex32
.no_error:
    cmp ebx, 14
    jne .no_cr2
    mov esi, msg_cr2
    call uart_puts
    mov eax, cr2
    call print_hex32
.no_cr2:
    cmp ebx, 8
    je .double_fault
    mov eax, [expect_eip]
    test eax, eax
    jz .eip_ok
    cmp eax, [ebp + 40]
    je .eip_ok
    mov esi, msg_bad_eip
    call uart_puts
    mov eax, [ebp + 40]
    call print_hex32
    inc dword [failures]
.eip_ok:
    call uart_newline
    mov eax, [recover_eip]
    mov [ebp + 40], eax
    and dword [ebp + 48], ~(EFL_TF | EFL_NT)
    popad
    add esp, 8                  ; drop vector and error code
    iretd

.double_fault:
    call uart_newline
    mov esp, stack_top          ; abort: the old frame is of no use (SDM 6.15 int 8)
    jmp [recover_eip]

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"

    align 4, db 0
stub_table:
    dd isr0, isr1, isr2, isr3, isr4, isr5, isr6, isr7
    dd isr8, isr9, isr10, isr11, isr12, isr13, isr14
errcode_mask: dd ERRCODE_VECTORS
exc_names:
    dd n_de, n_db, n_nmi, n_bp, n_of, n_br, n_ud, n_nm
    dd n_df, n_cso, n_ts, n_np, n_ss, n_gp, n_pf
n_de:  db "#DE", 0
n_db:  db "#DB", 0
n_nmi: db "NMI", 0
n_bp:  db "#BP", 0
n_of:  db "#OF", 0
n_br:  db "#BR", 0
n_ud:  db "#UD", 0
n_nm:  db "#NM", 0
n_df:  db "#DF", 0
n_cso: db "#CSO", 0
n_ts:  db "#TS", 0
n_np:  db "#NP", 0
n_ss:  db "#SS", 0
n_gp:  db "#GP", 0
n_pf:  db "#PF", 0

bounds: dd 0, 10                ; BOUND operand: lower, upper (signed)

    align 8, db 0
gdt:
    GDT_FLAT_KERNEL                                         ; 0x00 null, 0x08 ring-0 code, 0x10 ring-0 data
    GDT_ENTRY 0, 0xFFFFF, ACC_DATA0NP, FLG_4K32             ; 0x18 data, not present
    GDT_TSS32 tss                                           ; 0x20 32-bit TSS
gdt_end:
gdtr:   PSEUDO_DESC gdt, gdt_end - gdt
idtr:   PSEUDO_DESC idt, 15*8     ; vectors 0-14

    align 16, db 0
tss:                            ; 104-byte 32-bit TSS (SDM Vol. 3A 7.2.1); only the
    times 104 db 0              ; link field is used, and I/O map base 0 is harmless

msg_start:       db "exceptions: start", 10, 0
msg_vector:      db " vector=", 0
msg_error:       db " error=0x", 0
msg_cr2:         db " cr2=0x", 0
msg_bad_eip:     db " UNEXPECTED eip=0x", 0
msg_missing:     db "MISSING exception vector=", 0
msg_summary:     db "exceptions: ", 0
msg_of:          db " of ", 0
msg_as_expected: db " as expected", 10, 0

    BSS_BEGIN
last_vector:   resd 1
expect_vector: resd 1
expect_eip:    resd 1
recover_eip:   resd 1
failures:      resd 1
    alignb 8
idt:           resq 15
    alignb 4096
page_dir:      resd 1024
page_table:    resd 1024
stack:         resb 8192
stack_top:
    BSS_END
