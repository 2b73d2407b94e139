; output: demand.elf
; demand - demand paging, protection faults, global pages and TLB staleness under
; 32-bit paging (Intel SDM Vol. 3A 4.3 "32-Bit Paging", 4.6 "Access Rights", 4.7
; "Page-Fault Exceptions", 4.10.2.4 "Global Pages", 4.10.4 "Invalidation of TLBs and
; Paging-Structure Caches", 4.10.4.3 "Optional Invalidation"). One line per check.
; Linear map: 0-4 MiB identity in 4 KiB pages (user, writable; the kernel, the frame
; pool and the test frames live here); 8 MiB.. one page table (pt_demand):
;   0x800000-0x80FFFF 16 pages NOT present: ring 3 touches them, the #PF handler maps
;                     each on demand to a zero-filled frame from the pool and retries;
;   0x810000          user read-only: a ring-3 write faults with error code 7, the
;                     handler makes it writable and retries;
;   0x820000          global (PTE.G, CR4.PGE=1), 0x821000 not global, 0x822000 the
;                     stale-TLB page (all supervisor).
; The SDM lets a processor keep a global translation across a CR3 reload, and a stale
; translation until INVLPG, but never requires it (TLB entries may be dropped at any
; time, 4.10.2 / 4.10.4.3). Those two reads are therefore checked as "old or new
; frame"; only the re-walks the SDM guarantees are checked exactly.
; Expected output (verified on QEMU 7.2):
;   demand: start
;   demand: faults taken = pages touched: ok
;   demand: frames allocated from the pool: ok
;   demand: error code 4 on every fault: ok
;   demand: CR2 = touched address on every fault: ok
;   demand: first fault cr2: ok
;   demand: last fault cr2: ok
;   demand: eip = faulting instruction on every fault: ok
;   demand: fresh pages read as zero: ok
;   demand: ring 3 reads back what it wrote: ok
;   demand: data is in the pool frames: ok
;   demand: PTEs point at the pool frames: ok
;   demand: no fault on the second pass: ok
;   protection: faults taken: ok
;   protection: user write to read-only page: error code 7: ok
;   protection: cr2: ok
;   protection: eip = faulting instruction: ok
;   protection: read before the write: ok
;   protection: retried write landed: ok
;   protection: PTE writable and dirty: ok
;   global: global page maps G1: ok
;   global: non-global page maps N1: ok
;   global: non-global page re-walked after CR3 reload: ok
;   global: global page after CR3 reload saw old or new frame: ok
;   global: after INVLPG the global page maps the new frame: ok
;   global: CR4.PGE toggle flushes the global entry: ok
;   stale: page maps S1: ok
;   stale: stale read saw old or new frame: ok
;   stale: after INVLPG the new frame is seen: ok
;   demand: failed checks: 0
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
PG_G    equ 0x100
CR0_PG  equ 1 << 31
CR0_WP  equ 1 << 16
CR4_PGE equ 1 << 7

DEMAND_BASE equ 0x800000        ; PDE 2 -> pt_demand
DEMAND_PAGES equ 16
RO_PAGE     equ 0x810000
GLOB_PAGE   equ 0x820000
NONG_PAGE   equ 0x821000
STALE_PAGE  equ 0x822000
POOL        equ 0x380000        ; 32 frames, filled with POOL_JUNK before paging
POOL_FRAMES equ 32
POOL_JUNK   equ 0xA5A5A5A5
RO_FRAME    equ 0x3F0000
FRAME_G1    equ 0x3F1000
FRAME_G2    equ 0x3F2000
FRAME_N1    equ 0x3F3000
FRAME_N2    equ 0x3F4000
FRAME_S1    equ 0x3F5000
FRAME_S2    equ 0x3F6000
SIG_G1      equ 0x61000001
SIG_G2      equ 0x62000002
SIG_N1      equ 0x71000001
SIG_N2      equ 0x72000002
SIG_S1      equ 0x51000001
SIG_S2      equ 0x52000002
SIG_RO      equ 0x12340000
SIG_RO_WRITE equ 0xC0FFEE07
SIG_DEMAND  equ 0x5A5A0000      ; page i gets SIG_DEMAND + i
MAX_LOG     equ 32

; DEMAND_ADDR reg, i - the address ring 3 touches in page i: base + i*4K + 0x100 + i*8
%macro DEMAND_ADDR 2
    mov %1, %2
    shl %1, 12
    lea %1, [%1 + DEMAND_BASE + 0x100]
    lea %1, [%1 + %2*8]
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

    ; 0-4 MiB identity, user and writable (SDM Table 4-6)
    xor ecx, ecx
.pte:
    mov eax, ecx
    shl eax, 12
    or eax, PG_P | PG_RW | PG_US
    mov [pt0 + ecx*4], eax
    inc ecx
    cmp ecx, 1024
    jb .pte
    ; pt_demand (bss, all zero = not present) plus the premapped test pages
    mov dword [pt_demand + ((RO_PAGE >> 12) & 0x3FF)*4], RO_FRAME | PG_P | PG_US
    mov dword [pt_demand + ((GLOB_PAGE >> 12) & 0x3FF)*4], FRAME_G1 | PG_G | PG_P | PG_RW
    mov dword [pt_demand + ((NONG_PAGE >> 12) & 0x3FF)*4], FRAME_N1 | PG_P | PG_RW
    mov dword [pt_demand + ((STALE_PAGE >> 12) & 0x3FF)*4], FRAME_S1 | PG_P | PG_RW
    ; page directory (SDM Table 4-5)
    mov eax, pt0
    or eax, PG_P | PG_RW | PG_US
    mov [pd], eax
    mov eax, pt_demand
    or eax, PG_P | PG_RW | PG_US
    mov [pd + (DEMAND_BASE >> 22)*4], eax

    ; junk in the pool, so that a frame the handler forgot to zero shows
    mov edi, POOL
    mov ecx, POOL_FRAMES * 1024
    mov eax, POOL_JUNK
    rep stosd
    mov dword [RO_FRAME], SIG_RO
    mov dword [FRAME_G1], SIG_G1
    mov dword [FRAME_G2], SIG_G2
    mov dword [FRAME_N1], SIG_N1
    mov dword [FRAME_N2], SIG_N2
    mov dword [FRAME_S1], SIG_S1
    mov dword [FRAME_S2], SIG_S2
    mov dword [next_frame], POOL

    mov eax, pd
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    and eax, ~CR0_WP
    mov cr0, eax
    jmp .paged
.paged:
    mov eax, cr4                ; PGE after PG (either order is allowed; 4.10.2.4)
    or eax, CR4_PGE
    mov cr4, eax

; ---- 1. demand paging from ring 3 ----
    mov eax, user_main
    mov edx, user_stack_top
    call run_user

    CHECK "demand: faults taken = pages touched", [demand_faults], DEMAND_PAGES
    mov eax, [next_frame]
    sub eax, POOL
    shr eax, 12
    CHECK "demand: frames allocated from the pool", eax, DEMAND_PAGES
    ; per-fault logs: error code, CR2, EIP
    xor ecx, ecx
    xor ebx, ebx                ; bad error codes
    xor esi, esi                ; bad CR2s
    xor edi, edi                ; bad EIPs
.log:
    cmp dword [log_err + ecx*4], PG_US
    je .err_ok
    inc ebx
.err_ok:
    DEMAND_ADDR eax, ecx
    cmp [log_cr2 + ecx*4], eax
    je .cr2_ok
    inc esi
.cr2_ok:
    cmp dword [log_eip + ecx*4], user_main.touch_read
    je .eip_ok
    inc edi
.eip_ok:
    inc ecx
    cmp ecx, DEMAND_PAGES
    jb .log
    CHECK "demand: error code 4 on every fault", ebx, 0
    CHECK "demand: CR2 = touched address on every fault", esi, 0
    CHECK "demand: first fault cr2", [log_cr2], DEMAND_BASE + 0x100
    CHECK "demand: last fault cr2", [log_cr2 + (DEMAND_PAGES-1)*4], DEMAND_BASE + (DEMAND_PAGES-1)*0x1000 + 0x100 + (DEMAND_PAGES-1)*8
    CHECK "demand: eip = faulting instruction on every fault", edi, 0
    CHECK "demand: fresh pages read as zero", [user_or], 0
    CHECK "demand: ring 3 reads back what it wrote", [user_bad], 0
    ; frame i holds page i (allocated in touch order); PTE i points at it
    xor ecx, ecx
    xor ebx, ebx                ; data mismatches
    xor esi, esi                ; PTE mismatches
.frames:
    mov edi, ecx
    shl edi, 12
    add edi, POOL               ; physical = linear (identity) address of frame i
    lea edx, [ecx + SIG_DEMAND]
    mov eax, ecx
    shl eax, 3
    cmp [edi + 0x100 + eax], edx
    je .d1
    inc ebx
.d1:
    cmp [edi + 0xFFC], edx
    je .d2
    inc ebx
.d2:
    mov eax, [pt_demand + ecx*4]
    and eax, ~0xFFF
    cmp eax, edi
    je .p1
    inc esi
.p1:
    inc ecx
    cmp ecx, DEMAND_PAGES
    jb .frames
    CHECK "demand: data is in the pool frames", ebx, 0
    CHECK "demand: PTEs point at the pool frames", esi, 0
    CHECK "demand: no fault on the second pass", [faults_after_pass1], 0

; ---- 2. protection fault ----
    CHECK "protection: faults taken", [prot_faults], 1
    CHECK "protection: user write to read-only page: error code 7", [prot_err], PG_P | PG_RW | PG_US
    CHECK "protection: cr2", [prot_cr2], RO_PAGE + 0x20
    CHECK "protection: eip = faulting instruction", [prot_eip], user_main.ro_write
    CHECK "protection: read before the write", [user_ro_before], SIG_RO
    CHECK "protection: retried write landed", [RO_FRAME + 0x20], SIG_RO_WRITE
    mov eax, [pt_demand + ((RO_PAGE >> 12) & 0x3FF)*4]
    and eax, PG_RW | PG_D
    CHECK "protection: PTE writable and dirty", eax, PG_RW | PG_D

; ---- 3. global pages (SDM 4.10.2.4, 4.10.4.1) ----
    CHECK "global: global page maps G1", [GLOB_PAGE], SIG_G1
    CHECK "global: non-global page maps N1", [NONG_PAGE], SIG_N1
    mov dword [pt_demand + ((GLOB_PAGE >> 12) & 0x3FF)*4], FRAME_G2 | PG_G | PG_P | PG_RW
    mov dword [pt_demand + ((NONG_PAGE >> 12) & 0x3FF)*4], FRAME_N2 | PG_P | PG_RW
    mov eax, cr3
    mov cr3, eax                ; flushes non-global entries only
    CHECK "global: non-global page re-walked after CR3 reload", [NONG_PAGE], SIG_N2
    mov eax, [GLOB_PAGE]
    mov [glob_seen], eax
    call old_or_new_g
    CHECK "global: global page after CR3 reload saw old or new frame", eax, 1
    invlpg [GLOB_PAGE]
    CHECK "global: after INVLPG the global page maps the new frame", [GLOB_PAGE], SIG_G2
    ; the G2 translation is cached again; remap to G1 and toggle CR4.PGE
    mov dword [pt_demand + ((GLOB_PAGE >> 12) & 0x3FF)*4], FRAME_G1 | PG_G | PG_P | PG_RW
    mov eax, cr4
    and eax, ~CR4_PGE
    mov cr4, eax                ; changing PGE invalidates all TLB entries, global too
    or eax, CR4_PGE
    mov cr4, eax
    CHECK "global: CR4.PGE toggle flushes the global entry", [GLOB_PAGE], SIG_G1

; ---- 4. stale TLB entry (SDM 4.10.4.3: until INVLPG either translation may be used) ----
    CHECK "stale: page maps S1", [STALE_PAGE], SIG_S1
    mov dword [pt_demand + ((STALE_PAGE >> 12) & 0x3FF)*4], FRAME_S2 | PG_P | PG_RW
    mov eax, [STALE_PAGE]       ; no INVLPG: the cached S1 translation may still be used
    mov [stale_seen], eax
    xor edx, edx
    cmp eax, SIG_S1
    je .stale_either
    cmp eax, SIG_S2
    jne .stale_neither
.stale_either:
    inc edx
.stale_neither:
    CHECK "stale: stale read saw old or new frame", edx, 1
    invlpg [STALE_PAGE]
    CHECK "stale: after INVLPG the new frame is seen", [STALE_PAGE], SIG_S2

%ifdef DIAG
    ; not in the committed binary: which frame the two SDM-optional reads saw
    mov esi, msg_diag_glob
    call uart_puts
    mov eax, [glob_seen]
    call print_hex32
    call uart_newline
    mov esi, msg_diag_stale
    call uart_puts
    mov eax, [stale_seen]
    call print_hex32
    call uart_newline
%endif

    mov esi, msg_name
    jmp check_done

; old_or_new_g: EAX = value read through GLOB_PAGE; returns EAX = 1 if it is the G1 or
; the G2 signature, else 0.
old_or_new_g:
    cmp eax, SIG_G1
    je .yes
    cmp eax, SIG_G2
    je .yes
    xor eax, eax
    ret
.yes:
    mov eax, 1
    ret

; ---- ring 3 (cannot print, IOPL=0): records results in memory for the kernel ----
user_main:
    ; pass 1: read page i (not present: #PF, mapped, retried), then write two dwords
    xor ecx, ecx
.touch:
    DEMAND_ADDR edi, ecx
.touch_read:
    mov eax, [edi]
    or [user_or], eax
    lea eax, [ecx + SIG_DEMAND]
    mov [edi], eax
    mov ebx, edi
    or ebx, 0xFFC
    mov [ebx], eax              ; same page, already present: no fault
    mov eax, [ebx - 4]          ; zero-fill reaches the end of the frame too
    or [user_or], eax
    inc ecx
    cmp ecx, DEMAND_PAGES
    jb .touch
    ; pass 2: everything is mapped now; read it all back
    mov eax, [demand_faults]
    mov [faults_before_pass2], eax
    xor ecx, ecx
.verify:
    DEMAND_ADDR edi, ecx
    lea eax, [ecx + SIG_DEMAND]
    cmp [edi], eax
    je .v1
    inc dword [user_bad]
.v1:
    mov ebx, edi
    or ebx, 0xFFC
    cmp [ebx], eax
    je .v2
    inc dword [user_bad]
.v2:
    inc ecx
    cmp ecx, DEMAND_PAGES
    jb .verify
    mov eax, [demand_faults]
    sub eax, [faults_before_pass2]
    mov [faults_after_pass1], eax
    ; protection: read the read-only page, then write it (error code 7, retried)
    mov eax, [RO_PAGE]
    mov [user_ro_before], eax
.ro_write:
    mov dword [RO_PAGE + 0x20], SIG_RO_WRITE
    int USER_RETURN_VECTOR

; trap_handler: EBP = frame (trap.inc). Only #PF from ring 3 is expected: a
; not-present fault in the demand range maps a fresh zeroed frame; a protection fault
; on RO_PAGE makes it writable. Both return to the faulting instruction (retry).
trap_handler:
    cmp dword [ebp + TF_VEC], 14
    jne .unexpected
    test byte [ebp + TF_CS], 3
    jz .unexpected
    mov edx, cr2
    mov ebx, [ebp + TF_ERR]
    test ebx, PG_P
    jnz .protection
    ; not present: must be in the demand range
    mov eax, edx
    sub eax, DEMAND_BASE
    cmp eax, DEMAND_PAGES * 0x1000
    jae .unexpected
    mov ecx, [demand_faults]
    cmp ecx, MAX_LOG
    jae .unexpected             ; a fault loop: stop instead of exhausting the pool
    mov [log_err + ecx*4], ebx
    mov [log_cr2 + ecx*4], edx
    mov eax, [ebp + TF_EIP]
    mov [log_eip + ecx*4], eax
    inc dword [demand_faults]
    mov eax, [next_frame]
    cmp eax, POOL + POOL_FRAMES * 0x1000
    jae .unexpected
    lea ecx, [eax + 0x1000]
    mov [next_frame], ecx
    mov edi, eax                ; the pool is identity-mapped: zero the frame
    push eax
    xor eax, eax
    mov ecx, 1024
    rep stosd
    pop eax
    or eax, PG_P | PG_RW | PG_US
    shr edx, 12
    and edx, 0x3FF
    mov [pt_demand + edx*4], eax
    ret                         ; not-present entries are not cached (4.10.2.3): no INVLPG
.protection:
    and edx, ~0xFFF
    cmp edx, RO_PAGE
    jne .unexpected
    cmp dword [prot_faults], 0
    jne .unexpected             ; the retry must not fault again
    inc dword [prot_faults]
    mov [prot_err], ebx
    mov eax, cr2
    mov [prot_cr2], eax
    mov eax, [ebp + TF_EIP]
    mov [prot_eip], eax
    or dword [pt_demand + ((RO_PAGE >> 12) & 0x3FF)*4], PG_RW
    invlpg [RO_PAGE]
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

msg_name:       db "demand", 0
msg_start:      db "demand: start", 10, 0
%ifdef DIAG
msg_diag_glob:  db "diag: global read after CR3 reload = 0x", 0
msg_diag_stale: db "diag: stale read = 0x", 0
%endif

    BSS_BEGIN
    alignb 4096
pd:             resb 4096
pt0:            resb 4096
pt_demand:      resb 4096
idt:            resq 256
next_frame:     resd 1
demand_faults:  resd 1
log_err:        resd MAX_LOG
log_cr2:        resd MAX_LOG
log_eip:        resd MAX_LOG
user_or:        resd 1
user_bad:       resd 1
faults_before_pass2: resd 1
faults_after_pass1:  resd 1
user_ro_before: resd 1
prot_faults:    resd 1
prot_err:       resd 1
prot_cr2:       resd 1
prot_eip:       resd 1
glob_seen:      resd 1
stale_seen:     resd 1
    alignb 16
boot_stack:     resb 4096
boot_stack_top:
kstack:         resb 4096
kstack_top:
user_stack:     resb 4096
user_stack_top:
    BSS_END
