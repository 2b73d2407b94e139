; output: bench-kernel.img
;
; bench-kernel: the "kernel" workload of `npm run bench` (issue #4): system calls from
; ring 3 and demand page faults, with unmapping and INVLPG, in one timed loop.
;
; A boot image (include/bootwrap.inc: sector 0 loads the rest with INT 13h when a BIOS
; booted it, or finds it already in memory on vmxlab), so QEMU, Bochs and v86 boot the
; same bytes as vmxlab. The kernel sets up a GDT with ring-3 segments, a TSS (ring-0
; stack for interrupts from ring 3, SDM Vol. 3A 7.2.1, 6.12.1), an IDT (#PF -> the
; fault handler, INT 0x80 -> system calls, INT 0x81 -> back to the kernel, both DPL 3
; so ring 3 may use them, SDM 6.12.1.1; every other exception -> "unexpected", exit 1)
; and 32-bit paging with 4 KiB pages: 0-4 MiB identity-mapped (user-accessible), and a
; window of PAGES pages at 8 MiB whose page table starts empty. It zeroes the PAGES
; frames at 2 MiB that back the window, then
;
;   writes marker byte 0x02,
;   RDTSC, drops to ring 3 (include/user.inc), where the user loop runs ROUNDS rounds:
;     for each window page: read its first dword (not present: #PF; the handler maps
;       page i to frame i and adds the error code to the kernel sum; the read is then
;       retried), add, store it back, add to the dword at offset 0x800 (a TLB hit),
;       and call SYS_ACCUM (INT 0x80: the kernel adds EBX to its sum, returns it);
;     then SYS_UNMAP (INT 0x80: for every window page, add the PTE's accessed and dirty
;       bits to the kernel sum, clear the PTE and INVLPG the page, SDM Vol. 2 INVLPG);
;   INT 0x81 back to ring 0, RDTSC again,
;   writes marker byte 0x03,
;   prints "instructions=N", "checksum=XXXXXXXX" (the user's sum plus the kernel's),
;   "faults=F" and "rdtsc-delta=D" (the second RDTSC minus the first),
;   exits (include/exit.inc): status 0, or 1 when the fault count is not ROUNDS * PAGES.
;
; The checksum folds in every page-fault error code (4: a user-mode read of a
; not-present page, SDM Vol. 3A 4.7) and the A/D bits each walk set (0x60 per page,
; SDM 4.8), so a peer that gets paging wrong prints a different checksum; a stale TLB
; entry after INVLPG would skip a fault and change both the count and the checksum.
;
; Instruction count of the timed region: every instruction retired after the OUT that
; writes 0x02, up to and including the OUT that writes 0x03. A faulting access is
; counted once, when it retires after the handler (a fault is not an instruction);
; INT n and IRETD count one each.
;
;   kernel before ring 3      5   rdtsc, mov [tsc_start], mov eax, mov edx, call run_user
;   run_user                 13   pushad, mov [saved], 5 x push, mov ax, 4 x mov sreg, iretd
;   ring 3, before the loop   2   mov ebp, xor esi
;   per round                     mov edi, mov ecx                                    2
;     per page           (user)   mov load, add, add, mov store, add to memory, mov ebx,
;                                 mov eax, int 0x80, add esi, add edi, dec ecx, jnz  12
;                     (SYS_ACCUM) cmp, je, add [ksum], mov eax, rol, iretd            6
;                    (#PF handler) push, push, mov cr2, sub, cmp, jae, shr, mov, shl,
;                                 add, mov pte, mov err, add [ksum], inc, pop, pop,
;                                 add esp, iretd                                     18
;                                 = 36 per page
;     after the pages      (user) mov eax, int 0x80, add esi, dec ebp, jnz            5
;                     (SYS_UNMAP) cmp, je, push, push, mov edi, xor ecx               6
;                                 per page: mov, and, add [ksum], mov pte, invlpg,
;                                 add edi, inc, cmp, jne                   9 per page
;                                 pop, pop, mov eax, iretd                            4
;     = 2 + 36 * PAGES + 5 + 6 + 9 * PAGES + 4 = 17 + 45 * PAGES per round
;   ring 3, after the loop    2   mov [user_result], int 0x81
;   user_return_entry         9   mov ax, 5 x mov sreg, mov esp, popad, ret
;   kernel after ring 3       6   rdtsc, sub, mov [tsc_delta], mov dx, mov al, out
;
;   PAGES = 64, ROUNDS = 10,000: 17 + 45 * 64 = 2,897 per round
;   N = 5 + 13 + 2 + 10,000 * 2,897 + 2 + 9 + 6 = 37 + 28,970,000 = 28,970,037
;
; RDTSC check: the second RDTSC is the 6th instruction from the end of the region and
; the first is the 1st, so on an emulator whose TSC counts retired instructions (QEMU
; -icount shift=0; vmxlab with tests/fixtures/instructions-profile.json) rdtsc-delta
; is N - 6 = 28,970,031. tests/guests-vmxlab.test.ts runs it that way on both.
;
; System calls per run: ROUNDS * (PAGES + 1) = 650,000; page faults: ROUNDS * PAGES = 640,000.

%include "bootwrap.inc"
%include "multiboot.inc"

    MULTIBOOT_ELF start

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
SEL_UCODE   equ 0x18 | 3
SEL_UDATA   equ 0x20 | 3
SEL_TSS     equ 0x28
USER_CS     equ SEL_UCODE           ; include/user.inc
USER_DS     equ SEL_UDATA
TRAP_KDATA  equ SEL_KDATA
%define USER_RETURN_VECTOR 0x81      ; include/user.inc tests it with %ifndef
IDT_ENTRIES equ 0x82

PG_P        equ 0x001
PG_RW       equ 0x002
PG_U        equ 0x004
PG_A        equ 0x020               ; SDM Vol. 3A Table 4-6: accessed
PG_D        equ 0x040               ; dirty

PAGES       equ 64
ROUNDS      equ 10000
WINDOW      equ 0x800000            ; PDE 2: pt_user, empty at the start
FRAMES      equ 0x200000            ; page i of the window maps to FRAMES + i * 4096
SYS_ACCUM   equ 1
SYS_UNMAP   equ 2

%assign PERROUND 17 + 45 * PAGES
%assign NINSN   5 + 13 + 2 + ROUNDS * PERROUND + 2 + 9 + 6
%defstr NSTR    NINSN

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA ; multiboot spec 3.2: GDTR and ESP are undefined
    mov esp, boot_stack_top
    cld
    call uart_init

    ; IDT: vectors 0-31 -> unexpected (DPL 0), then #PF, INT 0x80 and INT 0x81.
    mov edi, idt
    xor ecx, ecx
.gate:
    mov eax, unexpected
    mov bl, GATE_INT0
    call idt_set_gate
    inc ecx
    cmp ecx, 32
    jb .gate
    mov ecx, 14
    mov eax, pf_handler
    call idt_set_gate               ; BL is still GATE_INT0
    mov ecx, 0x80
    mov eax, syscall_entry
    mov bl, GATE_INT3               ; DPL 3: INT 0x80 from CPL 3 (SDM 6.12.1.1)
    call idt_set_gate
    mov ecx, USER_RETURN_VECTOR
    mov eax, user_return_entry
    call idt_set_gate
    lidt [idtr]

    TSS_LOAD tss, kstack_top, SEL_KDATA, SEL_TSS

    ; Page tables (SDM Vol. 3A 4.3): 0-4 MiB identity, user-accessible, so that ring 3
    ; runs its code and stack inside this image; PDE 2 -> pt_user (zeroed bss).
    xor ecx, ecx
.pte:
    mov eax, ecx
    shl eax, 12
    or eax, PG_P | PG_RW | PG_U
    mov [pt0 + ecx*4], eax
    inc ecx
    cmp ecx, 1024
    jb .pte
    mov dword [pd + 0*4], pt0 + (PG_P | PG_RW | PG_U)
    mov dword [pd + 2*4], pt_user + (PG_P | PG_RW | PG_U)

    ; The frames behind the window start as zeros on every emulator, whatever a BIOS
    ; left there.
    mov edi, FRAMES
    mov ecx, PAGES * 1024
    xor eax, eax
    rep stosd

    mov eax, pd
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000              ; CR0.PG
    mov cr0, eax

    mov dx, UART_LSR                ; wait for THR empty, then the start marker
.thre:
    in al, dx
    test al, LSR_THRE
    jz .thre
    mov dx, COM1
    mov al, 0x02
    out dx, al
; ---------------------------------------------------------------- timed region
    rdtsc                           ; 1
    mov [tsc_start], eax            ; 2
    mov eax, user_main              ; 3
    mov edx, user_stack_top         ; 4
    call run_user                   ; 5   13 in run_user, the user loop, 9 on return
    rdtsc                           ; 1
    sub eax, [tsc_start]            ; 2
    mov [tsc_delta], eax            ; 3
    mov dx, COM1                    ; 4
    mov al, 0x03                    ; 5
    out dx, al                      ; 6   marker: timed region ends
; ---------------------------------------------------------- end of timed region
    mov esi, msg_insn
    call uart_puts
    mov esi, msg_sum
    call uart_puts
    mov eax, [user_result]
    add eax, [ksum]
    call print_hex32
    call uart_newline
    mov esi, msg_faults
    call uart_puts
    mov eax, [faults]
    call print_dec
    call uart_newline
    mov esi, msg_tsc
    call uart_puts
    mov eax, [tsc_delta]
    call print_dec
    call uart_newline

    xor eax, eax
    cmp dword [faults], ROUNDS * PAGES
    je .exit
    mov al, 1
.exit:
    jmp guest_exit

; ======================= ring 3 =======================
user_main:
    mov ebp, ROUNDS                 ; rounds left
    xor esi, esi                    ; the user's sum
.round:
    mov edi, WINDOW
    mov ecx, PAGES
.page:
    mov eax, [edi]                  ; not present after SYS_UNMAP: #PF, then retried
    add eax, ecx
    add eax, ebp
    mov [edi], eax
    add [edi + 0x800], eax          ; same page: a TLB hit
    mov ebx, eax
    mov eax, SYS_ACCUM
    int 0x80
    add esi, eax
    add edi, 4096
    dec ecx
    jnz .page
    mov eax, SYS_UNMAP
    int 0x80
    add esi, eax
    dec ebp
    jnz .round
    mov [user_result], esi
    int USER_RETURN_VECTOR          ; include/user.inc: back to run_user's caller

; ======================= ring 0 =======================
; INT 0x80 (interrupt gate, IF stays 0). EAX = call number; returns EAX. DS is still the
; user's flat data segment, which ring 0 may use (DPL 3 >= CPL 0).
syscall_entry:
    cmp eax, SYS_UNMAP
    je .unmap
    add [ksum], ebx                 ; SYS_ACCUM: ksum += EBX, return it rotated
    mov eax, [ksum]
    rol eax, 5
    iretd
.unmap:                             ; SYS_UNMAP: drop every window page
    push ecx
    push edi
    mov edi, WINDOW
    xor ecx, ecx
.u:
    mov eax, [pt_user + ecx*4]
    and eax, PG_A | PG_D            ; what the walks set (SDM Vol. 3A 4.8)
    add [ksum], eax
    mov dword [pt_user + ecx*4], 0
    invlpg [edi]                    ; the TLB may hold the old translation (SDM 4.10.4.1)
    add edi, 4096
    inc ecx
    cmp ecx, PAGES
    jne .u
    pop edi
    pop ecx
    mov eax, [ksum]
    iretd

; #PF (SDM Vol. 3A 6.15 "Interrupt 14"): CR2 = faulting address, error code on the stack.
pf_handler:
    push eax
    push ebx
    mov eax, cr2
    sub eax, WINDOW
    cmp eax, PAGES * 4096
    jae unexpected                  ; a fault outside the window is a bug: stop
    shr eax, 12                     ; page index
    mov ebx, eax
    shl ebx, 12
    add ebx, FRAMES | PG_P | PG_RW | PG_U
    mov [pt_user + eax*4], ebx
    mov ebx, [esp + 8]              ; the error code, under the two pushes (SDM 6.13)
    add [ksum], ebx
    inc dword [faults]
    pop ebx
    pop eax
    add esp, 4                      ; pop the error code before IRETD
    iretd

unexpected:
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov esi, msg_unexpected
    call uart_puts
    mov al, 1
    jmp guest_exit

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "user.inc"

    align 8, db 0
gdt:
    GDT_FLAT_KERNEL                 ; 0x00 null, 0x08 ring-0 code, 0x10 ring-0 data
    GDT_FLAT_USER                   ; 0x18 ring-3 code, 0x20 ring-3 data
    GDT_TSS32 tss                   ; 0x28 32-bit TSS
gdt_end:
gdtr:   PSEUDO_DESC gdt, gdt_end - gdt
idtr:   PSEUDO_DESC idt, IDT_ENTRIES*8

    align 16, db 0
tss:                                ; 32-bit TSS (SDM Vol. 3A 7.2.1), filled by TSS_LOAD
    times 104 db 0

msg_insn:       db "instructions=", NSTR, 10, 0
msg_sum:        db "checksum=", 0
msg_faults:     db "faults=", 0
msg_tsc:        db "rdtsc-delta=", 0
msg_unexpected: db "bench-kernel: unexpected exception", 10, 0

    BSS_BEGIN
    alignb 4096
pd:             resb 4096
pt0:            resb 4096
pt_user:        resb 4096
idt:            resq IDT_ENTRIES
ksum:           resd 1
faults:         resd 1
user_result:    resd 1
tsc_start:      resd 1
tsc_delta:      resd 1
    alignb 16
boot_stack:     resb 4096
boot_stack_top:
kstack:         resb 4096
kstack_top:
user_stack:     resb 4096
user_stack_top:
    BSS_END
