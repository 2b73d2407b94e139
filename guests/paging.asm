; output: paging.elf
; paging - 32-bit paging (Intel SDM Vol. 3A 4.3 "32-Bit Paging", 4.6 "Access Rights",
; 4.7 "Page-Fault Exceptions", 4.8 "Accessed and Dirty Flags", 4.10.4 "Invalidation of
; TLBs and Paging-Structure Caches"): 4 KiB pages and a 4 MiB page (CR4.PSE), #PF
; error codes and CR2 for not-present, protection and user/supervisor faults from
; ring 0 and ring 3, CR0.WP, the A and D bits written back to the PDE/PTE, and INVLPG
; and a CR3 reload making a changed PTE visible. One line per check.
; Linear map: 0-4 MiB identity in 4 KiB pages (user, writable) except
;   0x300000 not present, 0x301000 supervisor-only, 0x302000 user read-only,
;   0x303000 fresh PTE (A=D=0), 0x304000 remapped by the INVLPG test;
; 4-8 MiB -> physical 12-16 MiB as one 4 MiB page, 12-16 MiB identity (4 MiB page).
; Expected output (verified on QEMU 7.2):
;   paging: start
;   4M page read through PDE.PS: ok
;   4M page write seen at the physical address: ok
;   4M PDE accessed+dirty: ok
;   np read: vector: ok
;   np read: error code 0: ok
;   np read: cr2: ok
;   np read: eip = faulting instruction: ok
;   np write: error code 2: ok
;   np write: cr2: ok
;   PTE accessed after read: ok
;   PTE dirty after write: ok
;   PDE accessed: ok
;   WP=0 supervisor write to read-only page allowed: ok
;   WP=1 supervisor write to read-only page: vector: ok
;   WP=1 supervisor write to read-only page: error code 3: ok
;   WP=1 supervisor write to read-only page: cr2: ok
;   WP=1 write did not happen: ok
;   user read of supervisor page: error code 5: ok
;   user read of supervisor page: cr2: ok
;   user read of supervisor page: eip: ok
;   user read of supervisor page: cs: ok
;   user write to read-only page: error code 7: ok
;   user write to read-only page: cr2: ok
;   user read of not-present page: error code 4: ok
;   user faults taken: ok
;   user read of read-only user page: ok
;   PTE before remap: ok
;   INVLPG shows the new PTE: ok
;   CR3 reload shows the new PTE: ok
;   paging: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"            ; the CHECK macro must be defined before its first use

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
USER_CS     equ 0x18 | 3
USER_DS     equ 0x20 | 3
SEL_TSS     equ 0x28
TRAP_KDATA  equ SEL_KDATA

PG_P    equ 1
PG_RW   equ 2
PG_US   equ 4
PG_A    equ 0x20
PG_D    equ 0x40
PG_PS   equ 0x80
CR0_PG  equ 1 << 31
CR0_WP  equ 1 << 16
CR4_PSE equ 1 << 4

NP_PAGE     equ 0x300000
SUP_PAGE    equ 0x301000
RO_PAGE     equ 0x302000
AD_PAGE     equ 0x303000
REMAP_PAGE  equ 0x304000
FRAME_A     equ 0x305000
FRAME_B     equ 0x306000
FRAME_C     equ 0x307000
BIG_LINEAR  equ 0x400000
BIG_PHYS    equ 0xC00000

; EXPECT_PF resume - arm the handler for one fault; it resumes at `resume`
%macro EXPECT_PF 1
    mov dword [pf_vec], -1
    mov dword [pf_err], -1
    mov dword [pf_cr2], -1
    mov dword [resume_eip], %1
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

    ; page table for 0-4 MiB (SDM Table 4-6 PTE format)
    xor ecx, ecx
.pte:
    mov eax, ecx
    shl eax, 12
    or eax, PG_P | PG_RW | PG_US
    mov [pt0 + ecx*4], eax
    inc ecx
    cmp ecx, 1024
    jb .pte
    mov dword [pt0 + (NP_PAGE >> 12)*4], 0
    mov dword [pt0 + (SUP_PAGE >> 12)*4], SUP_PAGE | PG_P | PG_RW
    mov dword [pt0 + (RO_PAGE >> 12)*4], RO_PAGE | PG_P | PG_US
    mov dword [pt0 + (REMAP_PAGE >> 12)*4], FRAME_A | PG_P | PG_RW
    ; page directory (SDM Tables 4-4 and 4-5)
    mov eax, pt0
    or eax, PG_P | PG_RW | PG_US
    mov [pd], eax
    mov dword [pd + (BIG_LINEAR >> 22)*4], BIG_PHYS | PG_PS | PG_P | PG_RW | PG_US
    mov dword [pd + (BIG_PHYS >> 22)*4], BIG_PHYS | PG_PS | PG_P | PG_RW | PG_US

    ; data the translations will be checked with (written while paging is off)
    mov dword [BIG_PHYS + 0x1234], 0x11223344
    mov dword [FRAME_A], 0xAAAA0001
    mov dword [FRAME_B], 0xBBBB0002
    mov dword [FRAME_C], 0xCCCC0003
    mov dword [RO_PAGE], 0x5555AAAA

    mov eax, pd
    mov cr3, eax
    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    mov eax, cr0
    or eax, CR0_PG
    and eax, ~CR0_WP
    mov cr0, eax
    jmp .paged
.paged:

; ---- 4 MiB page ----
    CHECK "4M page read through PDE.PS", [BIG_LINEAR + 0x1234], 0x11223344
    mov dword [BIG_LINEAR + 0x1238], 0x55667788
    CHECK "4M page write seen at the physical address", [BIG_PHYS + 0x1238], 0x55667788
    mov eax, [pd + (BIG_LINEAR >> 22)*4]
    and eax, PG_A | PG_D
    CHECK "4M PDE accessed+dirty", eax, PG_A | PG_D

; ---- not-present read and write from ring 0 ----
    EXPECT_PF .np_read_done
.np_read:
    mov eax, [NP_PAGE + 0x10]
.np_read_done:
    CHECK "np read: vector", [pf_vec], 14
    CHECK "np read: error code 0", [pf_err], 0
    CHECK "np read: cr2", [pf_cr2], NP_PAGE + 0x10
    CHECK "np read: eip = faulting instruction", [pf_eip], .np_read
    EXPECT_PF .np_write_done
    mov dword [NP_PAGE + 0xABC], 1
.np_write_done:
    CHECK "np write: error code 2", [pf_err], 2
    CHECK "np write: cr2", [pf_cr2], NP_PAGE + 0xABC

; ---- accessed and dirty bits (SDM 4.8) ----
    mov eax, [AD_PAGE + 8]
    mov eax, [pt0 + (AD_PAGE >> 12)*4]
    and eax, PG_A | PG_D
    CHECK "PTE accessed after read", eax, PG_A
    mov dword [AD_PAGE + 8], 1
    mov eax, [pt0 + (AD_PAGE >> 12)*4]
    and eax, PG_A | PG_D
    CHECK "PTE dirty after write", eax, PG_A | PG_D
    mov eax, [pd]
    and eax, PG_A
    CHECK "PDE accessed", eax, PG_A

; ---- CR0.WP (SDM 4.6.1) ----
    mov dword [RO_PAGE + 4], 0x600D0000
    CHECK "WP=0 supervisor write to read-only page allowed", [RO_PAGE + 4], 0x600D0000
    mov eax, cr0
    or eax, CR0_WP
    mov cr0, eax
    EXPECT_PF .wp_done
    mov dword [RO_PAGE + 4], 0xBAD00000
.wp_done:
    CHECK "WP=1 supervisor write to read-only page: vector", [pf_vec], 14
    CHECK "WP=1 supervisor write to read-only page: error code 3", [pf_err], 3
    CHECK "WP=1 supervisor write to read-only page: cr2", [pf_cr2], RO_PAGE + 4
    CHECK "WP=1 write did not happen", [RO_PAGE + 4], 0x600D0000

; ---- ring 3 ----
    mov dword [user_faults], 0
    mov eax, user_main
    mov edx, user_stack_top
    call run_user
    CHECK "user faults taken", [user_faults], 3
    CHECK "user read of read-only user page", [user_ro_value], 0x5555AAAA

; ---- INVLPG and CR3 reload (SDM 4.10.4.1) ----
    CHECK "PTE before remap", [REMAP_PAGE], 0xAAAA0001
    mov dword [pt0 + (REMAP_PAGE >> 12)*4], FRAME_B | PG_P | PG_RW
    invlpg [REMAP_PAGE]
    CHECK "INVLPG shows the new PTE", [REMAP_PAGE], 0xBBBB0002
    mov dword [pt0 + (REMAP_PAGE >> 12)*4], FRAME_C | PG_P | PG_RW
    mov eax, cr3
    mov cr3, eax
    CHECK "CR3 reload shows the new PTE", [REMAP_PAGE], 0xCCCC0003

    mov esi, msg_name
    jmp check_done

; ---- ring 3: cannot print (IOPL=0), so it only raises the faults; the ring-0 handler
; prints the checks for each frame it gets ----
user_main:
    mov dword [resume_eip], .u1_done
    mov dword [user_expect], 1
.u1:
    mov eax, [SUP_PAGE + 0x20]
.u1_done:
    mov dword [resume_eip], .u2_done
    mov dword [user_expect], 2
    mov dword [RO_PAGE + 0x30], 1
.u2_done:
    mov dword [resume_eip], .u3_done
    mov dword [user_expect], 3
    mov eax, [NP_PAGE + 0x40]
.u3_done:
    mov dword [user_expect], 0
    mov dword [resume_eip], 0
    mov eax, [RO_PAGE]
    mov [user_ro_value], eax
    int USER_RETURN_VECTOR

; trap_handler: EBP = frame (trap.inc). #PF in ring 0: record; #PF from ring 3: print
; the checks for the expected user fault here, in ring 0.
trap_handler:
    cmp dword [ebp + TF_VEC], 14
    jne .unexpected
    cmp dword [resume_eip], 0
    je .unexpected
    mov eax, [ebp + TF_VEC]
    mov [pf_vec], eax
    mov eax, [ebp + TF_ERR]
    mov [pf_err], eax
    mov eax, [ebp + TF_EIP]
    mov [pf_eip], eax
    mov eax, cr2
    mov [pf_cr2], eax
    test byte [ebp + TF_CS], 3
    jz .resume
    inc dword [user_faults]
    mov eax, [user_expect]
    cmp eax, 1
    jne .not1
    CHECK "user read of supervisor page: error code 5", [pf_err], 5
    CHECK "user read of supervisor page: cr2", [pf_cr2], SUP_PAGE + 0x20
    CHECK "user read of supervisor page: eip", [pf_eip], user_main.u1
    CHECK "user read of supervisor page: cs", [ebp + TF_CS], USER_CS
    jmp .resume
.not1:
    cmp eax, 2
    jne .not2
    CHECK "user write to read-only page: error code 7", [pf_err], 7
    CHECK "user write to read-only page: cr2", [pf_cr2], RO_PAGE + 0x30
    jmp .resume
.not2:
    CHECK "user read of not-present page: error code 4", [pf_err], 4
.resume:
    mov eax, [resume_eip]
    mov [ebp + TF_EIP], eax
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
gdt_end:
gdtr:   PSEUDO_DESC gdt, gdt_end - gdt
idtr:   PSEUDO_DESC idt, 256*8
    align 16, db 0
tss: times 104 db 0

msg_name:       db "paging", 0
msg_start:      db "paging: start", 10, 0

    BSS_BEGIN
    alignb 4096
pd:             resb 4096
pt0:            resb 4096
idt:            resq 256
resume_eip:     resd 1
user_expect:    resd 1
user_faults:    resd 1
user_ro_value:  resd 1
pf_vec:         resd 1
pf_err:         resd 1
pf_cr2:         resd 1
pf_eip:         resd 1
    alignb 16
boot_stack:     resb 4096
boot_stack_top:
kstack:         resb 4096
kstack_top:
user_stack:     resb 4096
user_stack_top:
    BSS_END
